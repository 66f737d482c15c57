/**
 * The compiled JSON encoder (`compileCsvRecordEncoder`) against the plain path it replaces on
 * the tap's hot path (`compileCsvConverter` + `stringifyExactJson`): for any schema, header and
 * row, the same error, or text that reads back as the same record, numbers exact.
 */
import fc from 'fast-check';
import { isLosslessNumber, LosslessNumber, parse } from 'lossless-json';

import { compileCsvConverter, compileCsvRecordEncoder } from '../../src/coerce';
import { RecordError } from '../../src/errors';
import { parseExactJson, stringifyExactJson } from '../../src/exact-json';
import type { JsonSchema } from '../../src/messages';

const SCHEMAS: JsonSchema[] = [
  { type: 'string' },
  { type: ['null', 'string'] },
  { type: 'integer' },
  { type: ['null', 'integer'] },
  { type: 'number' },
  { type: ['null', 'number'] },
  { type: ['null', 'string'], format: 'date-time' },
  { type: 'string', format: 'date' },
  { type: ['null', 'string'], format: 'time' },
  { type: 'string', format: 'email' },
  { type: 'boolean' },
  { type: ['null', 'boolean', 'string'] },
  { type: ['null', 'integer', 'number'] },
  { type: ['null', 'object'] },
  { type: 'array' },
  {},
  { anyOf: [{ type: 'integer' }, { type: 'null' }] },
];

/** Texts at the edges of every kind: spellings JSON does not share, exact numbers, escapes. */
const EDGES = [
  '', '0', '-0', '+7', '007', '-007', '1.0', '.5', '5.', '-.5', '58.90', '0.00', '-0.0', '0e5', '1e400', '1E-400',
  '-1e-7', '1e+5', '1e05', '123456789012345678901234567890', '-9007199254740993', '9007199254740991',
  '0.1000000000000000001', '0.000000000000001', '1.5e', '1..5', '--1', '-', 'NaN', 'Infinity', '-inf', 'true', 'FALSE',
  'yes', 't', '0x10', ' 1', '1 ', '2017-09-19 09:45:35', '2017-09-19T09:45:35.123+02:00', '2017-02-30', '2020-02-29',
  '24:00', '24:00:01', '12:30:00+02', '12:30', '{"a":1}', '[1,2]', '{"big":12345678901234567890}', '[1e400]', 'null',
  'a"b', 'a\\b', '\u0001', '\n', '\u001f', '\u007f', '\ud800', '\udc00x', '😀', 'é', '\u2028',
];

const decimalText = fc
  .tuple(
    fc.constantFrom('', '-', '+'),
    fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 25 }),
    fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 25 })),
    fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 500 }))),
  )
  .map(([sign, whole, fraction, exponent]) =>
    `${sign}${whole}${fraction === null ? '' : `.${fraction}`}${exponent === null ? '' : `${exponent[0]}${exponent[1]}${exponent[2]}`}`,
  );

const fieldText: fc.Arbitrary<string | null> = fc.oneof(
  fc.constant(null),
  fc.constantFrom(...EDGES),
  decimalText,
  fc.double().map(String),
  fc.bigInt().map(String),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ maxLength: 40 }),
);

/** A number's exact value as `digits e exponent`, so a double and a LosslessNumber can be compared. */
function exactNumber(text: string): string {
  const match = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) throw new Error(`not a number: ${text}`);
  const [, sign = '', whole = '', fraction = '', exponent = '0'] = match;
  let digits = `${whole}${fraction}`.replace(/^0+/, '');
  let power = Number(exponent) - fraction.length;
  if (digits === '') return '0';
  while (digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    power += 1;
  }
  return `${sign}${digits}e${power}`;
}

/** The value with every number replaced by its exact value, the form both paths must agree on. */
function exact(value: unknown): unknown {
  if (typeof value === 'number') return { number: exactNumber(String(value)) };
  if (isLosslessNumber(value)) return { number: exactNumber((value as LosslessNumber).value) };
  if (Array.isArray(value)) return value.map(exact);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, exact(item)]));
  }
  return value;
}

/** Whatever the plain path does with a row: its record, or its error. */
function outcome(run: () => unknown): { value: unknown } | { error: Record<string, unknown> } {
  try {
    return { value: run() };
  } catch (error) {
    if (!(error instanceof RecordError)) throw error;
    return { error: { code: error.code, column: error.column, value: error.value, message: error.message } };
  }
}

const columnName = fc.string({ minLength: 1, maxLength: 8 }).filter((name) => name !== '__proto__');

describe('compileCsvRecordEncoder', () => {
  it('writes what the converter builds, or fails as it fails (property, fixed seed)', () => {
    const table = fc
      .uniqueArray(fc.tuple(columnName, fc.constantFrom(...SCHEMAS), fc.boolean()), {
        selector: ([name]) => name,
        minLength: 0,
        maxLength: 7,
      })
      .chain((columns) =>
        fc.record({
          columns: fc.constant(columns),
          extra: fc.boolean(),
          order: fc.shuffledSubarray(columns.map(([name]) => name), { minLength: columns.length }),
          rows: fc.array(fc.array(fieldText, { minLength: columns.length + 1, maxLength: columns.length + 1 }), {
            minLength: 1,
            maxLength: 4,
          }),
        }),
      );
    fc.assert(
      fc.property(table, ({ columns, extra, order, rows }) => {
        const properties: Record<string, JsonSchema> = {};
        for (const [name, schema] of columns) properties[name] = schema;
        // Columns marked false are left out of the header: null in every row, or an error at once.
        const present = new Set(columns.filter(([, , inHeader]) => inHeader).map(([name]) => name));
        const header = order.filter((name) => present.has(name));
        if (extra) header.push('\u0000not in the schema');
        const compiled = outcome(() => compileCsvConverter(properties, header));
        const encoderCompiled = outcome(() => compileCsvRecordEncoder(properties, header, { head: '{', tail: '}' }));
        if ('error' in compiled) {
          expect(encoderCompiled).toEqual(compiled);
          return;
        }
        const convert = compiled.value as ReturnType<typeof compileCsvConverter>;
        const encode = (encoderCompiled as { value: ReturnType<typeof compileCsvRecordEncoder> }).value;
        for (const row of rows) {
          const fields = row.slice(0, header.length);
          const expected = outcome(() => convert(fields));
          const got = outcome(() => encode(fields));
          if ('error' in expected) {
            expect(got).toEqual(expected);
            continue;
          }
          const text = (got as { value: string }).value;
          // Every number read as its text, so nothing is rounded on either side.
          const read = parse(text, null, (digits) => new LosslessNumber(digits));
          expect(exact(read)).toEqual(exact(expected.value));
          // And what a target reads from it is what it read from the plain path's text.
          expect(exact(parseExactJson(text))).toEqual(exact(parseExactJson(stringifyExactJson(expected.value))));
        }
      }),
      { seed: 20240607, numRuns: 2000 },
    );
  });

  it('writes JSON text as it stands: strings and numbers in JSON spelling unchanged, others as the value', () => {
    const encode = compileCsvRecordEncoder(
      {
        id: { type: 'string' },
        n: { type: ['null', 'integer'] },
        price: { type: ['null', 'number'] },
        at: { type: ['null', 'string'], format: 'date-time' },
        note: { type: ['null', 'string'] },
      },
      ['id', 'n', 'price', 'at', 'note'],
      { head: '{', tail: ',"_line":' },
    );
    expect(encode(['a1', '12345678901234567890', '58.90', '2017-09-19 09:45:35', 'say "hi"'])).toBe(
      '{"id":"a1","n":12345678901234567890,"price":58.90,"at":"2017-09-19 09:45:35","note":"say \\"hi\\"","_line":',
    );
    expect(encode(['', '+007', '-0.0', null, null])).toBe('{"id":"","n":7,"price":0,"at":null,"note":null,"_line":');
  });

  it('names the column of a bad value, as the converter does', () => {
    const encode = compileCsvRecordEncoder({ qty: { type: 'integer' } }, ['qty']);
    expect(() => encode(['1.5'])).toThrow(expect.objectContaining({ code: 'VALUE_NOT_INTEGER', column: 'qty' }));
  });
});
