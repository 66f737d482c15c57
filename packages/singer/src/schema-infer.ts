/**
 * JSON Schema inference from sampled CSV rows, for the CSV taps' discovery.
 *
 * Per column, the narrowest type every non-empty sampled value fits:
 * - integer: `-?(0|[1-9][0-9]*)`, any length (beyond 64 bits the target widens to numeric);
 * - number: a JSON number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`);
 * - boolean: `true`/`false` in any case;
 * - date-time: what `isDateTime` accepts, a date alone included; emitted as
 *   `{type: string, format: date-time}`;
 * - string otherwise.
 *
 * Conservative on purpose: a type is inferred only where converting loses nothing a user would
 * miss. So a digit string with a leading zero (`01151`, a zip prefix; `0` itself is fine), a
 * `+` sign, `.5` or `5.` stay strings, and so do `t`/`f`, `yes`/`no` and `1`/`0` (a 0/1 column
 * is an integer). The catalog can always say otherwise; coercion then reads them.
 *
 * A column is nullable (`["null", type]`) where the sample holds an empty field (quoted or not)
 * or where some sampled file lacks the column; a column with no value at all is
 * `["null", "string"]`. Date overrides (tap-s3-csv's `date_overrides`) force
 * `{type: ["null", "string"], format: "date-time"}`.
 */
import { isDateTime } from './datetime';
import type { JsonSchema } from './messages';

export interface InferOptions {
  /** Columns typed as nullable date-time whatever their values. */
  dateOverrides?: readonly string[];
}

const INTEGER = 1;
const NUMBER = 2;
const BOOLEAN = 4;
const DATE_TIME = 8;
const ALL = INTEGER | NUMBER | BOOLEAN | DATE_TIME;

interface Column {
  /** Types every value seen so far fits, as bits. */
  candidates: number;
  nullable: boolean;
  hasValue: boolean;
}

/**
 * Infers a schema incrementally, so discovery can sample several files without holding them:
 * `addHeader()` at the start of each file, `addRow()` per sampled row, `schema()` at the end.
 */
export class SchemaInferrer {
  private readonly columns = new Map<string, Column>();
  private current: Column[] = [];
  private files = 0;
  private readonly dateOverrides: ReadonlySet<string>;

  constructor(options: InferOptions = {}) {
    this.dateOverrides = new Set(options.dateOverrides ?? []);
  }

  /** Starts a file. Columns missing from some files are nullable (their rows get nulls). */
  addHeader(header: readonly string[]): void {
    const present = new Set(header);
    for (const [name, column] of this.columns) if (!present.has(name)) column.nullable = true;
    this.current = header.map((name) => {
      let column = this.columns.get(name);
      if (column === undefined) {
        column = { candidates: ALL, nullable: this.files > 0, hasValue: false };
        this.columns.set(name, column);
      }
      return column;
    });
    this.files += 1;
  }

  /** Observes one row of the current file, fields in header order. */
  addRow(fields: readonly (string | null)[]): void {
    const columns = this.current;
    for (let i = 0; i < columns.length; i += 1) {
      const column = columns[i] as Column;
      const text = fields[i];
      if (text === null || text === undefined || text === '') {
        column.nullable = true;
        continue;
      }
      column.hasValue = true;
      if (column.candidates !== 0) column.candidates &= typesOf(text, column.candidates);
    }
  }

  /** The schema's `properties`, in the order columns were first seen. */
  properties(): Record<string, JsonSchema> {
    const properties: Record<string, JsonSchema> = {};
    for (const [name, column] of this.columns) {
      properties[name] = this.dateOverrides.has(name)
        ? { type: ['null', 'string'], format: 'date-time' }
        : columnSchema(column);
    }
    return properties;
  }

  /** An object schema of the columns seen. */
  schema(): JsonSchema {
    return { type: 'object', properties: this.properties() };
  }
}

/** Infers the schema of one header and its sampled rows. */
export function inferSchema(
  header: readonly string[],
  rows: Iterable<readonly (string | null)[]>,
  options: InferOptions = {},
): JsonSchema {
  const inferrer = new SchemaInferrer(options);
  inferrer.addHeader(header);
  for (const row of rows) inferrer.addRow(row);
  return inferrer.schema();
}

function columnSchema(column: Column): JsonSchema {
  const { candidates } = column;
  let type = 'string';
  let format: string | undefined;
  if (!column.hasValue) type = 'string';
  else if (candidates & INTEGER) type = 'integer';
  else if (candidates & NUMBER) type = 'number';
  else if (candidates & BOOLEAN) type = 'boolean';
  else if (candidates & DATE_TIME) format = 'date-time';
  const schema: JsonSchema = { type: column.nullable || !column.hasValue ? ['null', type] : type };
  if (format !== undefined) schema.format = format;
  return schema;
}

/** Which of the `candidates` types `text` (not empty) fits. */
function typesOf(text: string, candidates: number): number {
  let fits = 0;
  if (candidates & (INTEGER | NUMBER)) fits |= numberTypes(text);
  if (candidates & BOOLEAN && isBooleanText(text)) fits |= BOOLEAN;
  if (candidates & DATE_TIME && isDateTime(text)) fits |= DATE_TIME;
  return fits;
}

const JSON_INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const JSON_NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

function numberTypes(text: string): number {
  if (JSON_INTEGER.test(text)) return INTEGER | NUMBER;
  return JSON_NUMBER.test(text) ? NUMBER : 0;
}

function isBooleanText(text: string): boolean {
  if (text.length !== 4 && text.length !== 5) return false;
  const lower = text.toLowerCase();
  return lower === 'true' || lower === 'false';
}
