import { isLosslessNumber, parseExactJson, stringifyExactJson } from '../../src';

describe('exact JSON', () => {
  it.each([
    ['12345678901234567890', '12345678901234567890'],
    ['-9223372036854775809', '-9223372036854775809'],
    ['0.1000000000000000055511151231257827', '0.1000000000000000055511151231257827'],
    ['1e400', '1e400'],
    ['123456789.123456789', '123456789.123456789'],
  ])('keeps %s exactly through parse and stringify', (text, expected) => {
    const value = parseExactJson(`{"v":${text}}`) as { v: unknown };
    expect(isLosslessNumber(value.v)).toBe(true);
    expect(stringifyExactJson(value)).toBe(`{"v":${expected}}`);
  });

  it('parses ordinary numbers as plain numbers', () => {
    expect(parseExactJson('{"a":1.25,"b":42,"c":"00e7ee1b050b8499577073aeb2a297a1"}')).toEqual({
      a: 1.25,
      b: 42,
      c: '00e7ee1b050b8499577073aeb2a297a1',
    });
  });

  it('does not mistake a long digit string for a number', () => {
    expect(parseExactJson('{"phone":"12345678901234567890"}')).toEqual({ phone: '12345678901234567890' });
  });
});
