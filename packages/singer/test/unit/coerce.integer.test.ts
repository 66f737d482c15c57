import { LosslessNumber } from 'lossless-json';

import { compileCoercer } from '../../src/coerce';
import { RecordError } from '../../src/errors';

const integer = compileCoercer({ type: ['null', 'integer'] }, 'qty');

describe('coercion to integer', () => {
  it.each([
    ['0', 0],
    ['42', 42],
    ['-17', -17],
    ['+7', 7],
    ['007', 7],
    ['-0', 0],
    ['9007199254740991', 9007199254740991],
    ['-9007199254740991', -9007199254740991],
    ['000000000000000000001', 1],
  ])('reads %j as the number %p', (text, expected) => {
    const value = integer(text);
    expect(value).toBe(expected);
    expect(Object.is(value, -0)).toBe(false);
  });

  it.each([
    ['9007199254740992', '9007199254740992'],
    ['9223372036854775809', '9223372036854775809'],
    ['-9223372036854775809', '-9223372036854775809'],
    ['+00123456789012345678901234567890', '123456789012345678901234567890'],
  ])('keeps %j exact as a LosslessNumber', (text, exact) => {
    const value = integer(text);
    expect(value).toBeInstanceOf(LosslessNumber);
    expect((value as LosslessNumber).value).toBe(exact);
  });

  it.each(['1.0', '1e3', '1.5', ' 1', '1 ', '0x1F', '-', '+', '1_000', '1,000', 'NaN', 'twelve', '١٢'])(
    'refuses %j with VALUE_NOT_INTEGER naming the column and value',
    (text) => {
      let error: unknown;
      try {
        integer(text);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(RecordError);
      expect(error).toMatchObject({ code: 'VALUE_NOT_INTEGER', column: 'qty', value: text });
    },
  );

  it('says why 1.0 is refused instead of rounding it', () => {
    expect(() => integer('1.0')).toThrow(/fraction or an exponent/);
  });

  it('reads an unquoted or quoted empty field as null', () => {
    expect(integer(null)).toBeNull();
    expect(integer('')).toBeNull();
  });
});
