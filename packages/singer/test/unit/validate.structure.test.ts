import { InputError, type JsonSchema, RecordError, RecordValidator } from '../../src';
import { memoryLogger } from '../support/memory-logger';

function problem(validator: RecordValidator, record: Record<string, unknown>): string | undefined {
  try {
    validator.validate(record);
    return undefined;
  } catch (error) {
    if (error instanceof RecordError) return `${error.column ?? ''}: ${error.message}`;
    throw error;
  }
}

describe('RecordValidator on schemas as taps write them', () => {
  it('follows $ref into definitions and $defs, recursive ones included', () => {
    const validator = new RecordValidator('s', {
      type: 'object',
      properties: {
        ids: { type: ['null', 'array'], items: { $ref: '#/definitions/sdc_recursive_integer_array' } },
        price: { $ref: '#/$defs/money' },
      },
      definitions: {
        sdc_recursive_integer_array: { type: ['null', 'integer', 'array'], items: { $ref: '#/definitions/sdc_recursive_integer_array' } },
      },
      $defs: { money: { type: 'number', multipleOf: 0.01 } },
    });
    expect(problem(validator, { ids: [1, [2, [3, null]]], price: 19.99 })).toBeUndefined();
    expect(problem(validator, { ids: [1, ['x']] })).toBe('ids: ids.1.0 must be of type null,integer,array');
    expect(problem(validator, { price: 19.999 })).toBe('price: must be multiple of 0.01');
  });

  it('reads anyOf and oneOf with null', () => {
    const validator = new RecordValidator('s', {
      properties: {
        a: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
        b: { oneOf: [{ type: 'integer', maximum: 5 }, { type: 'null' }] },
      },
    });
    expect(problem(validator, { a: '2017-10-02 10:56:33', b: 5 })).toBeUndefined();
    expect(problem(validator, { a: null, b: null })).toBeUndefined();
    expect(problem(validator, { a: 'not a date' })).toMatch(/^a: /);
    expect(problem(validator, { b: 6 })).toMatch(/^b: /);
  });

  it('accepts any value for an empty or type-less property schema, and only null for type null', () => {
    const validator = new RecordValidator('s', {
      properties: { any: {}, described: { description: 'whatever the source has' }, always_null: { type: 'null' } },
    });
    for (const value of [1, 'x', null, [1], { a: 1 }, true]) {
      expect(problem(validator, { any: value, described: value, always_null: null })).toBeUndefined();
    }
    expect(problem(validator, { always_null: 0 })).toBe('always_null: must be of type null');
  });

  it('ignores formats it does not know and checks the ones it does', () => {
    const validator = new RecordValidator('s', {
      properties: {
        email: { type: 'string', format: 'email' },
        blob: { type: 'string', format: 'binary' },
        geo: { type: 'object', format: 'spatial' },
        day: { type: 'string', format: 'date' },
        amount: { type: 'string', format: 'x-singer.decimal' },
      },
    });
    expect(problem(validator, { email: 'not an email', blob: '\u0000', geo: {}, day: '2020-02-29', amount: '-12.50' })).toBeUndefined();
    expect(problem(validator, { day: '2020-02-30' })).toBe('day: is not a valid date');
    expect(problem(validator, { amount: '12,50' })).toBe('amount: is not a valid x-singer.decimal');
  });

  it('leaves the root\'s additionalProperties to the target, which drops unknown properties, and honours nested ones', () => {
    const validator = new RecordValidator('s', {
      type: ['null', 'object'],
      additionalProperties: false,
      properties: {
        id: { type: 'integer' },
        address: { type: 'object', properties: { city: { type: 'string' } }, additionalProperties: false },
      },
    });
    expect(problem(validator, { id: 1, extra: 'kept by the root rule' })).toBeUndefined();
    expect(problem(validator, { address: { city: 'X', zip: '01151' } })).toBe(
      'address: must not have property "zip" (its schema allows no other properties)',
    );
  });

  it('checks patternProperties of nested objects', () => {
    const validator = new RecordValidator('s', {
      properties: { attrs: { type: 'object', patternProperties: { '^n_': { type: 'number' } }, additionalProperties: { type: 'string' } } },
    });
    expect(problem(validator, { attrs: { n_weight: 1.5, color: 'red' } })).toBeUndefined();
    expect(problem(validator, { attrs: { n_weight: 'heavy' } })).toBe('attrs: attrs.n_weight must be of type number');
    expect(problem(validator, { attrs: { color: 1 } })).toBe('attrs: attrs.color must be of type string');
  });

  it('does not require a property the schema does not list, with one warning', () => {
    const logger = memoryLogger();
    const schema: JsonSchema = { properties: { id: { type: 'integer' } }, required: ['id', 'ghost'] };
    const validator = new RecordValidator('s', schema, logger);
    new RecordValidator('s', schema, logger);
    expect(problem(validator, { id: 1 })).toBeUndefined();
    expect(problem(validator, {})).toBe(': must have required property \'id\'');
    expect(logger.warnings()).toEqual([
      'WARNING stream "s": SCHEMA keyword "required" lists "ghost", not among its properties (records lose such properties before they are checked): not required',
    ]);
  });

  it('checks what it can of a schema with parts it cannot use, warning once per keyword', () => {
    const logger = memoryLogger();
    const validator = new RecordValidator(
      's',
      {
        properties: {
          id: { type: 'integer' },
          code: { type: 'string', pattern: '(?<!x)\\p{Foo}' },
          other: { $ref: 'other.json#/definitions/x' },
          flag: { type: 'boolean', required: true },
        },
      },
      logger,
    );
    expect(problem(validator, { id: 1, code: 'anything', other: [1], flag: true })).toBeUndefined();
    expect(problem(validator, { id: 'one' })).toBe('id: must be of type integer');
    expect(logger.warnings().map((line) => /keyword "([^"]+)"/.exec(line)?.[1])).toEqual(['pattern', '$ref', 'required']);
  });

  it('works with two arguments, as before', () => {
    expect(problem(new RecordValidator('s', { properties: { a: { type: 'string' } } }), { a: 1 })).toBe('a: must be of type string');
  });

  it('leaves out a keyword whose value ajv cannot use, and a loop of references, with a warning each', () => {
    const logger = memoryLogger();
    const validator = new RecordValidator(
      's',
      {
        properties: {
          tags: { type: 'array', uniqueItems: 'yes' },
          uniqueItems: { type: 'string' },
          loop: { $ref: '#/definitions/a' },
        },
        definitions: { a: { $ref: '#/definitions/b' }, b: { $ref: '#/definitions/a' } },
      } as unknown as JsonSchema,
      logger,
    );
    expect(problem(validator, { tags: [1, 1], uniqueItems: 'a column named like a keyword', loop: 7 })).toBeUndefined();
    expect(problem(validator, { uniqueItems: 1 })).toBe('uniqueItems: must be of type string');
    expect(logger.warnings()).toEqual([
      'WARNING stream "s": SCHEMA keyword "$ref" "#/definitions/a" leads back to itself through references alone: any value is accepted there',
      'WARNING stream "s": SCHEMA keyword "uniqueItems" has a value that is not boolean: it is not checked',
    ]);
  });

  it('reports a schema it cannot use at all as an InputError naming the stream', () => {
    expect(() => new RecordValidator('orders', [] as unknown as JsonSchema)).toThrow(InputError);
    expect(() => new RecordValidator('orders', 'nope' as unknown as JsonSchema)).toThrow(
      expect.objectContaining({ stream: 'orders', code: 'SCHEMA_INVALID' }),
    );
  });
});
