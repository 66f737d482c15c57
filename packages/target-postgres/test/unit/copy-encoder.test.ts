import { LosslessNumber, RecordError } from '@singer-ts/singer';

import {
  ColumnTooNarrowError,
  CopyEncoder,
  type EncoderColumn,
  escapeCopyText,
  fitsBigint,
  numberText,
  plainIntegerText,
  timeToUtc,
} from '../../src/copy-encoder';
import type { PgType } from '../../src/type-mapping';

const at = { line: 7, record: 3 };

function encoderFor(type: PgType, options: { sanitizeNulText?: boolean; isKey?: boolean } = {}): CopyEncoder {
  const columns: EncoderColumn[] = [{ property: 'v', column: 'v', type, isKey: options.isKey }];
  return new CopyEncoder(columns, { stream: 's', sanitizeNulText: options.sanitizeNulText });
}

function encode(type: PgType, value: unknown): string {
  return encoderFor(type).encode({ v: value }, at);
}

/** What PostgreSQL's COPY text reader makes of a field: the inverse of the encoding. */
function decodeCopyText(field: string): string | null {
  if (field === '\\N') return null;
  return field.replace(/\\(.)/g, (_, c: string) => ({ t: '\t', n: '\n', r: '\r', '\\': '\\' })[c] ?? c);
}

describe('CopyEncoder: text', () => {
  it.each([
    ['tab', 'a\tb', 'a\\tb'],
    ['backslash', 'C:\\dir', 'C:\\\\dir'],
    ['newline', 'line1\nline2', 'line1\\nline2'],
    ['carriage return', 'a\r\nb', 'a\\r\\nb'],
    ['the literal text \\N', '\\N', '\\\\N'],
    ['the end-of-data marker \\.', '\\.', '\\\\.'],
    ['double and single quotes', `say "hi" it's`, `say "hi" it's`],
    ['commas and semicolons', 'a,b;c', 'a,b;c'],
    ['emoji and accents', 'São Paulo 🚀', 'São Paulo 🚀'],
    ['the string NULL', 'NULL', 'NULL'],
    ['the empty string', '', ''],
  ])('writes %s so that COPY reads it back exactly', (_name, value, expected) => {
    const field = encode('text', value);
    expect(field).toBe(expected);
    expect(decodeCopyText(field)).toBe(value);
  });

  it('writes null and a missing property as \\N, distinct from the empty string', () => {
    const encoder = encoderFor('text');
    expect(encoder.encode({ v: null }, at)).toBe('\\N');
    expect(encoder.encode({}, at)).toBe('\\N');
    expect(encoder.encode({ v: '' }, at)).toBe('');
  });

  it('joins columns with tabs in column order', () => {
    const encoder = new CopyEncoder(
      [
        { property: 'b', column: 'b', type: 'text' },
        { property: 'a', column: 'a', type: 'bigint' },
      ],
      { stream: 's' },
    );
    expect(encoder.encode({ a: 1, b: 'x' }, at)).toBe('x\t1');
  });

  it('refuses a NUL character, naming stream, record, line and column', () => {
    let error: unknown;
    try {
      encode('text', 'a\u0000b');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RecordError);
    expect(error).toMatchObject({ code: 'VALUE_HAS_NUL', stream: 's', record: 3, line: 7, column: 'v' });
    expect((error as RecordError).toUserLine()).toMatch(/sanitize_null_text_characters/);
  });

  it('removes NUL characters and counts them when sanitising', () => {
    const encoder = encoderFor('text', { sanitizeNulText: true });
    expect(encoder.encode({ v: 'a\u0000b\u0000' }, at)).toBe('ab');
    expect(encoder.nulRemoved.get('v')).toBe(2);
  });

  it('refuses a null key', () => {
    expect(() => encoderFor('bigint', { isKey: true }).encode({ v: null }, at)).toThrow(/key property/);
  });
});

describe('CopyEncoder: numbers', () => {
  it('writes integers and decimals exactly', () => {
    expect(encode('bigint', 42)).toBe('42');
    expect(encode('bigint', -9007199254740991)).toBe('-9007199254740991');
    expect(encode('numeric', 0.1)).toBe('0.1');
    expect(encode('numeric', 1.5)).toBe('1.5');
  });

  it('keeps lossless numbers digit for digit', () => {
    expect(encode('bigint', new LosslessNumber('9223372036854775807'))).toBe('9223372036854775807');
    expect(encode('numeric', new LosslessNumber('123456789012345678901234567890.123456789'))).toBe(
      '123456789012345678901234567890.123456789',
    );
    expect(encode('text', new LosslessNumber('1.000000000000000001'))).toBe('1.000000000000000001');
  });

  it('asks for a wider column when an integer exceeds bigint', () => {
    expect(() => encode('bigint', new LosslessNumber('9223372036854775808'))).toThrow(ColumnTooNarrowError);
    expect(() => encode('bigint', new LosslessNumber('-9223372036854775809'))).toThrow(ColumnTooNarrowError);
    expect(() => encode('bigint', 1e21)).toThrow(ColumnTooNarrowError);
    expect(encode('bigint', new LosslessNumber('-9223372036854775808'))).toBe('-9223372036854775808');
  });

  it('writes integral doubles beyond 2^53 as their exact digits', () => {
    expect(encode('numeric', 1e21)).toBe('1e+21');
    expect(encode('bigint', 2 ** 60)).toBe('1152921504606846976');
  });

  it('passes a non-number through for PostgreSQL to judge (validation off)', () => {
    expect(encode('bigint', 'abc')).toBe('abc');
    expect(encode('numeric', '1.5')).toBe('1.5');
  });
});

describe('CopyEncoder: other types', () => {
  it('writes booleans as t and f', () => {
    expect(encode('boolean', true)).toBe('t');
    expect(encode('boolean', false)).toBe('f');
  });

  it('passes date-times through for the UTC session to read', () => {
    expect(encode('timestamptz', '2017-10-02 10:56:33')).toBe('2017-10-02 10:56:33');
    expect(encode('timestamptz', '2017-10-02T10:56:33.123+02:00')).toBe('2017-10-02T10:56:33.123+02:00');
  });

  it('moves a time with an offset to UTC and keeps one without', () => {
    expect(encode('time', '13:45:30')).toBe('13:45:30');
    expect(encode('time', '13:45:30+02:00')).toBe('11:45:30');
  });

  it('writes objects and arrays as JSON, escaped for COPY', () => {
    expect(encode('jsonb', { a: 'x\ty', b: [1, 2] })).toBe('{"a":"x\\\\ty","b":[1,2]}');
    expect(decodeCopyText(encode('jsonb', { s: 'back\\slash' }))).toBe('{"s":"back\\\\slash"}');
  });

  it('writes exact numbers inside JSON exactly', () => {
    expect(encode('jsonb', { n: new LosslessNumber('12345678901234567890') })).toBe('{"n":12345678901234567890}');
  });

  it('writes a scalar in a jsonb column as a JSON scalar', () => {
    expect(encode('jsonb', 'text')).toBe('"text"');
    expect(encode('jsonb', 5)).toBe('5');
  });

  it('refuses NUL inside JSON but not a literal backslash-u0000', () => {
    expect(() => encode('jsonb', { a: 'x\u0000' })).toThrow(/NUL/);
    expect(decodeCopyText(encode('jsonb', { a: '\\u0000' }))).toBe('{"a":"\\\\u0000"}');
    const encoder = encoderFor('jsonb', { sanitizeNulText: true });
    expect(encoder.encode({ v: { a: 'x\u0000y' } }, at)).toBe('{"a":"xy"}');
  });

  it('writes an object in a text column as JSON', () => {
    expect(encode('text', { a: 1 })).toBe('{"a":1}');
  });
});

describe('helpers', () => {
  it('numberText spells every double exactly as String does', () => {
    const samples = [0.01, 0.1, 0.5, 1.5, 58.9, 58.91, -0.05, -12.3, 999999999999.99, 1e12 + 0.5, 0.001, 1e-7, 0.3, 1 / 3, 2 ** 53 + 2, -0];
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 20_000; i++) {
      samples.push(Number((next() * 1000 - 500).toFixed(2)), Number((next() * 1e11).toFixed(i % 4)), next() * 10 ** Math.floor(next() * 30 - 10));
    }
    for (const value of samples) expect(numberText(value)).toBe(String(value));
  });

  it('fitsBigint checks both ends of the range', () => {
    expect(fitsBigint('9223372036854775807')).toBe(true);
    expect(fitsBigint('9223372036854775808')).toBe(false);
    expect(fitsBigint('-9223372036854775808')).toBe(true);
    expect(fitsBigint('-9223372036854775809')).toBe(false);
    expect(fitsBigint('00012')).toBe(true);
  });

  it('plainIntegerText expands integral exponent notation exactly', () => {
    expect(plainIntegerText('1.5E3')).toBe('1500');
    expect(plainIntegerText('-12e1')).toBe('-120');
    expect(plainIntegerText('1e25')).toBe('10000000000000000000000000');
    expect(plainIntegerText('1.25e1')).toBeUndefined();
    expect(plainIntegerText('150e-1')).toBe('15');
  });

  it('timeToUtc wraps around midnight', () => {
    expect(timeToUtc('01:00:00+02:00')).toBe('23:00:00');
    expect(timeToUtc('23:30-01:00')).toBe('00:30:00');
    expect(timeToUtc('10:00:00.123456Z')).toBe('10:00:00.123456');
    expect(timeToUtc('24:00:00Z')).toBe('24:00:00');
  });

  it('escapeCopyText escapes only what COPY text needs', () => {
    expect(escapeCopyText('plain')).toBe('plain');
    expect(escapeCopyText('a\\b\tc')).toBe('a\\\\b\\tc');
  });
});
