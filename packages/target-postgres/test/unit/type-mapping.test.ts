import { latticeTypeOf, pgTypeFor, widenType, widenUsing } from '../../src/type-mapping';

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
