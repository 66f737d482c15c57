import { type JsonSchema, normalizeSchema, RecordLineReader, RecordPattern, type StderrLogger } from '@singer-ts/singer';
import fc from 'fast-check';

import { valueTextsFor } from '../../../singer/test/support/value-texts';
import { CsvRowEncoder } from '../../src/csv-rows';
import { compileStreamRules, parseRules } from '../../src/rules';

const quiet = { warn: () => undefined, info: () => undefined, debug: () => undefined, error: () => undefined, child: () => quiet } as unknown as StderrLogger;

/** Property schemas, each with the rule chains a config may give its column (none first). */
const PROPERTIES: readonly [JsonSchema, unknown[][]][] = [
  [{ type: 'string' }, [[], ['uppercase'], ['titlecase']]],
  [{ type: ['null', 'string'] }, [[], [{ fill_null: 'n/a' }]]],
  [{ type: ['null', 'string'], format: 'date-time' }, [[], ['timestamp']]],
  [{ type: ['null', 'integer'] }, [[], [{ fill_null: -1 }, 'integer']]],
  [{ type: 'number' }, [[]]],
  [{ type: ['null', 'number'] }, [[], [{ fill_null: -1 }]]],
  [{ type: ['boolean', 'null'] }, [[]]],
];

describe('CsvRowEncoder', () => {
  it('writes the same row for a record matched as text as for the record as an object', () => {
    let compared = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(...PROPERTIES.keys()).chain((i) => {
            const [schema, rules] = PROPERTIES[i] as [JsonSchema, unknown[][]];
            return fc.tuple(fc.constant(schema), fc.constantFrom(...rules), valueTextsFor(schema), fc.constantFrom('', ' '));
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.boolean(),
        (properties, earlierColumn) => {
          const names = properties.map((_, i) => `p${i}`);
          const schema = normalizeSchema('s', { properties: Object.fromEntries(properties.map(([s], i) => [names[i], s])) }, quiet);
          const pattern = RecordPattern.compile('s', schema) as RecordPattern;
          expect(pattern).toBeDefined();
          const reader = new RecordLineReader(() => pattern);
          // Compact, or with Python's spaces after `:` and `,`.
          const record = properties.map(([, , value, space], i) => `"${names[i]}":${space}${value}`).join(`,${properties[0]![3]}`);
          const line = `{"type":"RECORD","stream":"s","record":{${record}}}`;
          if (reader.read(line) === undefined) return;
          compared += 1;
          const { rules, problems } = parseRules({ s: Object.fromEntries(properties.flatMap(([, chain], i) => (chain.length > 0 ? [[names[i], chain]] : []))) }, {});
          expect(problems).toEqual([]);
          const compiled = compileStreamRules('s', names, rules, {});
          // The object's columns in another order than the properties, one of them from an earlier SCHEMA.
          const header = [...(earlierColumn ? ['earlier'] : []), ...names].reverse();
          const encoder = new CsvRowEncoder(header, compiled, schema.properties ?? {});
          const outcome = (encode: () => string): string => {
            try {
              return encode();
            } catch (error) {
              return `error: ${(error as Error).message}`;
            }
          };
          expect(outcome(() => encoder.fromScanned(pattern.record))).toBe(outcome(() => encoder.fromRecord(pattern.record.toObject())));
        },
      ),
      { seed: 61208, numRuns: 3000 },
    );
    expect(compared).toBeGreaterThan(1500);
  });

  it('quotes a scanned text only for a comma, the only character of a CSV field a JSON string without escapes can hold raw', () => {
    const schema = normalizeSchema('s', { properties: { a: { type: 'string' }, b: { type: 'number' } } }, quiet);
    const pattern = RecordPattern.compile('s', schema) as RecordPattern;
    const encoder = new CsvRowEncoder(['a', 'b'], compileStreamRules('s', ['a', 'b'], {}, {}), schema.properties ?? {});
    const row = (a: string, b: string): string => {
      expect(pattern.match(`{"type":"RECORD","stream":"s","record":{"a":${a},"b":${b}}}`)).toBe(true);
      return encoder.fromScanned(pattern.record);
    };
    expect(row('"x,y"', '19.90')).toBe('"x,y",19.9');
    expect(row('""', '-0')).toBe('"",0');
    expect(row('"say \\"hi\\""', '1e5')).toBe('"say ""hi""",100000');
    expect(row('"plain"', '0.0000001')).toBe('plain,1e-7');
  });
});
