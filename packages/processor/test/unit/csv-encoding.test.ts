import { LosslessNumber } from '@singer-ts/singer';

import { encodeCsvField, encodeCsvRow, encodeCsvValue, toCsvField } from '../../src/csv-encoding';

describe('CSV fields', () => {
  it('keep null and the empty string apart', () => {
    expect(toCsvField(null)).toBeNull();
    expect(toCsvField(undefined)).toBeNull();
    expect(toCsvField('')).toBe('');
    expect(encodeCsvField(null)).toBe('');
    expect(encodeCsvField('')).toBe('""');
  });

  it('write numbers exactly and booleans as words', () => {
    expect(toCsvField(5)).toBe('5');
    expect(toCsvField(0.1)).toBe('0.1');
    expect(toCsvField(new LosslessNumber('12345678901234567890.123456789'))).toBe('12345678901234567890.123456789');
    expect(toCsvField(true)).toBe('true');
  });

  it('write objects and arrays as JSON', () => {
    expect(toCsvField({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
  });

  it('quote a field holding a comma, quote or line break and double its quotes', () => {
    expect(encodeCsvField('a,b')).toBe('"a,b"');
    expect(encodeCsvField('say "hi"')).toBe('"say ""hi"""');
    expect(encodeCsvField('two\nlines')).toBe('"two\nlines"');
    expect(encodeCsvField('cr\ronly')).toBe('"cr\ronly"');
    expect(encodeCsvField('  plain text; with=signs ')).toBe('  plain text; with=signs ');
  });
});

describe('CSV rows', () => {
  it('end with CRLF as RFC 4180 says', () => {
    expect(encodeCsvRow(['a', null, '', 'x,y'])).toBe('a,,"","x,y"\r\n');
  });
});

describe('CSV values', () => {
  it('encode as toCsvField then encodeCsvField would', () => {
    const values = [null, undefined, '', 'a', 'a,b', 'q"', 0, -1.5, 1e21, true, new LosslessNumber('1.10'), { a: 'x,y' }];
    for (const value of values) expect(encodeCsvValue(value)).toBe(encodeCsvField(toCsvField(value)));
  });
});
