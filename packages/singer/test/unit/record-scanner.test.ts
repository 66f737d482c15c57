import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';
import fc from 'fast-check';

import {
  type JsonSchema,
  normalizeSchema,
  parseExactJson,
  RecordError,
  RecordLineReader,
  RecordPattern,
  RecordValidator,
  type StderrLogger,
  toMessage,
} from '../../src';
import { VALIDATION_KEYWORDS } from '../../src/record-scanner';

const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined, error: () => undefined, child: () => quiet } as unknown as StderrLogger;

function readerFor(stream: string, schema: JsonSchema): { pattern: RecordPattern | undefined; reader: RecordLineReader } {
  const pattern = RecordPattern.compile(stream, normalizeSchema(stream, schema, quiet));
  return { pattern, reader: new RecordLineReader((name) => (name === stream ? pattern : undefined)) };
}

/** What the generic path makes of a line: the record, or the error the validator throws. */
function generic(line: string, schema: JsonSchema): { record: Record<string, unknown>; version?: number; timeExtracted?: string; error?: string } {
  const message = toMessage(parseExactJson(line), 1);
  if (message.type !== 'RECORD') throw new Error(`not a RECORD: ${line}`);
  const record = message.record;
  const properties = new Set(Object.keys(schema.properties ?? {}));
  const unknown = Object.keys(record).filter((key) => !properties.has(key));
  let error: string | undefined;
  if (unknown.length > 0) error = `unknown properties ${unknown.join(', ')}`;
  try {
    new RecordValidator('s', schema, quiet).validate(record);
  } catch (cause) {
    if (!(cause instanceof RecordError)) throw cause;
    error ??= cause.message;
  }
  return { record, version: message.version, timeExtracted: message.time_extracted, error };
}

const ORDER_ITEMS: JsonSchema = {
  type: 'object',
  properties: {
    order_id: { type: 'string' },
    order_item_id: { type: 'integer' },
    shipping_limit_date: { type: ['null', 'string'], format: 'date-time' },
    price: { type: 'number' },
    paid: { type: ['boolean', 'null'] },
  },
};

const line = (record: string, tail = ''): string => `{"type":"RECORD","stream":"order_items","record":${record}${tail}}`;

describe('the RECORD pattern', () => {
  const { pattern, reader } = readerFor('order_items', ORDER_ITEMS);

  it('reads a compact record and a spaced one (singer-python) the way JSON.parse does', () => {
    const compact = line('{"order_id":"a1","order_item_id":3,"shipping_limit_date":"2017-09-19 09:45:35","price":58.9,"paid":true}', ',"version":7,"time_extracted":"2018-01-01T00:00:00Z"');
    const spaced = '{"type": "RECORD", "stream": "order_items", "record": {"order_id": "a1", "order_item_id": 3, "shipping_limit_date": null, "price": 1e2, "paid": false}}';
    for (const text of [compact, spaced]) {
      expect(reader.read(text)).toBe(pattern);
      const expected = generic(text, ORDER_ITEMS);
      expect(expected.error).toBeUndefined();
      expect(pattern?.record.toObject()).toEqual(expected.record);
      expect(pattern?.record.version).toBe(expected.version);
      expect(pattern?.record.timeExtracted).toBe(expected.timeExtracted);
    }
  });

  it.each([
    ['a lone surrogate written raw', '{"order_id":"a\ud83d","order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}'],
    ['an escape that is not JSON', '{"order_id":"a\\x41","order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}'],
    ['a property missing', '{"order_id":"a1","order_item_id":3,"price":1,"paid":null}'],
    ['properties out of SCHEMA order', '{"order_item_id":3,"order_id":"a1","shipping_limit_date":null,"price":1,"paid":null}'],
    ['a property the SCHEMA lacks', '{"order_id":"a1","order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null,"x":1}'],
    ['a nested value', '{"order_id":{"a":1},"order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}'],
    ['an integer a double cannot hold', '{"order_id":"a1","order_item_id":9007199254740993,"shipping_limit_date":null,"price":1,"paid":null}'],
    ['16 digits of a decimal', '{"order_id":"a1","order_item_id":3,"shipping_limit_date":null,"price":0.1000000000000001,"paid":null}'],
    ['a three-digit exponent', '{"order_id":"a1","order_item_id":3,"shipping_limit_date":null,"price":1e300,"paid":null}'],
    ['an integer written 3.0', '{"order_id":"a1","order_item_id":3.0,"shipping_limit_date":null,"price":1,"paid":null}'],
    ['a date that is no date', '{"order_id":"a1","order_item_id":3,"shipping_limit_date":"2017-02-30 00:00:00","price":1,"paid":null}'],
    ['a wrong type', '{"order_id":1,"order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}'],
    ['a null where none is allowed', '{"order_id":null,"order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}'],
  ])('leaves %s to the generic path', (_what, record) => {
    expect(reader.read(line(record))).toBeUndefined();
  });

  it.each([
    ['escapes (Python writes every non-ASCII character as one)', '{"order_id":"S\\u00e3o \\"Paulo\\"\\t\\\\","order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}'],
    ['an emoji, written raw and escaped', '{"order_id":"a😀\\ud83d\\ude00","order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}'],
    ['half an emoji, escaped', '{"order_id":"a\\ud83d","order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}'],
  ])('reads %s as JSON.parse decodes them', (_what, record) => {
    const text = line(record);
    expect(reader.read(text)).toBe(pattern);
    expect(pattern?.record.toObject()).toEqual(generic(text, ORDER_ITEMS).record);
  });

  it('leaves other messages and other streams to the generic path', () => {
    expect(reader.read('{"type":"STATE","value":{"a":1}}')).toBeUndefined();
    expect(reader.read('{"type":"RECORD","stream":"other","record":{"order_id":"a1"}}')).toBeUndefined();
    expect(reader.read(`${line('{"order_id":"a1","order_item_id":3,"shipping_limit_date":null,"price":1,"paid":null}')} x`)).toBeUndefined();
  });

  it.each<[string, JsonSchema]>([
    ['an enum', { type: 'string', enum: ['a'] }],
    ['a pattern', { type: 'string', pattern: '^a' }],
    ['an object', { type: 'object', properties: {} }],
    ['a union of two types', { type: ['string', 'integer'] }],
    ['no type at all', {}],
  ])('is not compiled for a property with %s', (_what, property) => {
    expect(RecordPattern.compile('s', normalizeSchema('s', { properties: { a: property } }, quiet))).toBeUndefined();
  });
});

/** A JSON value's text, as some writer spelled it, and sometimes not a value the schema allows. */
const token = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '0', '-0', '7', '-12', '1.5', '19.90', '0.1', '1e5', '2E-3', '1.0', '100', '1e300', '123456789012345', '1234567890123456', '9007199254740993', '0.000001', '3.14159265358979', '0.30000000000000004', '{}', '[1]', '{"a":1}'),
  fc.integer({ min: -1_000_000, max: 1_000_000 }).map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
  fc.constantFrom('"2017-09-19 09:45:35"', '"2017-02-30 00:00:00"', '"2018-01-01T00:00:00Z"', '"2018-01-01"', '"13:45:30+02:00"', '"25:00"', '"12.50"', '"abc"', '""', '"a\\"b"', '"a\\\\b"', '"tab\\there"', '"\\u00e9"', '"é"', '"😀"', '"\\ud83d"'),
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
);

const propertySchema: fc.Arbitrary<JsonSchema> = fc.oneof(
  fc.record({
    type: fc.constantFrom<JsonSchema['type']>('string', ['null', 'string'], ['string', 'null']),
    format: fc.constantFrom(undefined, 'date-time', 'date', 'time', 'email', 'singer.decimal'),
    maxLength: fc.constantFrom(undefined, 0, 3, 20),
    minLength: fc.constantFrom(undefined, 1, 4),
  }, { requiredKeys: ['type'] }),
  fc.record({
    type: fc.constantFrom<JsonSchema['type']>('integer', ['null', 'integer'], 'number', ['null', 'number']),
    minimum: fc.constantFrom(undefined, 0, -5, 1.5),
    maximum: fc.constantFrom(undefined, 100, 1e15, 9223372036854775807),
    exclusiveMaximum: fc.constantFrom(undefined, 1000),
    multipleOf: fc.constantFrom(undefined, 1, 0.01, 0.5, 3),
  }, { requiredKeys: ['type'] }),
  fc.record({ type: fc.constantFrom<JsonSchema['type']>('boolean', ['boolean', 'null']) }),
  fc.record({ anyOf: fc.constant<JsonSchema[]>([{ type: 'integer', minimum: 0 }, { type: 'null' }]) }),
);

const SEPARATORS = [
  [',', ':'],
  [', ', ': '],
] as const;

describe('the RECORD pattern against the generic path', () => {
  it('takes only lines the generic path takes, and reads them the same', () => {
    let matched = 0;
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'), { minLength: 1, maxLength: 5 }),
        fc.array(propertySchema, { minLength: 5, maxLength: 5 }),
        fc.array(token, { minLength: 6, maxLength: 6 }),
        fc.constantFrom(0, 1),
        fc.boolean(),
        fc.constantFrom(undefined, '3', '-1', '1.5'),
        fc.constantFrom(undefined, '"2018-01-01T00:00:00Z"', '""', '5'),
        (names, schemas, values, separators, shuffle, version, timeExtracted) => {
          const schema: JsonSchema = { type: 'object', properties: Object.fromEntries(names.map((name, i) => [name, schemas[i] as JsonSchema])) };
          const [comma, colon] = SEPARATORS[separators] as readonly [string, string];
          const keys = shuffle ? [...names].reverse() : names;
          const record = `{${keys.map((name, i) => `"${name}"${colon}${values[i]}`).join(comma)}}`;
          let text = `{"type"${colon}"RECORD"${comma}"stream"${colon}"s"${comma}"record"${colon}${record}`;
          if (version !== undefined) text += `${comma}"version"${colon}${version}`;
          if (timeExtracted !== undefined) text += `${comma}"time_extracted"${colon}${timeExtracted}`;
          text += '}';
          let expected;
          try {
            expected = generic(text, schema);
          } catch {
            // Not JSON, or not a message: the pattern must not take it either.
            expect(readerFor('s', schema).reader.read(text)).toBeUndefined();
            return;
          }
          const { pattern, reader } = readerFor('s', schema);
          const taken = reader.read(text);
          if (taken === undefined) return;
          matched += 1;
          expect(expected.error).toBeUndefined();
          expect(taken.record.toObject()).toEqual(expected.record);
          expect(taken.record.version).toBe(expected.version);
          expect(taken.record.timeExtracted).toBe(expected.timeExtracted);
          expect(taken).toBe(pattern);
        },
      ),
      { seed: 20261206, numRuns: 1500 },
    );
    // The property is only worth something if the pattern takes lines at all.
    expect(matched).toBeGreaterThan(10);
  });
});

describe("the record pattern's list of validation keywords", () => {
  it('holds every keyword ajv has code for, so a keyword a later ajv adds sends its streams the generic way', () => {
    for (const Ajv of [Ajv2019, Ajv2020]) {
      const ajv = new Ajv({ strict: false, discriminator: true });
      const acting = Object.entries(ajv.RULES.all).flatMap(([keyword, rule]) => {
        if (typeof rule !== 'object') return [];
        // A code, function or macro keyword (the definitions' union has each on one member).
        const { code, validate, compile, macro } = rule.definition as { code?: unknown; validate?: unknown; compile?: unknown; macro?: unknown };
        return code || validate || compile || macro ? [keyword] : [];
      });
      expect(acting.length).toBeGreaterThan(40);
      expect(acting.filter((keyword) => !VALIDATION_KEYWORDS.has(keyword))).toEqual([]);
    }
  });
});
