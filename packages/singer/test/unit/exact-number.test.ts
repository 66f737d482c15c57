import { random } from '@singer-ts/devkit/testing';

import {
  compareDecimals,
  compareExact,
  formatDecimal,
  isExactMultipleOf,
  LosslessNumber,
  parseDecimal,
} from '../../src';

const exact = (text: string): LosslessNumber => new LosslessNumber(text);

describe('parseDecimal', () => {
  it.each([
    ['0', { negative: false, coefficient: 0n, exponent: 0 }],
    ['-0.00', { negative: false, coefficient: 0n, exponent: 0 }],
    ['19.99', { negative: false, coefficient: 1999n, exponent: -2 }],
    ['1500', { negative: false, coefficient: 15n, exponent: 2 }],
    ['-1.50e3', { negative: true, coefficient: 15n, exponent: 2 }],
    ['1e+38', { negative: false, coefficient: 1n, exponent: 38 }],
    ['1e-38', { negative: false, coefficient: 1n, exponent: -38 }],
    ['9223372036854775807', { negative: false, coefficient: 9223372036854775807n, exponent: 0 }],
  ])('reads %s as coefficient and exponent', (text, expected) => {
    expect(parseDecimal(text)).toMatchObject(expected);
  });

  it.each(['', '-', 'abc', '1..2', '0x10', '1e', 'NaN', 'Infinity', '1e99999999999999999999'])('refuses %j', (text) => {
    expect(parseDecimal(text)).toBeUndefined();
  });
});

describe('compareExact', () => {
  it.each<[unknown, unknown, number]>([
    [exact('9223372036854775808'), exact('9223372036854775807'), 1],
    [exact('9223372036854775807'), exact('9223372036854775807'), 0],
    [exact('-9223372036854775809'), exact('-9223372036854775808'), -1],
    // 2^63 as a double is 9223372036854775808: the double and the exact text still differ by one.
    [9223372036854775807, exact('9223372036854775807'), 1],
    [9223372036854775807n, exact('9223372036854775807'), 0],
    [exact('1e38'), 1e38, 0],
    [exact('100000000000000000000000000000000000001'), 1e38, 1],
    [exact('0.1000000000000000055511151231257827'), 0.1, 1],
    [0.1, 0.2, -1],
    [-0, 0, 0],
    [exact('-1e-400'), 0, -1],
    [exact('1e400'), exact('9e399'), 1],
  ])('compares %s with %s', (a, b, expected) => {
    expect(Math.sign(compareExact(a, b) ?? Number.NaN)).toBe(expected);
  });

  it('says undefined for what is not a number', () => {
    expect(compareExact('5', 5)).toBeUndefined();
    expect(compareExact(exact('1'), null)).toBeUndefined();
  });
});

describe('doubles and their decimals', () => {
  it('order two doubles as their shortest texts order as decimals (so bounds may compare as doubles)', () => {
    const next = random(11);
    const draw = (): number => {
      const base = (next() - 0.5) * 10 ** Math.floor(next() * 40 - 20);
      return next() < 0.3 ? Number(base.toPrecision(1 + Math.floor(next() * 17))) : base;
    };
    for (let i = 0; i < 20_000; i += 1) {
      const a = draw();
      const b = next() < 0.2 ? a + Number.EPSILON * a : draw();
      const asDecimals = Math.sign(compareDecimals(parseDecimal(String(a))!, parseDecimal(String(b))!));
      expect({ a, b, order: asDecimals }).toEqual({ a, b, order: Math.sign(a - b) });
    }
  });
});

describe('isExactMultipleOf', () => {
  it.each<[unknown, unknown, boolean]>([
    [19.99, 0.01, true],
    [0.07, 0.01, true],
    [1998.9999999999998, 0.01, false],
    [0.005, 0.01, false],
    [0.3, 0.1, true],
    [0.1 + 0.2, 0.1, false],
    [20, 0.01, true],
    [0.15, 0.05, true],
    [0.1, 0.05, true],
    [0.25, 0.5, false],
    [2.5, 0.25, true],
    [exact('123456789012345678901234567890.12'), 0.01, true],
    [exact('123456789012345678901234567890.123'), 0.01, false],
    [exact('0.00000000000000000000000000000000000001'), 1e-38, true],
    [exact('1e-39'), exact('1e-38'), false],
    [exact('1e300'), 7, false],
    [exact('7e300'), 7, true],
    [9007199254740993n, 3, true],
    [0, 0.01, true],
    [-19.99, 0.01, true],
  ])('%s is a multiple of %s: %s', (value, divisor, expected) => {
    expect(isExactMultipleOf(value, divisor)).toBe(expected);
  });

  it('says undefined for a divisor that is not positive', () => {
    expect(isExactMultipleOf(1, 0)).toBeUndefined();
    expect(isExactMultipleOf(1, -1)).toBeUndefined();
  });
});

describe('formatDecimal', () => {
  it.each([
    ['0.01', '0.01'],
    ['1e38', '1e+38'],
    ['1e21', '1000000000000000000000'],
    ['-123.4500', '-123.45'],
    ['1e-38', '1e-38'],
    ['0.000001', '0.000001'],
  ])('writes %s as %s', (text, expected) => {
    expect(formatDecimal(parseDecimal(text)!)).toBe(expected);
  });
});
