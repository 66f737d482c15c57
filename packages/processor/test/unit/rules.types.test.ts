import { LosslessNumber } from '@singer-ts/singer';

import { fillNull, integer, number, timestamp } from '../../src/rules/types';
import { ctx, run } from './helpers';

describe('integer', () => {
  it.each([
    [5, 5],
    [5.0, 5],
    ['5', 5],
    ['5.0', 5],
    [' -12 ', -12],
    ['+7', 7],
    ['1e3', 1000],
    ['1.50e1', 15],
    [-0, 0],
  ])('makes %j the integer %j', (input, expected) => {
    expect(run(integer, input)).toBe(expected);
  });

  it('keeps every digit of an integer beyond 2^53', () => {
    const out = run(integer, '123456789012345678901234567890');
    expect(out).toBeInstanceOf(LosslessNumber);
    expect((out as LosslessNumber).value).toBe('123456789012345678901234567890');
    expect((run(integer, new LosslessNumber('9007199254740993.0')) as LosslessNumber).value).toBe('9007199254740993');
  });

  it('gives null for null, absent and blank values', () => {
    expect(run(integer, null)).toBeNull();
    expect(run(integer, undefined)).toBeNull();
    expect(run(integer, '  ')).toBeNull();
  });

  it('refuses a fractional value instead of truncating it, naming column and value', () => {
    for (const value of [5.5, '5.5', '1e-1']) {
      expect(() => integer(value, ctx)).toThrow(
        expect.objectContaining({ code: 'VALUE_NOT_INTEGER', column: 'customer_city', value }),
      );
    }
    expect(() => integer('5.5', ctx)).toThrow(/fractional/);
  });

  it('refuses text, booleans and absurdly large exponents', () => {
    for (const value of ['abc', '5 kg', true, '1e5000', '.']) {
      expect(() => integer(value, ctx)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_INTEGER' }));
    }
  });
});

describe('number', () => {
  it.each([
    ['3.14', 3.14],
    [' 2 ', 2],
    ['1e-3', 0.001],
    ['+.5', 0.5],
    ['5.', 5],
    [2.5, 2.5],
  ])('makes %j the number %j', (input, expected) => {
    expect(run(number, input)).toBe(expected);
  });

  it('keeps a decimal a double cannot hold exactly', () => {
    const out = run(number, '0.12345678901234567890123');
    expect(out).toBeInstanceOf(LosslessNumber);
    expect((out as LosslessNumber).value).toBe('0.12345678901234567890123');
  });

  it('gives null for null and blank values', () => {
    expect(run(number, null)).toBeNull();
    expect(run(number, '')).toBeNull();
  });

  it('refuses NaN, Infinity and other text', () => {
    for (const value of ['NaN', 'Infinity', '1,5', 'x', false]) {
      expect(() => number(value, ctx)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_NUMBER', value }));
    }
  });
});

describe('fill_null', () => {
  it('fills null and absent values and nothing else', () => {
    const fill = fillNull(-1);
    expect(run(fill, null)).toBe(-1);
    expect(run(fill, undefined)).toBe(-1);
    expect(run(fill, 0)).toBe(0);
    expect(run(fill, '')).toBe('');
  });

  it('followed by integer gives -1 for missing and whole numbers for the rest', () => {
    const steps = [fillNull(-1), integer];
    const apply = (v: unknown): unknown => steps.reduce((acc, rule) => rule(acc, ctx), v);
    expect(apply(null)).toBe(-1);
    expect(apply(225.0)).toBe(225);
    expect(apply('40')).toBe(40);
  });
});

describe('timestamp', () => {
  it.each([
    ['2017-10-02 10:56:33', '2017-10-02T10:56:33'],
    ['2017-10-02T10:56:33', '2017-10-02T10:56:33'],
    ['2017-10-02 10:56', '2017-10-02T10:56:00'],
    ['2017-10-02', '2017-10-02T00:00:00'],
    ['2017-10-02 10:56:33.123456', '2017-10-02T10:56:33.123456'],
    ['2017-10-02T10:56:33z', '2017-10-02T10:56:33Z'],
    ['2017-10-02 10:56:33-0300', '2017-10-02T10:56:33-03:00'],
    ['2017-10-02T10:56:33+05', '2017-10-02T10:56:33+05:00'],
    ['2017-10-02T10:56:33+00:00', '2017-10-02T10:56:33+00:00'],
    ['2016-02-29 00:00:00', '2016-02-29T00:00:00'],
  ])('writes %j as %j without shifting any zone', (input, expected) => {
    expect(run(timestamp, input)).toBe(expected);
  });

  it('gives null for null, absent and empty values', () => {
    expect(run(timestamp, null)).toBeNull();
    expect(run(timestamp, undefined)).toBeNull();
    expect(run(timestamp, '')).toBeNull();
  });

  it('refuses impossible dates and times and other text, naming column and value', () => {
    for (const value of ['2017-02-29 10:00:00', '2017-13-01', '2017-10-02 24:00:00', '02/10/2017', 'soon', 1506941793]) {
      expect(() => timestamp(value, ctx)).toThrow(
        expect.objectContaining({ code: 'VALUE_NOT_DATETIME', column: 'customer_city', value }),
      );
    }
  });
});

describe('timestamp on the common shape', () => {
  it('checks every field of YYYY-MM-DD HH:MM:SS as the full parser does', () => {
    for (const value of ['2017-10-02 10:56:33', '2000-02-29 23:59:59', '0001-01-01 00:00:00', '2017-10-02T10:56:33']) {
      expect(run(timestamp, value)).toBe(value.replace(' ', 'T'));
    }
    for (const value of [
      '1900-02-29 00:00:00',
      '2017-04-31 00:00:00',
      '2017-10-02 23:60:00',
      '2017-10-02 10:56:60',
      '0000-01-01 00:00:00',
      '2017-10-02_10:56:33',
      '2017-1O-02 10:56:33',
      '20171002 10:56:33 ',
    ]) {
      expect(() => timestamp(value, ctx)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_DATETIME', value }));
    }
  });
});
