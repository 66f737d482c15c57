import { compileCoercer } from '../../src/coerce';

describe('coercion of empty fields', () => {
  it('keeps a quoted empty field as the empty string in a string column, and null as null', () => {
    const text = compileCoercer({ type: ['null', 'string'] }, 'name');
    expect(text('')).toBe('');
    expect(text(null)).toBeNull();
  });

  it('keeps the text "NULL" as a string', () => {
    expect(compileCoercer({ type: ['null', 'string'] })('NULL')).toBe('NULL');
  });

  it.each([
    [{ type: 'integer' }],
    [{ type: 'number' }],
    [{ type: 'boolean' }],
    [{ type: 'string', format: 'date-time' }],
    [{ type: 'string' }],
  ])('refuses a null in the non-nullable column %j with VALUE_NOT_NULLABLE', (schema) => {
    const coerce = compileCoercer(schema, 'c');
    expect(() => coerce(null)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_NULLABLE', column: 'c', value: null }));
  });

  it('refuses a quoted empty field in a non-nullable, non-string column', () => {
    const coerce = compileCoercer({ type: 'integer' }, 'c');
    expect(() => coerce('')).toThrow(expect.objectContaining({ code: 'VALUE_NOT_NULLABLE', value: '' }));
  });

  it('keeps a quoted empty field in a non-nullable string column', () => {
    expect(compileCoercer({ type: 'string' })('')).toBe('');
  });

  it('accepts null where a nullable type comes from anyOf', () => {
    const coerce = compileCoercer({ anyOf: [{ type: 'null' }, { type: 'integer' }] });
    expect(coerce(null)).toBeNull();
    expect(coerce('')).toBeNull();
    expect(coerce('5')).toBe(5);
  });

  it('passes any text through a schema without a type', () => {
    const coerce = compileCoercer({});
    expect(coerce('x')).toBe('x');
    expect(coerce(null)).toBeNull();
  });

  it('refuses every value in a null-only column', () => {
    const coerce = compileCoercer({ type: 'null' }, 'c');
    expect(coerce(null)).toBeNull();
    expect(() => coerce('x')).toThrow(expect.objectContaining({ column: 'c' }));
  });
});
