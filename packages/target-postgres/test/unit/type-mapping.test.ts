import { type JsonSchema, normalizeSchema, parseExactJson } from '@singer-ts/singer';

import { latticeTypeOf, pgTypeFor, widenType, widenUsing } from '../../src/type-mapping';

const exactSchema = (text: string): JsonSchema => parseExactJson(text) as JsonSchema;

describe('pgTypeFor', () => {
  it.each([
    [{ type: 'integer' }, 'bigint'],
    [{ type: ['null', 'integer'] }, 'bigint'],
    [{ type: 'number' }, 'numeric'],
    [{ type: 'boolean' }, 'boolean'],
    [{ type: 'string' }, 'text'],
    [{ type: ['string', 'null'], format: 'date-time' }, 'timestamptz'],
    [{ type: 'string', format: 'date' }, 'date'],
    [{ type: 'string', format: 'time' }, 'time'],
    [{ type: 'string', format: 'singer.decimal' }, 'numeric'],
    [{ type: ['string', 'null'], format: 'x-singer.decimal', precision: 38, scale: 18 }, 'numeric'],
    [{ type: 'string', format: 'email' }, 'text'],
    [{ type: 'object', properties: { a: { type: 'integer' } } }, 'jsonb'],
    [{ type: ['null', 'array'], items: { type: 'string' } }, 'jsonb'],
    [{}, 'jsonb'],
    [{ type: 'null' }, 'text'],
  ])('maps %j to %s', (schema, expected) => {
    expect(pgTypeFor(schema)).toBe(expected);
  });

  it.each([
    [{ type: ['integer', 'number'] }, 'numeric'],
    [{ anyOf: [{ type: 'integer' }, { type: 'number' }, { type: 'null' }] }, 'numeric'],
    [{ type: ['integer', 'string'] }, 'text'],
    [{ type: ['boolean', 'integer'] }, 'text'],
    [{ anyOf: [{ type: 'string', format: 'date-time' }, { type: 'integer' }] }, 'text'],
    [{ anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] }, 'timestamptz'],
    [{ anyOf: [{ type: 'string', format: 'date' }, { type: 'string', format: 'date-time' }] }, 'text'],
    [{ type: ['string', 'object'] }, 'jsonb'],
    [{ oneOf: [{ type: 'array' }, { type: 'number' }] }, 'jsonb'],
  ])('takes the narrowest type holding every member of the union %j: %s', (schema, expected) => {
    expect(pgTypeFor(schema)).toBe(expected);
  });
});

describe('pgTypeFor on schemas as taps write them', () => {
  it.each([
    ['a tap-postgres BIGINT', '{"type":["integer"],"minimum":-9223372036854775808,"maximum":9223372036854775807}', 'bigint'],
    ['a tap-mysql BIGINT UNSIGNED', '{"type":["null","integer"],"minimum":0,"maximum":18446744073709551615}', 'numeric'],
    ['an integer with maximum 1e38', '{"type":"integer","maximum":1e38}', 'numeric'],
    ['an integer below bigint', '{"type":"integer","minimum":-9223372036854775809}', 'numeric'],
    ['an integer with exclusive draft-4 maximum 2^63', '{"type":"integer","maximum":9223372036854775808,"exclusiveMaximum":true}', 'bigint'],
    ['an integer with inclusive maximum 2^63', '{"type":"integer","maximum":9223372036854775808}', 'numeric'],
    ['an integer with numeric exclusiveMaximum 2^63', '{"type":"integer","exclusiveMaximum":9223372036854775808}', 'bigint'],
    ['an integer with exclusive draft-4 minimum -2^63-1', '{"type":"integer","minimum":-9223372036854775809,"exclusiveMinimum":true}', 'bigint'],
    ['a tap-postgres numeric(12,2)', '{"type":["null","number"],"exclusiveMaximum":true,"maximum":10000000000,"multipleOf":0.01,"exclusiveMinimum":true,"minimum":-10000000000}', 'numeric'],
    ['a tap-postgres json column', '{"type":["null","object","array"]}', 'jsonb'],
    ['a tap-postgres bytea column (unsupported, empty)', '{}', 'jsonb'],
    ['a tap-mysql geometry column', '{"type":["null","object"],"format":"spatial"}', 'jsonb'],
    ['a tap-mysql binary column', '{"type":["null","string"],"format":"binary"}', 'text'],
  ])('maps %s to %s', (_label, text, expected) => {
    expect(pgTypeFor(exactSchema(text))).toBe(expected);
  });

  it('follows $ref into definitions and $defs when given the stream schema', () => {
    const root = exactSchema(
      '{"type":"object","properties":{"ids":{"type":["null","array"],"items":{"$ref":"#/definitions/sdc_recursive_integer_array"}},"price":{"$ref":"#/$defs/money"},"when":{"anyOf":[{"$ref":"#/$defs/ts"},{"type":"null"}]},"status":{"allOf":[{"$ref":"#/definitions/Status"}],"description":"pydantic style"}},"definitions":{"sdc_recursive_integer_array":{"type":["null","integer","array"],"items":{"$ref":"#/definitions/sdc_recursive_integer_array"}},"Status":{"enum":["open","closed"],"type":"string"}},"$defs":{"money":{"type":"number","multipleOf":0.01},"ts":{"type":"string","format":"date-time"}}}',
    );
    const properties = root.properties as Record<string, JsonSchema>;
    expect(pgTypeFor(properties.ids!, root)).toBe('jsonb');
    expect(pgTypeFor(properties.price!, root)).toBe('numeric');
    expect(pgTypeFor(properties.when!, root)).toBe('timestamptz');
    expect(pgTypeFor(properties.status!, root)).toBe('text');
    // The same columns from the normalized schema, with no root needed.
    const normalized = normalizeSchema('s', root).properties as Record<string, JsonSchema>;
    expect(['ids', 'price', 'when', 'status'].map((p) => pgTypeFor(normalized[p]!))).toEqual(['jsonb', 'numeric', 'timestamptz', 'text']);
  });

  it.each([
    [{ anyOf: [{ type: 'integer' }, { type: 'null' }] }, 'bigint'],
    [{ oneOf: [{ type: 'null' }, { type: 'string', format: 'date' }] }, 'date'],
    [{ description: 'no type at all' }, 'jsonb'],
    [true, 'jsonb'],
    [{ type: ['null'] }, 'text'],
    [{ enum: ['a', 'b', null] }, 'text'],
    [{ enum: [1, 2, 3] }, 'bigint'],
    [{ enum: [1, 2.5] }, 'numeric'],
    [{ const: true }, 'boolean'],
    [{ allOf: [{ type: ['integer', 'string'] }, { type: ['number', 'null'] }] }, 'bigint'],
    [{ allOf: [{ type: 'string', format: 'date-time' }, { description: 'when' }] }, 'timestamptz'],
  ])('maps %j to %s', (schema, expected) => {
    expect(pgTypeFor(schema as JsonSchema)).toBe(expected);
  });
});

describe('widenType', () => {
  it('keeps a type joined with itself', () => {
    expect(widenType('bigint', 'bigint')).toBe('bigint');
  });

  it('widens along integer → numeric → text and timestamp → text', () => {
    expect(widenType('bigint', 'numeric')).toBe('numeric');
    expect(widenType('numeric', 'bigint')).toBe('numeric');
    expect(widenType('numeric', 'text')).toBe('text');
    expect(widenType('timestamptz', 'text')).toBe('text');
    expect(widenType('timestamptz', 'date')).toBe('text');
    expect(widenType('boolean', 'bigint')).toBe('text');
  });

  it('never narrows: jsonb holds everything', () => {
    expect(widenType('jsonb', 'bigint')).toBe('jsonb');
    expect(widenType('text', 'jsonb')).toBe('jsonb');
  });
});

describe('latticeTypeOf', () => {
  it('places the types this target creates', () => {
    expect(latticeTypeOf('bigint')).toBe('bigint');
    expect(latticeTypeOf('numeric')).toBe('numeric');
    expect(latticeTypeOf('timestamp with time zone')).toBe('timestamptz');
    expect(latticeTypeOf('time without time zone')).toBe('time');
    expect(latticeTypeOf('jsonb')).toBe('jsonb');
  });

  it('leaves user-made types alone', () => {
    expect(latticeTypeOf('integer')).toBeUndefined();
    expect(latticeTypeOf('character varying(20)')).toBeUndefined();
    expect(latticeTypeOf('numeric(10,2)')).toBeUndefined();
    expect(latticeTypeOf('timestamp without time zone')).toBeUndefined();
    expect(latticeTypeOf('double precision')).toBeUndefined();
  });
});

describe('widenUsing', () => {
  it('converts without loss', () => {
    expect(widenUsing('"c"', 'numeric')).toBe('"c"::numeric');
    expect(widenUsing('"c"', 'text')).toBe('"c"::text');
    expect(widenUsing('"c"', 'jsonb')).toBe('to_jsonb("c")');
  });
});
