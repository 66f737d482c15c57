import { LosslessNumber } from '@singer-ts/singer';

import { csvValueEncoder, encodeCsvField, encodeCsvRow, encodeCsvValue, numberText, toCsvField } from '../../src/csv-encoding';

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

  it('encode per column type as encodeCsvValue does, whatever value a column holds', () => {
    const values = [null, undefined, '', 'a', 'a,b', 'q"', 'cr\r', 0, -0, -1.5, 58.9, 1e21, true, new LosslessNumber('1.10'), { a: 'x,y' }, [1]];
    const schemas = [
      undefined,
      {},
      { type: 'string' },
      { type: ['null', 'string'] },
      { type: ['null', 'string'], format: 'date-time' },
      { type: 'integer' },
      { type: ['null', 'number'] },
      { type: ['integer', 'number'] },
      { type: ['null', 'string', 'number'] },
      { type: 'boolean' },
    ];
    for (const schema of schemas) {
      const encode = csvValueEncoder(schema);
      for (const value of values) expect([schema, value, encode(value)]).toEqual([schema, value, encodeCsvValue(value)]);
    }
  });
});

describe('number text', () => {
  it('is exactly what String() writes, for the common decimals and the awkward doubles', () => {
    const values = [0.1, -0.1, 1.5, 123.45, 9.99, 100.01, 0.000001, 1.5e-6, 1e-7, -1e-7, 0.123456, 0.1234567, 0.1 + 0.2, 1 / 3];
    const limits = [2 ** 52 / 100 - 0.5, 4503599627370495.5, 1e21, 1.7976931348623157e308, 5e-324, -0, 0, 2 ** 53, -(2 ** 31) - 0.5];
    for (const value of [...values, ...limits]) expect(numberText(value)).toBe(String(value));
  });

  it('is exactly what String() writes, for a hundred thousand random numbers of every size and precision', () => {
    // mulberry32: the same numbers every run.
    let seed = 20_240_307;
    const next = (): number => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const bits = new Float64Array(1);
    const words = new Uint32Array(bits.buffer);
    const mismatches: string[] = [];
    for (let i = 0; i < 25_000; i += 1) {
      const raw = (next() - 0.5) * 10 ** (next() * 18 - 3);
      const decimals = Math.floor(next() * 8);
      words[0] = next() * 2 ** 32;
      words[1] = next() * 2 ** 32;
      for (const value of [raw, Number(raw.toFixed(decimals)), Math.round(raw * 10 ** decimals) / 10 ** decimals, bits[0]!]) {
        if (Number.isFinite(value) && numberText(value) !== String(value)) mismatches.push(`${String(value)} as ${numberText(value)}`);
      }
    }
    expect(mismatches).toEqual([]);
  });
});
