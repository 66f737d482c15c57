import {
  draftOf,
  InputError,
  isLosslessNumber,
  type JsonSchema,
  normalizeSchema,
  parseExactJson,
  schemaInfo,
} from '../../src';
import { memoryLogger } from '../support/memory-logger';

const schema = (text: string): JsonSchema => parseExactJson(text) as JsonSchema;

describe('draftOf', () => {
  it.each([
    ['http://json-schema.org/draft-04/schema#', 'draft-04'],
    ['http://json-schema.org/draft-04/schema', 'draft-04'],
    ['http://json-schema.org/draft-06/schema#', 'draft-06'],
    ['http://json-schema.org/draft-07/schema#', 'draft-07'],
    ['https://json-schema.org/draft/2019-09/schema', '2019-09'],
    ['https://json-schema.org/draft/2020-12/schema', '2020-12'],
    ['http://json-schema.org/draft-03/schema#', undefined],
    ['http://example.com/my-schema', undefined],
    [undefined, undefined],
  ])('reads %s as %s', (uri, draft) => {
    expect(draftOf(uri)).toBe(draft);
  });
});

describe('normalizeSchema', () => {
  it('folds draft-4 boolean exclusive bounds into the numeric form, keeping exact values', () => {
    const normalized = normalizeSchema(
      'orders',
      schema(
        '{"type":"object","properties":{"amount":{"type":["null","number"],"exclusiveMaximum":true,"maximum":100000000000000000000000000000000000000,"multipleOf":0.01,"exclusiveMinimum":true,"minimum":-100000000000000000000000000000000000000},"qty":{"type":"integer","minimum":0,"exclusiveMinimum":false,"maximum":10}}}',
      ),
    );
    const amount = normalized.properties?.amount as JsonSchema;
    expect(amount.maximum).toBeUndefined();
    expect(amount.minimum).toBeUndefined();
    expect(isLosslessNumber(amount.exclusiveMaximum)).toBe(true);
    expect(String(amount.exclusiveMaximum)).toBe('100000000000000000000000000000000000000');
    expect(String(amount.exclusiveMinimum)).toBe('-100000000000000000000000000000000000000');
    expect(amount.multipleOf).toBe(0.01);
    expect(normalized.properties?.qty).toEqual({ type: 'integer', minimum: 0, maximum: 10 });
  });

  it('keeps numeric (draft 6+) exclusive bounds as they are', () => {
    const normalized = normalizeSchema('s', { properties: { n: { type: 'number', exclusiveMaximum: 5, maximum: 7 } } });
    expect(normalized.properties?.n).toEqual({ type: 'number', exclusiveMaximum: 5, maximum: 7 });
  });

  it('never changes the schema it is given, and returns its own result as it is', () => {
    const text = '{"$schema":"http://json-schema.org/draft-04/schema#","type":"object","properties":{"a":{"$ref":"#/definitions/x"}},"definitions":{"x":{"type":"integer","maximum":5,"exclusiveMaximum":true}}}';
    const raw = schema(text);
    const normalized = normalizeSchema('s', raw);
    expect(raw).toEqual(schema(text));
    expect(normalizeSchema('s', normalized)).toBe(normalized);
    expect(schemaInfo(normalized)).toEqual({ stream: 's', draft: 'draft-04' });
    expect(normalized.$schema).toBeUndefined();
  });

  it('resolves $ref into definitions and $defs for each property and its union branches', () => {
    const normalized = normalizeSchema('s', {
      type: 'object',
      properties: {
        a: { $ref: '#/definitions/money', description: 'price' },
        b: { anyOf: [{ $ref: '#/$defs/when' }, { type: 'null' }] },
        c: { $ref: '#/definitions/alias' },
      },
      definitions: { money: { type: 'number', multipleOf: 0.01 }, alias: { $ref: '#/definitions/money' } },
      $defs: { when: { type: 'string', format: 'date-time' } },
    });
    expect(normalized.properties?.a).toEqual({ type: 'number', multipleOf: 0.01, description: 'price' });
    expect(normalized.properties?.b).toEqual({ anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] });
    expect(normalized.properties?.c).toEqual({ type: 'number', multipleOf: 0.01 });
    expect(normalized.definitions).toBeDefined();
  });

  it('keeps recursive references (tap-postgres array columns) as pointers into the document', () => {
    const normalized = normalizeSchema('s', {
      type: 'object',
      properties: { tags: { type: ['null', 'array'], items: { $ref: '#/definitions/sdc_recursive_string_array' } } },
      definitions: {
        sdc_recursive_string_array: { type: ['null', 'string', 'array'], items: { $ref: '#/definitions/sdc_recursive_string_array' } },
      },
    });
    expect(normalized.properties?.tags).toEqual({
      type: ['null', 'array'],
      items: { $ref: '#/definitions/sdc_recursive_string_array' },
    });
  });

  it('resolves a root $ref, anchors, $id-relative references and $recursiveRef', () => {
    const normalized = normalizeSchema('s', {
      $id: 'https://example.com/order.json',
      $ref: '#/definitions/Order',
      definitions: {
        Order: {
          type: 'object',
          properties: {
            id: { $ref: 'https://example.com/order.json#/definitions/Id' },
            kind: { $ref: '#kind' },
            tree: { $recursiveRef: '#' },
          },
        },
        Id: { type: 'integer' },
        Kind: { $anchor: 'kind', type: 'string', enum: ['a', 'b'] },
      },
    });
    expect(normalized.type).toBe('object');
    expect(normalized.properties?.id).toEqual({ type: 'integer' });
    expect(normalized.properties?.kind).toEqual({ type: 'string', enum: ['a', 'b'] });
    expect((normalized.properties?.tree as JsonSchema).type).toBe('object');
  });

  it('drops what cannot be checked with one warning per stream and keyword', () => {
    const logger = memoryLogger();
    const bad = schema(
      '{"type":"object","properties":{"a":{"$ref":"https://example.com/other.json#/x"},"b":{"$ref":"#/definitions/missing"},"c":{"type":"string","pattern":"(?P<name>x)"},"d":{"type":"strnig"},"e":{"type":"number","enum":[1,12345678901234567890]}}}',
    );
    const normalized = normalizeSchema('orders', bad, logger);
    normalizeSchema('orders', bad, logger);
    normalizeSchema('customers', { properties: { x: { $ref: '#/nowhere' } } }, logger);
    expect(normalized.properties).toEqual({ a: {}, b: {}, c: { type: 'string' }, d: {}, e: { type: 'number' } });
    expect(logger.warnings()).toEqual([
      'WARNING stream "orders": SCHEMA keyword "$ref" "https://example.com/other.json#/x" does not point into the schema itself: what it describes is not checked',
      'WARNING stream "orders": SCHEMA keyword "pattern" "(?P<name>x)" is not a regular expression JavaScript reads: it is not checked',
      'WARNING stream "orders": SCHEMA keyword "type" names "strnig", not a JSON type: any value is accepted there',
      'WARNING stream "orders": SCHEMA keyword "enum" holds numbers beyond what a double holds exactly: it is not checked',
      'WARNING stream "customers": SCHEMA keyword "$ref" "#/nowhere" does not point into the schema itself: what it describes is not checked',
    ]);
  });

  it('warns once about a $schema it does not know and reads the schema anyway', () => {
    const logger = memoryLogger();
    const normalized = normalizeSchema('s', { $schema: 'http://json-schema.org/draft-03/schema#', properties: { a: { type: 'any' } } }, logger);
    expect(normalized.properties?.a).toEqual({});
    expect(schemaInfo(normalized)?.draft).toBe('2019-09');
    expect(logger.warnings()).toEqual([
      'WARNING stream "s": SCHEMA keyword "$schema" names "http://json-schema.org/draft-03/schema#", not a draft this target knows (4, 6, 7, 2019-09, 2020-12): read as 2019-09',
    ]);
  });

  it('reads bounds that are not numbers as no bound, with a warning naming the keyword', () => {
    const logger = memoryLogger();
    const normalized = normalizeSchema('s', { properties: { a: { type: 'integer', maximum: '10', multipleOf: 0 } } }, logger);
    expect(normalized.properties?.a).toEqual({ type: 'integer' });
    expect(logger.warnings().map((line) => /keyword "([^"]+)"/.exec(line)?.[1])).toEqual(['maximum', 'multipleOf']);
  });

  it('turns OpenAPI nullable into a null type, and a 2020-12 tuple into prefixItems', () => {
    const normalized = normalizeSchema('s', {
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      properties: { a: { type: 'string', nullable: true }, t: { type: 'array', items: [{ type: 'string' }] } },
    });
    expect(normalized.properties?.a).toEqual({ type: ['string', 'null'] });
    expect(normalized.properties?.t).toEqual({ type: 'array', prefixItems: [{ type: 'string' }] });
  });

  it('refuses a schema that is not an object with an InputError naming the stream', () => {
    expect(() => normalizeSchema('s', [] as unknown as JsonSchema)).toThrow(InputError);
    expect(() => normalizeSchema('s', [] as unknown as JsonSchema)).toThrow(expect.objectContaining({ stream: 's', code: 'SCHEMA_INVALID' }));
  });
});
