import { LosslessNumber } from 'lossless-json';

import { compileCoercer } from '../../src/coerce';

const number = compileCoercer({ type: ['null', 'number'] }, 'price');

function exact(value: unknown): string {
  expect(value).toBeInstanceOf(LosslessNumber);
  return (value as LosslessNumber).value;
}

describe('coercion to number', () => {
  it.each([
    ['0', 0],
    ['58.90', 58.9],
    ['-1.5', -1.5],
    ['+2.25', 2.25],
    ['.5', 0.5],
    ['5.', 5],
    ['1e3', 1000],
    ['1E-3', 0.001],
    ['-2.5e+2', -250],
    ['0.000', 0],
    ['-0.0', 0],
    ['123456789012345', 123456789012345],
    ['0.123456789012345', 0.123456789012345],
    ['1.79769313486231e308', 1.79769313486231e308],
    ['2.3e-308', 2.3e-308],
  ])('reads %j as the number %p', (text, expected) => {
    const value = number(text);
    expect(value).toBe(expected);
    expect(Object.is(value, -0)).toBe(false);
  });

  it.each([
    ['0.1000000000000000055511151231257827', '0.1000000000000000055511151231257827'],
    ['9223372036854775809', '9223372036854775809'],
    ['1234567890.1234567', '1234567890.1234567'],
    ['1e400', '1e400'],
    ['-1e400', '-1e400'],
    ['1e-400', '1e-400'],
    ['4e-320', '4e-320'],
    ['+.5000000000000000001', '0.5000000000000000001'],
    ['007.10000000000000000001e2', '7.10000000000000000001e2'],
    ['12345678901234567890.', '12345678901234567890'],
  ])('keeps %j exact as a LosslessNumber %j', (text, expected) => {
    expect(exact(number(text))).toBe(expected);
  });

  it.each(['NaN', 'nan', 'Infinity', '-Infinity', 'inf', '+inf'])('refuses %j: JSON has no such number', (text) => {
    expect(() => number(text)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_NUMBER', column: 'price' }));
    expect(() => number(text)).toThrow(/NaN and infinities/);
  });

  it.each(['1,5', '1.5.1', 'e3', '.', '-', '1e', '1e+', ' 1', '1 ', '0x10', '1_0', 'R$ 10,00', '١'])('refuses %j', (text) => {
    expect(() => number(text)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_NUMBER', column: 'price', value: text }));
  });

  it('reads an empty field as null', () => {
    expect(number(null)).toBeNull();
    expect(number('')).toBeNull();
  });
});
