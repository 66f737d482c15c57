import { compileCoercer } from '../../src/coerce';

describe('coercion to date-time, date and time', () => {
  const dateTime = compileCoercer({ type: ['null', 'string'], format: 'date-time' }, 'shipped_at');

  it.each(['2017-09-19 09:45:35', '2017-09-19T09:45:35.123Z', '2017-09-19T09:45:35-03:00', '2017-09-19'])(
    'emits the date-time %j unchanged, never shifting its zone',
    (text) => {
      expect(dateTime(text)).toBe(text);
    },
  );

  it.each(['2017-02-30 10:00:00', '19/09/2017', '2017-09-19 25:00', 'yesterday'])('refuses %j with VALUE_NOT_DATETIME', (text) => {
    expect(() => dateTime(text)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_DATETIME', column: 'shipped_at', value: text }));
  });

  it('reads an empty field, quoted or not, as null in a date-time column', () => {
    expect(dateTime('')).toBeNull();
    expect(dateTime(null)).toBeNull();
  });

  it('checks dates and times with their own formats', () => {
    const date = compileCoercer({ type: 'string', format: 'date' }, 'd');
    const time = compileCoercer({ type: ['null', 'string'], format: 'time' }, 't');
    expect(date('2016-02-29')).toBe('2016-02-29');
    expect(() => date('2017-02-29')).toThrow(expect.objectContaining({ code: 'VALUE_NOT_DATE' }));
    expect(time('13:45:30.5+03:00')).toBe('13:45:30.5+03:00');
    expect(() => time('13:61')).toThrow(expect.objectContaining({ code: 'VALUE_NOT_TIME' }));
  });

  it('leaves strings with other formats unchecked', () => {
    expect(compileCoercer({ type: 'string', format: 'email' })('not an email')).toBe('not an email');
  });
});
