import { type JsonSchema, parseExactJson, RecordError, RecordValidator } from '../../src';
import { memoryLogger } from '../support/memory-logger';

const fits = (validator: RecordValidator, record: Record<string, unknown>): boolean => {
  try {
    validator.validate(record);
    return true;
  } catch (error) {
    if (error instanceof RecordError) return false;
    throw error;
  }
};

const DRAFTS = [
  'http://json-schema.org/draft-04/schema#',
  'http://json-schema.org/draft-06/schema#',
  'http://json-schema.org/draft-07/schema#',
  'https://json-schema.org/draft/2019-09/schema',
  'https://json-schema.org/draft/2020-12/schema',
  'https://example.com/schemas/our-own-dialect',
  undefined,
];

describe('RecordValidator across drafts', () => {
  it.each(DRAFTS)('reads a schema declaring $schema %s', ($schema) => {
    const logger = memoryLogger();
    const validator = new RecordValidator(
      's',
      {
        ...($schema === undefined ? {} : { $schema }),
        type: 'object',
        properties: { id: { type: 'integer', minimum: 1 }, name: { type: ['null', 'string'], maxLength: 3 } },
        required: ['id'],
      },
      logger,
    );
    expect(fits(validator, { id: 1, name: 'Ana' })).toBe(true);
    expect(fits(validator, { id: 0 })).toBe(false);
    expect(fits(validator, { id: 1, name: 'Anabela' })).toBe(false);
    expect(fits(validator, { name: null })).toBe(false);
    expect(logger.warnings()).toHaveLength($schema?.includes('example.com') ? 1 : 0);
  });

  it('reads draft-4 boolean exclusive bounds as draft 4 defines them, whatever $schema says', () => {
    for (const $schema of [undefined, 'http://json-schema.org/draft-04/schema#', 'http://json-schema.org/draft-07/schema#']) {
      const validator = new RecordValidator('s', {
        ...($schema === undefined ? {} : { $schema }),
        properties: {
          n: { type: 'number', minimum: 0, exclusiveMinimum: true, maximum: 10, exclusiveMaximum: true },
          m: { type: 'number', minimum: 0, exclusiveMinimum: false, maximum: 10, exclusiveMaximum: false },
        },
      });
      expect([0, 0.5, 10, 9.99].map((n) => fits(validator, { n }))).toEqual([false, true, false, true]);
      expect([0, 10, 10.01].map((m) => fits(validator, { m }))).toEqual([true, true, false]);
    }
  });

  it('reads numeric exclusive bounds (draft 6 and later)', () => {
    const validator = new RecordValidator('s', { properties: { n: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 10 } } });
    expect([0, 0.5, 10, 9.99].map((n) => fits(validator, { n }))).toEqual([false, true, false, true]);
  });

  it('honours keywords of each draft: const, if/then/else, dependentRequired, prefixItems', () => {
    const draft7 = new RecordValidator('s', {
      $schema: 'http://json-schema.org/draft-07/schema#',
      properties: {
        kind: { const: 'a' },
        pair: { type: 'object', if: { properties: { x: { const: 1 } } }, then: { required: ['y'] } },
        tuple: { type: 'array', items: [{ type: 'string' }], additionalItems: false },
      },
    });
    expect(fits(draft7, { kind: 'a', pair: { x: 1, y: 2 }, tuple: ['s'] })).toBe(true);
    expect(fits(draft7, { kind: 'b' })).toBe(false);
    expect(fits(draft7, { pair: { x: 1 } })).toBe(false);
    expect(fits(draft7, { tuple: ['s', 't'] })).toBe(false);

    const draft2019 = new RecordValidator('s', {
      $schema: 'https://json-schema.org/draft/2019-09/schema',
      properties: { card: { type: 'object', dependentRequired: { number: ['cvc'] } } },
    });
    expect(fits(draft2019, { card: { number: 1, cvc: 2 } })).toBe(true);
    expect(fits(draft2019, { card: { number: 1 } })).toBe(false);

    const draft2020 = new RecordValidator('s', {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: { tuple: { type: 'array', prefixItems: [{ type: 'string' }], items: false } },
    });
    expect(fits(draft2020, { tuple: ['s'] })).toBe(true);
    expect(fits(draft2020, { tuple: ['s', 't'] })).toBe(false);
    expect(fits(draft2020, { tuple: [1] })).toBe(false);
  });

  it('reads a 2020-12 schema written with draft-7 tuple items', () => {
    const validator = new RecordValidator('s', {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: { tuple: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }] } },
    });
    expect(fits(validator, { tuple: ['s', 1, true] })).toBe(true);
    expect(fits(validator, { tuple: [1, 's'] })).toBe(false);
  });

  it('reads a tap-postgres SCHEMA message as it arrives on the wire', () => {
    const line =
      '{"type":"object","properties":{"id":{"type":["integer"],"minimum":-9223372036854775808,"maximum":9223372036854775807},"price":{"type":["null","number"],"exclusiveMaximum":true,"maximum":100000000000000000000000000000000000000000000000000000000000000,"multipleOf":1e-38,"exclusiveMinimum":true,"minimum":-100000000000000000000000000000000000000000000000000000000000000},"tags":{"type":["null","array"],"items":{"$ref":"#/definitions/sdc_recursive_string_array"}}},"definitions":{"sdc_recursive_string_array":{"type":["null","string","array"],"items":{"$ref":"#/definitions/sdc_recursive_string_array"}}}}';
    const validator = new RecordValidator('public-orders', parseExactJson(line) as JsonSchema);
    const record = (text: string): Record<string, unknown> => parseExactJson(text) as Record<string, unknown>;
    expect(fits(validator, record('{"id":9223372036854775807,"price":19.99,"tags":["a",["b"]]}'))).toBe(true);
    expect(fits(validator, record('{"id":9223372036854775808}'))).toBe(false);
    expect(fits(validator, record('{"price":100000000000000000000000000000000000000000000000000000000000000}'))).toBe(false);
    expect(fits(validator, record('{"tags":[1]}'))).toBe(false);
  });
});
