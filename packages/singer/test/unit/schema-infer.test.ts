import { inferSchema, SchemaInferrer } from '../../src/schema-infer';

/** The inferred schema of one column (not a key) from its sampled values. */
function infer(...values: (string | null)[]): unknown {
  return inferSchema(['c'], values.map((v) => [v])).properties?.c;
}

/** The same, the column being a key property. */
function inferKey(...values: (string | null)[]): unknown {
  return inferSchema(['c'], values.map((v) => [v]), { keyProperties: ['c'] }).properties?.c;
}

describe('inferSchema', () => {
  it('infers an object schema with one property per column, in header order, nullable but for keys', () => {
    const schema = inferSchema(
      ['order_id', 'order_item_id', 'shipping_limit_date', 'price', 'paid'],
      [
        ['00010242fe8c5a6d1ba2dd792cb16214', '1', '2017-09-19 09:45:35', '58.90', 'true'],
        ['00018f77f2f0320c557190d7a144bdd3', '2', '2017-05-03 11:05:13', '239.90', 'FALSE'],
      ],
      { keyProperties: ['order_id', 'order_item_id'] },
    );
    expect(schema).toEqual({
      type: 'object',
      properties: {
        order_id: { type: 'string' },
        order_item_id: { type: 'integer' },
        shipping_limit_date: { type: ['null', 'string'], format: 'date-time' },
        price: { type: ['null', 'number'] },
        paid: { type: ['null', 'boolean'] },
      },
    });
  });

  it('infers integer for integer literals of any size', () => {
    expect(infer('0', '-5', '42')).toEqual({ type: ['null', 'integer'] });
    expect(infer('9223372036854775809', '-99999999999999999999999')).toEqual({ type: ['null', 'integer'] });
  });

  it('keeps a digit string with a leading zero a string, but not 0 itself', () => {
    expect(infer('01151', '22222')).toEqual({ type: ['null', 'string'] });
    expect(infer('0', '10')).toEqual({ type: ['null', 'integer'] });
    expect(infer('00')).toEqual({ type: ['null', 'string'] });
    expect(infer('-01')).toEqual({ type: ['null', 'string'] });
    expect(infer('01.5')).toEqual({ type: ['null', 'string'] });
  });

  it('infers number when integers and decimals mix, exponents included', () => {
    expect(infer('1', '2.5', '0.75', '-3e-5', '1E10')).toEqual({ type: ['null', 'number'] });
  });

  it('keeps spellings a conversion would alter as strings', () => {
    expect(infer('+5')).toEqual({ type: ['null', 'string'] });
    expect(infer('.5')).toEqual({ type: ['null', 'string'] });
    expect(infer('5.')).toEqual({ type: ['null', 'string'] });
    expect(infer('NaN')).toEqual({ type: ['null', 'string'] });
    expect(infer('Infinity')).toEqual({ type: ['null', 'string'] });
    expect(infer(' 5')).toEqual({ type: ['null', 'string'] });
  });

  it('infers boolean only from true and false, in any case', () => {
    expect(infer('true', 'False', 'TRUE')).toEqual({ type: ['null', 'boolean'] });
    expect(infer('t', 'f')).toEqual({ type: ['null', 'string'] });
    expect(infer('yes', 'no')).toEqual({ type: ['null', 'string'] });
    expect(infer('1', '0')).toEqual({ type: ['null', 'integer'] });
  });

  it('infers date-time from date-times and dates, with or without offsets', () => {
    expect(infer('2017-10-02 10:56:33', '2017-10-02T10:56:33Z', '2017-10-02', '2017-10-02 10:56:33.5-03:00')).toEqual({
      type: ['null', 'string'],
      format: 'date-time',
    });
    expect(infer('2017-02-30')).toEqual({ type: ['null', 'string'] });
    expect(infer('13:45:30')).toEqual({ type: ['null', 'string'] });
  });

  it('falls back to string when one value fits no narrower type', () => {
    expect(infer('1', '2', 'three')).toEqual({ type: ['null', 'string'] });
    expect(infer('2017-10-02', '1')).toEqual({ type: ['null', 'string'] });
    expect(infer('true', '1')).toEqual({ type: ['null', 'string'] });
  });

  it('makes every column nullable, whether the sample holds an empty field or not', () => {
    expect(infer('1', '2', '3')).toEqual({ type: ['null', 'integer'] });
    expect(infer('1', null, '3')).toEqual({ type: ['null', 'integer'] });
    expect(infer('1', '', '3')).toEqual({ type: ['null', 'integer'] });
    expect(infer('2017-10-02', null)).toEqual({ type: ['null', 'string'], format: 'date-time' });
  });

  it('keeps key columns non-nullable, even where the sample holds an empty field', () => {
    expect(inferKey('1', '2')).toEqual({ type: 'integer' });
    expect(inferKey('x', null)).toEqual({ type: 'string' });
    expect(inferKey('2017-10-02')).toEqual({ type: 'string', format: 'date-time' });
    expect(inferKey(null)).toEqual({ type: 'string' });
  });

  it('infers a nullable string for a column with only empty fields or no rows', () => {
    expect(infer(null, '')).toEqual({ type: ['null', 'string'] });
    expect(inferSchema(['c'], []).properties?.c).toEqual({ type: ['null', 'string'] });
  });

  it('forces date overrides to date-time whatever the values, nullable unless a key', () => {
    const schema = inferSchema(['a', 'b', 'k'], [['1', 'x', 'y']], { dateOverrides: ['a', 'k'], keyProperties: ['k'] });
    expect(schema.properties?.a).toEqual({ type: ['null', 'string'], format: 'date-time' });
    expect(schema.properties?.b).toEqual({ type: ['null', 'string'] });
    expect(schema.properties?.k).toEqual({ type: 'string', format: 'date-time' });
  });
});

describe('SchemaInferrer', () => {
  it('infers the union of columns across files, nullable but for keys', () => {
    const inferrer = new SchemaInferrer({ keyProperties: ['id'] });
    inferrer.addHeader(['id', 'a']);
    inferrer.addRow(['1', 'x']);
    inferrer.addHeader(['b', 'id']);
    inferrer.addRow(['2.5', '2']);
    expect(inferrer.schema()).toEqual({
      type: 'object',
      properties: {
        id: { type: 'integer' },
        a: { type: ['null', 'string'] },
        b: { type: ['null', 'number'] },
      },
    });
  });

  it('reads each file by its own header order', () => {
    const inferrer = new SchemaInferrer();
    inferrer.addHeader(['n', 's']);
    inferrer.addRow(['1', 'x']);
    inferrer.addHeader(['s', 'n']);
    inferrer.addRow(['y', '2']);
    expect(inferrer.properties()).toEqual({ n: { type: ['null', 'integer'] }, s: { type: ['null', 'string'] } });
  });
});
