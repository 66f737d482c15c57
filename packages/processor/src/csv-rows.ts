/**
 * A stream's CSV rows under one SCHEMA: each output column's field, from a record object (the
 * generic path) or from a record the SDK matched as text (`ScannedRecord`), with the same row
 * either way.
 */
import { isShortestNumberText, type JsonSchema, type ScannedRecord, TOKEN_INTEGER, TOKEN_NUMBER, TOKEN_STRING } from '@singer-ts/singer';

import { type CsvValueEncoder, csvValueEncoder, encodeCsvValue, numberText, scannedTextKind } from './csv-encoding';
import type { CompiledRules, Rule, RuleContext } from './rules';

// Read once: an imported binding is a property read through the package's exports on every use.
const STRING = TOKEN_STRING;
const INTEGER = TOKEN_INTEGER;
const NUMBER = TOKEN_NUMBER;
const shortestNumberText = isShortestNumberText;

/** How one output column is filled from a record: compiled once per SCHEMA. */
interface ColumnPlan {
  readonly column: string;
  /** The column's CSV field from its value in the record (rules applied). */
  readonly field: CsvValueEncoder;
  /**
   * For a column written as its value (no rule) of one JSON type: the scanned token kind whose
   * text may be written without reading its value (`scannedTextKind`), else 0.
   */
  readonly text: number;
}

/** A column of an earlier SCHEMA that the current one lacks: null from now on. */
const ABSENT: CsvValueEncoder = () => '';

/** The field of one column: its rules, then the encoder for the type they give. */
function columnField(rule: Rule | undefined, ctx: RuleContext | undefined, schema: JsonSchema | undefined): CsvValueEncoder {
  // Rules may give another type than the schema's (`integer` of a string column).
  if (rule !== undefined) return (value) => encodeCsvValue(rule(value, ctx!));
  return csvValueEncoder(schema);
}

/** See the module comment. Rows come without their line end. */
export class CsvRowEncoder {
  readonly #plan: readonly ColumnPlan[];
  /** Per plan column, its property's index in scanned records of `#scannedProperties`. */
  #scannedIndexes: number[] = [];
  #scannedProperties: readonly string[] | undefined;

  /**
   * `header`: every column of the object, in order (a column the current SCHEMA lacks is null);
   * `compiled`: the stream's rules for the current SCHEMA; `properties`: its properties.
   */
  constructor(header: readonly string[], compiled: CompiledRules, properties: Readonly<Record<string, JsonSchema>>) {
    const current = new Set(compiled.columns);
    this.#plan = header.map((column) => {
      if (!current.has(column)) return { column, field: ABSENT, text: 0 };
      const rule = compiled.transforms.get(column);
      return {
        column,
        field: columnField(rule, compiled.contexts.get(column), properties[column]),
        text: rule === undefined ? scannedTextKind(properties[column]) : 0,
      };
    });
  }

  /** The row of a record object. */
  fromRecord(record: Record<string, unknown>): string {
    const plan = this.#plan;
    let line = plan.length > 0 ? plan[0]!.field(record[plan[0]!.column]) : '';
    for (let i = 1; i < plan.length; i += 1) {
      const column = plan[i]!;
      line += `,${column.field(record[column.column])}`;
    }
    return line;
  }

  /** The row of a record matched as text: texts written as they are where they are already the field. */
  fromScanned(record: ScannedRecord): string {
    if (record.properties !== this.#scannedProperties) {
      const index = new Map(record.properties.map((name, i) => [name, i]));
      this.#scannedIndexes = this.#plan.map((column) => index.get(column.column) ?? -1);
      this.#scannedProperties = record.properties;
    }
    const plan = this.#plan;
    const indexes = this.#scannedIndexes;
    const { captures, kinds, escaped } = record;
    let line = '';
    for (let i = 0; i < plan.length; i += 1) {
      const column = plan[i]!;
      const index = indexes[i]!;
      const text = index === -1 ? undefined : captures[index + 1];
      let field: string;
      if (text !== undefined && column.text === STRING && kinds[index] === STRING && escaped[index] === 0) {
        // A JSON string without escapes holds no quote and no line break: only a comma needs quotes.
        field = text === '' ? '""' : text.indexOf(',') === -1 ? text : `"${text}"`;
      } else if (text !== undefined && column.text === NUMBER && (kinds[index] === NUMBER || kinds[index] === INTEGER)) {
        // Written as `String` writes its double: the text itself when it is already that.
        field = shortestNumberText(text) ? text : numberText(Number(text));
      } else {
        field = column.field(index === -1 ? undefined : record.value(index));
      }
      line = i === 0 ? field : `${line},${field}`;
    }
    return line;
  }
}
