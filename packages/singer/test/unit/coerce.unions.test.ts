import { LosslessNumber } from 'lossless-json';

import { compileCoercer } from '../../src/coerce';

describe('coercion to unions of types', () => {
  it('tries the narrowest type first: integer, then number, then string', () => {
    const coerce = compileCoercer({ type: ['null', 'string', 'number', 'integer'] });
    expect(coerce('12')).toBe(12);
    expect(coerce('12.5')).toBe(12.5);
    expect(coerce('01151')).toBe(1151);
    expect(coerce('abc')).toBe('abc');
    expect(coerce('')).toBe('');
  });

  it('keeps a leading-zero code exact in a string column', () => {
    expect(compileCoercer({ type: ['null', 'string'] })('01151')).toBe('01151');
  });

  it('reads anyOf branches with formats', () => {
    const coerce = compileCoercer({
      anyOf: [{ type: 'string', format: 'date-time' }, { type: 'integer' }, { type: 'null' }],
    });
    expect(coerce('2017-09-19 09:45:35')).toBe('2017-09-19 09:45:35');
    expect(coerce('9223372036854775809')).toBeInstanceOf(LosslessNumber);
    expect(coerce('')).toBeNull();
    expect(() => coerce('abc')).toThrow(expect.objectContaining({ code: 'VALUE_NOT_INTEGER' }));
    expect(() => coerce('abc')).toThrow(/an integer or a date-time/);
  });

  it('reads an integer-or-boolean column', () => {
    const coerce = compileCoercer({ type: ['integer', 'boolean'] });
    expect(coerce('1')).toBe(1);
    expect(coerce('yes')).toBe(true);
  });

  it('reads JSON objects and arrays with exact numbers', () => {
    const coerce = compileCoercer({ type: ['null', 'object', 'array'] }, 'payload');
    expect(coerce('{"a": [1, 2]}')).toEqual({ a: [1, 2] });
    expect(coerce('[1, 2]')).toEqual([1, 2]);
    const big = coerce('{"id": 9223372036854775809}') as { id: LosslessNumber };
    expect(big.id).toBeInstanceOf(LosslessNumber);
    expect(big.id.value).toBe('9223372036854775809');
    expect(() => coerce('{oops')).toThrow(expect.objectContaining({ code: 'VALUE_NOT_OBJECT', column: 'payload' }));
    expect(() => coerce('12')).toThrow(expect.objectContaining({ code: 'VALUE_NOT_OBJECT' }));
  });
});
