import { compileCoercer } from '../../src/coerce';

describe('coercion to boolean', () => {
  const boolean = compileCoercer({ type: ['null', 'boolean'] }, 'active');

  it.each([
    ['true', true],
    ['false', false],
    ['TRUE', true],
    ['False', false],
    ['t', true],
    ['F', false],
    ['yes', true],
    ['No', false],
    ['y', true],
    ['n', false],
    ['on', true],
    ['OFF', false],
    ['1', true],
    ['0', false],
  ])('reads %j as %p in a boolean column, as COPY would', (text, expected) => {
    expect(boolean(text)).toBe(expected);
  });

  it.each(['tru', 'yess', '2', 'verdadeiro', ' true', 'null'])('refuses %j with VALUE_NOT_BOOLEAN', (text) => {
    expect(() => boolean(text)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_BOOLEAN', column: 'active', value: text }));
  });

  it('reads only true and false as booleans in a column that also allows strings', () => {
    const either = compileCoercer({ type: ['boolean', 'string'] });
    expect(either('TRUE')).toBe(true);
    expect(either('yes')).toBe('yes');
    expect(either('t')).toBe('t');
  });

  it('reads an empty field as null', () => {
    expect(boolean(null)).toBeNull();
    expect(boolean('')).toBeNull();
  });
});
