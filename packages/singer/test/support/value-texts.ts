/**
 * JSON value texts as taps spell them, per property schema, for property tests that compare a
 * sink's rows from scanned records (the record pattern's captures) with its rows from record
 * objects: escapes, Python's `\u` spelling, emoji, lone surrogates, NUL, trailing zeros,
 * exponents, `-0`, numbers around where `String` switches to exponents, and nulls. Some texts
 * are not of the schema's type: such lines take the generic path, and the tests skip them.
 */
import fc from 'fast-check';

import type { JsonSchema } from '../../src';

const VALUE_TEXTS: Record<string, fc.Arbitrary<string>> = {
  string: fc.oneof(
    fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
    fc.constantFrom('""', '"a,b"', '"say \\"hi\\""', '"two\\nlines"', '"cr\\r"', '"x\\ty"', '"S\\u00e3o, SP"', '"a\\\\b"', '"\\ud83d"', '"😀"', '"x\\u0000y"'),
    fc.constantFrom('"13:45:30+02:00"', '"24:00:00Z"', '"12.50"', '"42"', '"t"', 'null'),
  ),
  'date-time': fc.constantFrom('"2017-09-19 09:45:35"', '"2018-01-01T00:00:00+02:00"', '"2018-01-01T00:00:00.123456Z"', 'null'),
  date: fc.constantFrom('"2018-01-01"', '"1999-12-31"'),
  time: fc.constantFrom('"13:45:30+02:00"', '"00:00"', '"23:59:59.5Z"'),
  integer: fc.oneof(fc.constantFrom('0', '-0', 'null', '123456789012345'), fc.integer().map(String)),
  number: fc.oneof(
    fc.constantFrom('0', '-0', '19.90', '1e5', '2E-3', '0.0000001', '0.000001', '100', '-7.25', '1.0', 'null'),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
    fc.integer({ min: -99_999_999, max: 99_999_999 }).map((cents) => (cents / 100).toFixed(2)),
  ),
  boolean: fc.constantFrom('true', 'false', 'null'),
};

/** Value texts for a property of this schema (its one non-null type, or its string format). */
export function valueTextsFor(schema: JsonSchema): fc.Arbitrary<string> {
  const type = [schema.type].flat().find((t) => t !== 'null') as string;
  const texts = type === 'string' && typeof schema.format === 'string' ? VALUE_TEXTS[schema.format] : VALUE_TEXTS[type];
  if (texts === undefined) throw new Error(`no value texts for ${JSON.stringify(schema)}`);
  return texts;
}
