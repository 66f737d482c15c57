import { LosslessNumber } from 'lossless-json';

import { compileCsvConverter } from '../../src/coerce';
import type { JsonSchema } from '../../src/messages';

const ORDER_ITEMS: Record<string, JsonSchema> = {
  order_id: { type: ['null', 'string'] },
  order_item_id: { type: ['null', 'integer'] },
  shipping_limit_date: { type: ['null', 'string'], format: 'date-time' },
  price: { type: ['null', 'number'] },
  zip_prefix: { type: ['null', 'string'] },
};

describe('compileCsvConverter', () => {
  it('converts a row to a typed record in schema order', () => {
    const header = ['price', 'order_id', 'order_item_id', 'shipping_limit_date', 'zip_prefix'];
    const convert = compileCsvConverter(ORDER_ITEMS, header);
    const record = convert(['58.90', '00010242fe8c5a6d1ba2dd792cb16214', '1', '2017-09-19 09:45:35', '01151']);
    expect(record).toEqual({
      order_id: '00010242fe8c5a6d1ba2dd792cb16214',
      order_item_id: 1,
      shipping_limit_date: '2017-09-19 09:45:35',
      price: 58.9,
      zip_prefix: '01151',
    });
    expect(Object.keys(record)).toEqual(Object.keys(ORDER_ITEMS));
  });

  it('drops header columns the schema does not have', () => {
    const convert = compileCsvConverter({ a: { type: 'integer' } }, ['a', 'secret']);
    expect(convert(['1', 'do not emit'])).toEqual({ a: 1 });
  });

  it('emits null for a nullable schema column missing from the header', () => {
    const convert = compileCsvConverter(ORDER_ITEMS, ['order_id']);
    expect(convert(['x'])).toEqual({
      order_id: 'x',
      order_item_id: null,
      shipping_limit_date: null,
      price: null,
      zip_prefix: null,
    });
  });

  it('fails at once, naming the column, when a non-nullable column is missing from the header', () => {
    expect(() => compileCsvConverter({ id: { type: 'integer' } }, ['other'])).toThrow(
      expect.objectContaining({ code: 'VALUE_NOT_NULLABLE', column: 'id' }),
    );
  });

  it('reports a value that does not fit with its column and value, for the caller to locate', () => {
    const convert = compileCsvConverter(ORDER_ITEMS, ['order_id', 'order_item_id']);
    let error: unknown;
    try {
      convert(['x', '1.0']);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'VALUE_NOT_INTEGER', column: 'order_item_id', value: '1.0' });
  });

  it('keeps big numbers exact', () => {
    const convert = compileCsvConverter({ n: { type: 'integer' }, x: { type: 'number' } }, ['n', 'x']);
    const record = convert(['9223372036854775809', '0.1000000000000000055511151231257827']);
    expect(record.n).toEqual(new LosslessNumber('9223372036854775809'));
    expect(record.x).toEqual(new LosslessNumber('0.1000000000000000055511151231257827'));
  });

  it('does not keep a reference to the fields array', () => {
    const convert = compileCsvConverter({ a: { type: 'string' } }, ['a']);
    const fields = ['one'];
    const record = convert(fields);
    fields[0] = 'two';
    expect(record.a).toBe('one');
  });
});
