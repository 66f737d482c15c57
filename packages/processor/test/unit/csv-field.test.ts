import { LosslessNumber } from '@singer-ts/singer';

import { toCsvField } from '../../src/csv-object-writer';

describe('CSV fields', () => {
  it('keep null and the empty string apart', () => {
    expect(toCsvField(null)).toBeNull();
    expect(toCsvField(undefined)).toBeNull();
    expect(toCsvField('')).toBe('');
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
});
