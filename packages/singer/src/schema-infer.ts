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
 * Every column is nullable (`["null", type]`) unless it is a key property: a sample shows what
 * types values have, not that a column is never empty (a file whose first thousand rows all
 * have a value may still have an empty one on row 1,540). Key columns are never nullable, as a
 * key needs a value; a sampled empty key is left for the sync to report where it is. A column
 * with no value in the sample is a string. Date overrides (tap-s3-csv's `date_overrides`) force
 * `{type: ["null", "string"], format: "date-time"}` (without the null for a key column).
 */
import { isDateTime } from './datetime';
import type { JsonSchema } from './messages';

export interface InferOptions {
  /** Columns typed as date-time whatever their values. */
  dateOverrides?: readonly string[];
  /** Key columns: the only ones inferred as not nullable. */
  keyProperties?: readonly string[];
}

const INTEGER = 1;
const NUMBER = 2;
const BOOLEAN = 4;
const DATE_TIME = 8;
const ALL = INTEGER | NUMBER | BOOLEAN | DATE_TIME;

interface Column {
  /** Types every value seen so far fits, as bits. */
  candidates: number;
  hasValue: boolean;
}

/**
 * Infers a schema incrementally, so discovery can sample several files without holding them:
 * `addHeader()` at the start of each file, `addRow()` per sampled row, `schema()` at the end.
 */
export class SchemaInferrer {
  private readonly columns = new Map<string, Column>();
  private current: Column[] = [];
  private readonly dateOverrides: ReadonlySet<string>;
  private readonly keyProperties: ReadonlySet<string>;

  constructor(options: InferOptions = {}) {
    this.dateOverrides = new Set(options.dateOverrides ?? []);
    this.keyProperties = new Set(options.keyProperties ?? []);
  }

  /** Starts a file. The schema has the union of every file's columns. */
  addHeader(header: readonly string[]): void {
    this.current = header.map((name) => {
      let column = this.columns.get(name);
      if (column === undefined) {
        column = { candidates: ALL, hasValue: false };
        this.columns.set(name, column);
      }
      return column;
    });
  }

  /** Observes one row of the current file, fields in header order. */
  addRow(fields: readonly (string | null)[]): void {
    const columns = this.current;
    for (let i = 0; i < columns.length; i += 1) {
      const column = columns[i] as Column;
      const text = fields[i];
      if (text === null || text === undefined || text === '') continue;
      column.hasValue = true;
      if (column.candidates !== 0) column.candidates &= typesOf(text, column.candidates);
    }
  }

  /** The schema's `properties`, in the order columns were first seen. */
  properties(): Record<string, JsonSchema> {
    const properties: Record<string, JsonSchema> = {};
    for (const [name, column] of this.columns) {
      const schema: JsonSchema = this.dateOverrides.has(name)
        ? { type: 'string', format: 'date-time' }
        : columnSchema(column);
      if (!this.keyProperties.has(name)) schema.type = ['null', schema.type as string];
      properties[name] = schema;
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

/** The column's type; nullable or not is the caller's. */
function columnSchema(column: Column): JsonSchema {
  const { candidates } = column;
  if (!column.hasValue) return { type: 'string' };
  if (candidates & INTEGER) return { type: 'integer' };
  if (candidates & NUMBER) return { type: 'number' };
  if (candidates & BOOLEAN) return { type: 'boolean' };
  if (candidates & DATE_TIME) return { type: 'string', format: 'date-time' };
  return { type: 'string' };
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
