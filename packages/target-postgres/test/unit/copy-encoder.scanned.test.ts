import { isShortestNumberText, type JsonSchema, normalizeSchema, RecordLineReader, RecordPattern, type StderrLogger } from '@singer-ts/singer';
import fc from 'fast-check';

import { valueTextsFor } from '../../../singer/test/support/value-texts';
import { CopyEncoder, type EncoderColumn, numberText } from '../../src/copy-encoder';
import type { PgType } from '../../src/type-mapping';

const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined, error: () => undefined, child: () => quiet } as unknown as StderrLogger;
const position = { line: 1, record: 1 };

/** Property schemas with the column types a table may give them (its own, or a user's). */
const PROPERTIES: readonly [JsonSchema, PgType[]][] = [
  [{ type: 'string' }, ['text', 'jsonb', 'time', 'numeric', 'bigint', 'boolean']],
  [{ type: ['null', 'string'], format: 'date-time' }, ['timestamptz', 'text']],
  [{ type: 'string', format: 'date' }, ['date']],
  [{ type: 'string', format: 'time' }, ['time', 'text']],
  [{ type: ['null', 'integer'] }, ['bigint', 'numeric', 'text', 'jsonb']],
  [{ type: 'number' }, ['numeric', 'text', 'bigint', 'jsonb']],
  [{ type: ['boolean', 'null'] }, ['boolean', 'text', 'jsonb']],
];

describe('CopyEncoder on scanned records', () => {
  it('writes the same row as for the record as an object', () => {
    let compared = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(...PROPERTIES.keys()).chain((i) => {
            const [schema, types] = PROPERTIES[i] as [JsonSchema, PgType[]];
            return fc.tuple(fc.constant(schema), fc.constantFrom(...types), valueTextsFor(schema), fc.boolean());
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (properties) => {
          const names = properties.map((_, i) => `p${i}`);
          const schema = normalizeSchema('s', { properties: Object.fromEntries(properties.map(([s], i) => [names[i], s])) }, quiet);
          const pattern = RecordPattern.compile('s', schema);
          expect(pattern).toBeDefined();
          const reader = new RecordLineReader(() => pattern);
          const record = properties.map(([, , value], i) => `"${names[i]}":${value}`).join(',');
          const line = `{"type":"RECORD","stream":"s","record":{${record}}}`;
          if (reader.read(line) === undefined) return;
          compared += 1;
          const columns: EncoderColumn[] = properties.map(([, type, , isKey], i) => ({ property: names[i] as string, column: names[i] as string, type, isKey }));
          // Columns in another order than the properties, as a table may have them.
          columns.reverse();
          const encoder = new CopyEncoder(columns, { stream: 's' });
          const scanned = (pattern as RecordPattern).record;
          const outcome = (encode: () => string | undefined): string | undefined => {
            try {
              return encode();
            } catch (error) {
              return `error: ${(error as Error).message}`;
            }
          };
          const expected = outcome(() => encoder.encode(scanned.toObject(), position));
          const got = outcome(() => encoder.encodeScanned(scanned, position));
          // A key that is null: the scanned path hands the record to `encode`, which refuses it.
          if (got === undefined) expect(expected).toMatch(/^error: key property is null/);
          else expect(got).toBe(expected);
        },
      ),
      { seed: 61206, numRuns: 2000 },
    );
    expect(compared).toBeGreaterThan(1000);
  });
});

describe('isShortestNumberText', () => {
  it('is true only for texts that are what String writes for their double', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => JSON.stringify(n)),
          fc.tuple(fc.stringMatching(/^-?(0|[1-9]\d{0,7})$/), fc.stringMatching(/^\d{0,7}$/)).map(([whole, fraction]) => (fraction === '' ? whole : `${whole}.${fraction}`)),
          fc.constantFrom('0.000001', '0.0000001', '-0', '1e5', '19.90', '1.0', '100'),
        ),
        (text) => {
          if (text.replace(/[-.]/g, '').length > 15) return;
          if (isShortestNumberText(text)) expect(numberText(Number(text))).toBe(text);
        },
      ),
      { seed: 61207, numRuns: 20_000 },
    );
    expect(['19.9', '0.000001', '7', '-12.5'].map(isShortestNumberText)).toEqual([true, true, true, true]);
    expect(['19.90', '0.0000001', '-0', '1e5', '1.0'].map(isShortestNumberText)).toEqual([false, false, false, false, false]);
  });
});
