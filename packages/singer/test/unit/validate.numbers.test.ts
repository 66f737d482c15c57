import { pick, random } from '@singer-ts/devkit/testing';

import { compareExact, isExactMultipleOf, isLosslessNumber, type JsonSchema, LosslessNumber, parseExactJson, RecordError, RecordValidator } from '../../src';

const exact = (text: string): LosslessNumber => new LosslessNumber(text);
const schemaOf = (text: string): JsonSchema => parseExactJson(text) as JsonSchema;

function problem(validator: RecordValidator, record: Record<string, unknown>): string | undefined {
  try {
    validator.validate(record);
    return undefined;
  } catch (error) {
    if (error instanceof RecordError) return error.message;
    throw error;
  }
}

describe('RecordValidator bounds', () => {
  const bigint = new RecordValidator(
    'orders',
    schemaOf('{"properties":{"id":{"type":["null","integer"],"minimum":-9223372036854775808,"maximum":9223372036854775807}}}'),
  );

  it.each<[unknown, string | undefined]>([
    [exact('9223372036854775807'), undefined],
    [exact('9223372036854775808'), 'must be <= 9223372036854775807'],
    [exact('-9223372036854775808'), undefined],
    [exact('-9223372036854775809'), 'must be >= -9223372036854775808'],
    [9223372036854775807n, undefined],
    [9223372036854775808n, 'must be <= 9223372036854775807'],
    [-9223372036854775809n, 'must be >= -9223372036854775808'],
    // A double cannot be 2^63 - 1: this one is 2^63 exactly, one beyond the bound.
    [9223372036854775807, 'must be <= 9223372036854775807'],
    [9007199254740991, undefined],
    [exact('1e19'), 'must be <= 9223372036854775807'],
    [null, undefined],
  ])('checks id %s exactly against bigint bounds', (id, expected) => {
    expect(problem(bigint, { id })).toBe(expected);
  });

  it('compares bounds beyond a double both ways (a tap-postgres numeric(100,38))', () => {
    const validator = new RecordValidator(
      's',
      schemaOf('{"properties":{"n":{"type":"number","exclusiveMaximum":true,"maximum":100000000000000000000000000000000000000000000000000000000000000,"exclusiveMinimum":true,"minimum":-100000000000000000000000000000000000000000000000000000000000000}}}'),
    );
    expect(problem(validator, { n: exact('99999999999999999999999999999999999999999999999999999999999999.9') })).toBeUndefined();
    expect(problem(validator, { n: exact('100000000000000000000000000000000000000000000000000000000000000') })).toBe(
      'must be < 100000000000000000000000000000000000000000000000000000000000000',
    );
    expect(problem(validator, { n: 1e62 })).toBe('must be < 100000000000000000000000000000000000000000000000000000000000000');
    expect(problem(validator, { n: -1e62 })).toMatch(/^must be > -1/);
    expect(problem(validator, { n: 9.999999999999999e61 })).toBeUndefined();
  });

  it('takes a bound written as a double at the decimal it stands for', () => {
    const validator = new RecordValidator('s', { properties: { n: { type: 'number', maximum: 0.1 } } });
    expect(problem(validator, { n: 0.1 })).toBeUndefined();
    // Exactly 0.1000000000000000055511151231257827 is what the double 0.1 is, but not the decimal 0.1.
    expect(problem(validator, { n: exact('0.1000000000000000055511151231257827') })).toBe('must be <= 0.1');
    expect(problem(validator, { n: exact('0.09999999999999999999999') })).toBeUndefined();
  });
});

describe('RecordValidator bounds a double cannot hold, against decimal arithmetic', () => {
  it('agrees for doubles at and around such bounds', () => {
    const next = random(5);
    const step = (x: number, up: boolean): number => {
      const view = new DataView(new ArrayBuffer(8));
      view.setFloat64(0, x);
      view.setBigInt64(0, view.getBigInt64(0) + ((x > 0) === up ? 1n : -1n));
      return view.getFloat64(0);
    };
    for (let i = 0; i < 200; i += 1) {
      const digits = Array.from({ length: 16 + Math.floor(next() * 8) }, (_d, j) => (j === 0 ? 1 + Math.floor(next() * 9) : Math.floor(next() * 10))).join('');
      const point = Math.floor(next() * digits.length);
      const text = `${next() < 0.3 ? '-' : ''}${point > 0 && next() < 0.5 ? `${digits.slice(0, point)}.${digits.slice(point)}` : digits}`;
      const bound = exact(text);
      const upper = new RecordValidator('s', { properties: { n: { type: 'number', maximum: bound } } });
      const lower = new RecordValidator('s', { properties: { n: { type: 'number', exclusiveMinimum: bound } } });
      let value = step(step(Number(text), false), false);
      for (let j = 0; j < 5; j += 1, value = step(value, true)) {
        expect({ text, value, fits: problem(upper, { n: value }) === undefined }).toEqual({ text, value, fits: compareExact(value, bound)! <= 0 });
        expect({ text, value, fits: problem(lower, { n: value }) === undefined }).toEqual({ text, value, fits: compareExact(value, bound)! > 0 });
      }
    }
  });
});

describe('RecordValidator multipleOf', () => {
  const cents = new RecordValidator('s', { properties: { price: { type: ['null', 'number'], multipleOf: 0.01 } } });

  it.each<[unknown, boolean]>([
    [19.99, true],
    [0.07, true],
    [1.1, true],
    [58.9, true],
    [-0.01, true],
    [12345678901.23, true],
    [0.005, false],
    [0.1 + 0.2, false],
    [1998.9999999999998, false],
    [exact('12345678901234567890.12'), true],
    [exact('12345678901234567890.123'), false],
    [exact('0.10000000000000000000000000000000000000001'), false],
    [100n, true],
    [1e300, true],
    [5e-324, false],
  ])('%s is a multiple of 0.01: %s', (price, fits) => {
    expect(problem(cents, { price })).toBe(fits ? undefined : 'must be multiple of 0.01');
  });

  it('checks divisors of any size or precision exactly', () => {
    const tiny = new RecordValidator('s', schemaOf('{"properties":{"n":{"type":"number","multipleOf":1e-38}}}'));
    expect(problem(tiny, { n: exact('0.00000000000000000000000000000000000001') })).toBeUndefined();
    expect(problem(tiny, { n: 1e-38 })).toBeUndefined();
    expect(problem(tiny, { n: 1.5e-38 })).toBe('must be multiple of 1e-38');
    expect(problem(tiny, { n: 123.456 })).toBeUndefined();

    const fives = new RecordValidator('s', { properties: { n: { type: 'number', multipleOf: 0.05 } } });
    expect([0.15, 0.1, 0.12, 2.55].map((n) => problem(fives, { n }) === undefined)).toEqual([true, true, false, true]);

    const huge = new RecordValidator('s', schemaOf('{"properties":{"n":{"type":"integer","multipleOf":10000000000000000000000}}}'));
    expect(problem(huge, { n: exact('30000000000000000000000') })).toBeUndefined();
    expect(problem(huge, { n: exact('30000000000000000000001') })).toBe('must be multiple of 10000000000000000000000');
    expect(problem(huge, { n: 1e22 })).toBeUndefined();

    const sevens = new RecordValidator('s', { properties: { n: { type: 'integer', multipleOf: 7 } } });
    expect(problem(sevens, { n: 49 })).toBeUndefined();
    expect(problem(sevens, { n: 50 })).toBe('must be multiple of 7');
    expect(problem(sevens, { n: 7e22 })).toBeUndefined();
    expect(problem(sevens, { n: exact('70000000000000000000001') })).toBe('must be multiple of 7');
  });

  it('applies inside arrays and nested objects, to exact values too', () => {
    const validator = new RecordValidator('s', {
      properties: {
        lines: { type: 'array', items: { type: 'object', properties: { amount: { type: 'number', multipleOf: 0.01, maximum: 1000 } } } },
      },
    });
    expect(problem(validator, { lines: [{ amount: 19.99 }, { amount: exact('1000.00000000000000000001') }] })).toBe('lines.1.amount must be <= 1000');
    expect(problem(validator, { lines: [{ amount: 19.99 }, { amount: exact('999.9900000000000000000') }] })).toBeUndefined();
    expect(problem(validator, { lines: [{ amount: 19.999 }] })).toBe('lines.0.amount must be multiple of 0.01');
  });
});

describe('RecordValidator multipleOf on doubles, against decimal arithmetic', () => {
  it('agrees with the exact decimal check on 20,000 generated values', () => {
    const next = random(7);
    const divisors = [1, 2, 5, 10, 0.5, 0.25, 0.1, 0.05, 0.01, 0.001, 1e-6, 1e-9, 1e-15, 1e-22, 1e-23, 1e-38, 3, 0.3];
    const validators = new Map(divisors.map((d) => [d, new RecordValidator('s', { properties: { n: { type: 'number', multipleOf: d } } })]));
    for (let i = 0; i < 20_000; i += 1) {
      const divisor = pick(next, divisors);
      const digits = Math.floor(next() * 12);
      const scale = Math.floor(next() * 10) - 3;
      // Values near multiples, exact ones and noise: text with a few decimals, sometimes off by an ulp.
      let value = Number((Math.floor(next() * 10 ** digits) * (next() < 0.5 ? -1 : 1)).toString() + `e${-scale}`);
      if (next() < 0.2) value += Number.EPSILON * value;
      if (!Number.isFinite(value)) continue;
      const expected = isExactMultipleOf(value, divisor);
      expect({ value, divisor, fits: problem(validators.get(divisor)!, { n: value }) === undefined }).toEqual({ value, divisor, fits: expected });
    }
  });
});

describe('RecordValidator with exact numbers in a record', () => {
  const validator = new RecordValidator('s', { properties: { id: { type: 'integer' }, n: { type: 'number' }, list: { type: 'array', items: { type: 'integer' } } } });

  it('checks integer-ness of exact numbers without rounding', () => {
    expect(problem(validator, { id: exact('12345678901234567890') })).toBeUndefined();
    expect(problem(validator, { id: exact('12345678901234567.5') })).toBe('must be of type integer');
    expect(problem(validator, { id: exact('1.2345678901234567890e25') })).toBeUndefined();
    expect(problem(validator, { id: exact('1e400') })).toBeUndefined();
    expect(problem(validator, { list: [1, exact('12345678901234567.25')] })).toBe('list.1 must be of type integer');
  });

  it('leaves the record exactly as it was, valid or not', () => {
    const record = { id: exact('12345678901234567890'), n: 12345678901234567890n, list: [exact('1'), 2] };
    validator.validate(record);
    expect(isLosslessNumber(record.id)).toBe(true);
    expect(record.n).toBe(12345678901234567890n);
    expect(isLosslessNumber(record.list[0])).toBe(true);
    const bad = { id: exact('1.5'), n: exact('2') };
    expect(() => validator.validate(bad)).toThrow(RecordError);
    expect(isLosslessNumber(bad.id) && isLosslessNumber(bad.n)).toBe(true);
  });

  it('names the exact value in the error', () => {
    const bounded = new RecordValidator('s', { properties: { id: { type: 'integer', maximum: 10 } } });
    expect(() => bounded.validate({ id: exact('12345678901234567890') })).toThrow(
      expect.objectContaining({ column: 'id', message: 'must be <= 10' }),
    );
    try {
      bounded.validate({ id: exact('12345678901234567890') });
    } catch (error) {
      expect((error as RecordError).toUserLine()).toContain('(value 12345678901234567890)');
    }
  });
});
