/**
 * CSV text to typed values, per JSON Schema, compiled once per stream and file.
 *
 * Values (see CONTRACT, tap-minio-csv):
 * - integer: an integer literal (`-12`, `+7`, `007`); `1.0`, `1e3` and spaces are errors, never
 *   rounded or trimmed. Beyond ±(2^53-1) the value becomes a `LosslessNumber`, exact.
 * - number: a decimal literal with optional exponent (`1.5`, `.5`, `-2e-3`). A value a double
 *   cannot give back exactly (more than 15 significant digits, or out of the double's normal
 *   range, like `1e400` or `1e-400`) becomes a `LosslessNumber`: PostgreSQL's numeric holds it,
 *   so it is kept rather than refused. `NaN` and `Infinity` are errors: JSON has no such numbers.
 * - boolean: `true`/`false` in any case. When the column allows no string, PostgreSQL's other
 *   spellings count too (`t`/`f`, `yes`/`no`, `y`/`n`, `on`/`off`, `1`/`0`), as `COPY` reads
 *   them into a boolean column; in a union with string they stay strings.
 * - date-time, date, time (string formats): checked with `datetime.ts` and emitted unchanged,
 *   so no zone is ever shifted.
 * - object, array: the text parsed as JSON, numbers exact.
 * - string (any other format): unchanged.
 * - A union (`type` list or `anyOf`) tries its types narrowest first: integer, number, boolean,
 *   date, time, date-time, object, array, string.
 *
 * Nulls: an unquoted empty field (null) is null; a quoted empty field (`""`) is the empty string
 * in a column that allows plain strings and null otherwise (CONTRACT's deliberate difference
 * from COPY). Where the schema does not allow null, either is an error (`VALUE_NOT_NULLABLE`):
 * the tap is strict, like every other value that does not fit the catalog, because the target
 * would refuse the record anyway and only here can the error name file, line and column.
 */
import { isLosslessNumber, LosslessNumber } from 'lossless-json';

import { isDate, isDateTime, isTime } from './datetime';
import { type ErrorCode, RecordError } from './errors';
import { parseExactJson, stringifyExactJson } from './exact-json';
import type { JsonSchema } from './messages';

/** Converts one CSV field (`null` when unquoted empty); throws `RecordError` with the column. */
export type ValueCoercer = (text: string | null) => unknown;

/** Converts one CSV row (fields in header order) to a record of the schema's properties. */
export type CsvConverter = (fields: readonly (string | null)[]) => Record<string, unknown>;

/**
 * Compiles a converter from a stream's schema `properties` and one file's header.
 *
 * - Properties are emitted in schema order. Header columns the schema lacks are dropped
 *   (deselected in the catalog).
 * - A property missing from the header is null in every row (objects of one table may differ in
 *   columns). If its schema does not allow null, this throws `VALUE_NOT_NULLABLE` at once,
 *   naming the column: better one clear error per file than one per row.
 * - Leave out of `properties` what the caller fills itself (`_sdc_source_file`, …).
 *
 * Errors carry `column` and `value`; the caller adds `file`, `stream` and `line` with `locate()`.
 */
export function compileCsvConverter(
  properties: Readonly<Record<string, JsonSchema>>,
  header: readonly string[],
): CsvConverter {
  const positions = new Map<string, number>();
  header.forEach((name, index) => positions.set(name, index));
  const names: string[] = [];
  const sources: number[] = [];
  const coercers: ValueCoercer[] = [];
  for (const [name, schema] of Object.entries(properties)) {
    const source = positions.get(name) ?? -1;
    const coercer = compileCoercer(schema, name);
    if (source === -1) {
      // The same rule as for a null field: fails now if the column may not be null.
      coercer(null);
    }
    names.push(name);
    sources.push(source);
    coercers.push(coercer);
  }
  const count = names.length;
  return (fields) => {
    // Same keys, same order, every time: V8 gives every record one hidden class.
    const record: Record<string, unknown> = {};
    for (let i = 0; i < count; i += 1) {
      const source = sources[i] as number;
      const coerce = coercers[i] as ValueCoercer;
      record[names[i] as string] = source === -1 ? null : coerce(fields[source] ?? null);
    }
    return record;
  };
}

/** How to read text as one JSON Schema type; `undefined` means "not this type". */
interface Kind {
  readonly name: string;
  readonly code: ErrorCode;
  readonly description: string;
  readonly rank: number;
  read(text: string): unknown;
}

const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;

/** The smallest positive normal double: below it a double holds fewer than 15 digits. */
const MIN_NORMAL = 2.2250738585072014e-308;

/** An integer literal, or undefined. */
export function readInteger(text: string): number | LosslessNumber | undefined {
  const length = text.length;
  const first = text.charCodeAt(0);
  const start = first === PLUS || first === MINUS ? 1 : 0;
  if (start === length) return undefined;
  for (let i = start; i < length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) return undefined;
  }
  const value = Number(text);
  // Up to 15 digits is always exact, beyond that check: 2^53 itself is already ambiguous.
  if (length - start <= 15 || Number.isSafeInteger(value)) return value === 0 ? 0 : value;
  return new LosslessNumber(jsonInteger(text, start));
}

/** `+007` → `7`, `-0012` → `-12`: the JSON spelling LosslessNumber requires. */
function jsonInteger(text: string, start: number): string {
  let i = start;
  while (i < text.length - 1 && text.charCodeAt(i) === ZERO) i += 1;
  const digits = text.slice(i);
  return text.charCodeAt(0) === MINUS && digits !== '0' ? `-${digits}` : digits;
}

/** A decimal literal with optional exponent, or undefined. */
export function readNumber(text: string): number | LosslessNumber | undefined {
  const length = text.length;
  let i = 0;
  const first = text.charCodeAt(0);
  if (first === PLUS || first === MINUS) i = 1;
  let significant = 0;
  let digits = 0;
  const intStart = i;
  for (let c = text.charCodeAt(i); c >= ZERO && c <= NINE; c = text.charCodeAt(++i)) {
    digits += 1;
    if (significant > 0 || c !== ZERO) significant += 1;
  }
  const intEnd = i;
  let fracStart = -1;
  if (text.charCodeAt(i) === DOT) {
    i += 1;
    fracStart = i;
    for (let c = text.charCodeAt(i); c >= ZERO && c <= NINE; c = text.charCodeAt(++i)) {
      digits += 1;
      if (significant > 0 || c !== ZERO) significant += 1;
    }
  }
  if (digits === 0) return undefined;
  const mantissaEnd = i;
  if (exponentEnd(text, i) !== length) return undefined;
  const value = Number(text);
  if (value === 0) {
    if (significant === 0) return 0;
  } else if (significant <= 15 && Number.isFinite(value) && Math.abs(value) >= MIN_NORMAL) {
    return value;
  }
  // JSON's spelling: no `+`, no leading zeros, digits on both sides of the point.
  let json = first === MINUS ? '-' : '';
  let int = text.slice(intStart, intEnd);
  let lead = 0;
  while (lead < int.length - 1 && int.charCodeAt(lead) === ZERO) lead += 1;
  int = int.slice(lead);
  json += int === '' ? '0' : int;
  if (fracStart !== -1 && mantissaEnd > fracStart) json += `.${text.slice(fracStart, mantissaEnd)}`;
  json += text.slice(mantissaEnd);
  return new LosslessNumber(json);
}

/** Text PostgreSQL's boolean input reads, beyond `true`/`false`. */
const POSTGRES_BOOLEANS: ReadonlyMap<string, boolean> = new Map([
  ['t', true],
  ['f', false],
  ['yes', true],
  ['no', false],
  ['y', true],
  ['n', false],
  ['on', true],
  ['off', false],
  ['1', true],
  ['0', false],
]);

/** `true`/`false` in any case, or undefined. */
export function readBoolean(text: string): boolean | undefined {
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text.length !== 4 && text.length !== 5) return undefined;
  const lower = text.toLowerCase();
  return lower === 'true' ? true : lower === 'false' ? false : undefined;
}

function readPostgresBoolean(text: string): boolean | undefined {
  const strict = readBoolean(text);
  if (strict !== undefined || text.length > 3) return strict;
  return POSTGRES_BOOLEANS.get(text.toLowerCase());
}

function readJson(text: string, isWanted: (value: unknown) => boolean): unknown {
  try {
    const value = parseExactJson(text);
    return isWanted(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function kind(name: string, code: ErrorCode, description: string, rank: number, read: Kind['read']): Kind {
  return { name, code, description, rank, read };
}

const isObject = (value: unknown): boolean =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
const readObject = (text: string): unknown => readJson(text, isObject);
const readArray = (text: string): unknown => readJson(text, Array.isArray);
const unless = (check: (text: string) => boolean) => (text: string) => (check(text) ? text : undefined);

/** Every kind, ranked narrowest first: the order a union tries them in. */
const KINDS = {
  integer: kind('integer', 'VALUE_NOT_INTEGER', 'an integer', 0, readInteger),
  number: kind('number', 'VALUE_NOT_NUMBER', 'a number', 1, readNumber),
  boolean: kind('boolean', 'VALUE_NOT_BOOLEAN', 'a boolean (true or false)', 2, readBoolean),
  date: kind('date', 'VALUE_NOT_DATE', 'a date (YYYY-MM-DD)', 3, unless(isDate)),
  time: kind('time', 'VALUE_NOT_TIME', 'a time (HH:MM:SS)', 4, unless(isTime)),
  'date-time': kind('date-time', 'VALUE_NOT_DATETIME', 'a date-time (ISO 8601)', 5, unless(isDateTime)),
  object: kind('object', 'VALUE_NOT_OBJECT', 'a JSON object', 6, readObject),
  array: kind('array', 'VALUE_NOT_ARRAY', 'a JSON array', 7, readArray),
  string: kind('string', 'RECORD_INVALID', 'a string', 8, (text) => text),
} satisfies Record<string, Kind>;

/** Adds the kinds a (sub)schema allows to `kinds`; returns whether it allows null. */
function collectKinds(schema: JsonSchema, kinds: Map<string, Kind>): boolean {
  let nullable = false;
  const branches = [...asSchemas(schema.anyOf), ...asSchemas(schema.oneOf)];
  for (const branch of branches) if (collectKinds(branch, kinds)) nullable = true;
  let types: string[];
  if (Array.isArray(schema.type)) types = schema.type;
  else if (typeof schema.type === 'string') types = [schema.type];
  // No type at all (`{}`, or only a format) accepts any text; a format still applies.
  else types = branches.length === 0 ? ['null', 'string'] : [];
  for (const type of types) {
    if (type === 'null') nullable = true;
    else if (type === 'string') {
      const format = schema.format;
      const stringKind =
        format === 'date' || format === 'time' || format === 'date-time' ? KINDS[format] : KINDS.string;
      kinds.set(stringKind.name, stringKind);
    } else if (type in KINDS) kinds.set(type, KINDS[type as keyof typeof KINDS]);
  }
  return nullable;
}

function asSchemas(value: unknown): JsonSchema[] {
  return Array.isArray(value) ? (value as JsonSchema[]) : [];
}

const NOT_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/**
 * Compiles the conversion of one column's text to its schema's type. `column` names the column
 * in errors.
 */
export function compileCoercer(schema: JsonSchema, column?: string): ValueCoercer {
  const found = new Map<string, Kind>();
  const nullable = collectKinds(schema, found);
  const plainString = found.has('string');
  // `yes` in a boolean-or-string column stays a string; in a boolean column it is true.
  if (!plainString && found.has('boolean')) {
    found.set('boolean', { ...KINDS.boolean, read: readPostgresBoolean });
  }
  const kinds = [...found.values()].sort((a, b) => a.rank - b.rank);
  const primary = kinds[0];

  const fail = (text: string | null, code: ErrorCode, message: string): never => {
    throw new RecordError(message, {
      code,
      column,
      value: text,
      hint: "Fix the value in the file, or change the column's type in the catalog",
    });
  };
  const nullValue = (text: string | null): null => {
    if (nullable) return null;
    const message = text === null ? 'the column may not be null' : 'an empty value in a column that may not be null';
    return fail(text, 'VALUE_NOT_NULLABLE', message);
  };
  const mismatch = (text: string): never => {
    if (primary === undefined) return fail(text, 'RECORD_INVALID', 'the schema allows only null');
    let message = `is not ${kinds.map((k) => k.description).join(' or ')}`;
    const numeric = found.has('number') || found.has('integer');
    if (numeric && NOT_FINITE.test(text)) message = 'NaN and infinities are not JSON numbers';
    else if (primary.name === 'integer' && readNumber(text) !== undefined) {
      message = 'is not an integer (it has a fraction or an exponent)';
    }
    return fail(text, primary.code, message);
  };

  if (kinds.length === 0) {
    return (text) => (text === null ? nullValue(text) : mismatch(text));
  }
  if (kinds.length === 1 && primary !== undefined) {
    // The common case, without the loop.
    const read = primary.read;
    if (plainString) return (text) => (text === null ? nullValue(text) : text);
    return (text) => {
      if (text === null || text === '') return nullValue(text);
      const value = read(text);
      return value === undefined ? mismatch(text) : value;
    };
  }
  return (text) => {
    if (text === null) return nullValue(text);
    if (text === '') return plainString ? '' : nullValue(text);
    for (const kind of kinds) {
      const value = kind.read(text);
      if (value !== undefined) return value;
    }
    return mismatch(text);
  };
}

/** One CSV field's value as JSON text (`null` when unquoted empty); throws what `compileCoercer` throws. */
type JsonValueEncoder = (text: string | null) => string;

/**
 * One CSV row (fields in header order) as the JSON text of its record's members (`"a":1,"b":"x"`)
 * between the text compiled around them (see `CsvRecordEncoderOptions`).
 */
export type CsvRecordEncoder = (fields: readonly (string | null)[]) => string;

/** A character JSON.stringify escapes: a quote, a backslash, a control character, a surrogate. */
const NEEDS_JSON_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * Whether `text` is an integer as JSON writes it (`-12`, `0`; not `+7`, `007` or `-0`): then it
 * is its own JSON text, at any length, as `readInteger` followed by JSON would give it.
 */
function isJsonInteger(text: string): boolean {
  const length = text.length;
  let i = text.charCodeAt(0) === MINUS ? 1 : 0;
  if (i === length) return false;
  const first = text.charCodeAt(i);
  if (first === ZERO) return length === 1;
  for (; i < length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < ZERO || c > NINE) return false;
  }
  return true;
}

/**
 * Whether `text` is a non-zero number as JSON writes it (`58.90`, `-1e-3`; not `+1`, `.5`,
 * `5.`, `01` or `0.0`). Then it is its own JSON text: JSON readers take it to the same value
 * `readNumber` gives (the double when it holds the text exactly, else the text itself as a
 * `LosslessNumber`). Zero is left to `readNumber`, which drops the sign of `-0`.
 */
function isJsonNumber(text: string): boolean {
  const length = text.length;
  let i = text.charCodeAt(0) === MINUS ? 1 : 0;
  let nonZero = false;
  const first = text.charCodeAt(i);
  if (first === ZERO) i += 1;
  else {
    const start = i;
    for (let c = first; c >= ZERO && c <= NINE; c = text.charCodeAt(++i)) nonZero ||= c !== ZERO;
    if (i === start) return false;
  }
  if (text.charCodeAt(i) === DOT) {
    const start = ++i;
    for (let c = text.charCodeAt(i); c >= ZERO && c <= NINE; c = text.charCodeAt(++i)) nonZero ||= c !== ZERO;
    if (i === start) return false;
  }
  return nonZero && exponentEnd(text, i) === length;
}

/** The index after an optional exponent (`e`, sign, digits) at `i`; -1 when its digits are missing. */
function exponentEnd(text: string, i: number): number {
  const e = text.charCodeAt(i);
  if (e !== LOWER_E && e !== UPPER_E) return i;
  i += 1;
  const sign = text.charCodeAt(i);
  if (sign === PLUS || sign === MINUS) i += 1;
  const start = i;
  for (let c = text.charCodeAt(i); c >= ZERO && c <= NINE; c = text.charCodeAt(++i));
  return i === start ? -1 : i;
}

/** How a column's text goes into JSON: by its value's JSON, bare (a number) or between quotes. */
const BY_VALUE = 0;
const BARE = 1;
const QUOTED = 2;

/**
 * One column's way to JSON text: text for which `fits` holds is written as it is (`shape`
 * BARE or QUOTED); anything else, null included, as `plain` writes it.
 */
interface ColumnText {
  readonly shape: typeof BY_VALUE | typeof BARE | typeof QUOTED;
  fits(text: string): boolean;
  readonly plain: JsonValueEncoder;
}

const needsNoEscape = (text: string): boolean => !NEEDS_JSON_ESCAPE.test(text);

function columnText(schema: JsonSchema, column: string | undefined): ColumnText {
  const coerce = compileCoercer(schema, column);
  const plain: JsonValueEncoder = (text) => stringifyExactJson(coerce(text));
  const found = new Map<string, Kind>();
  collectKinds(schema, found);
  const only = found.size === 1 ? found.keys().next().value : undefined;
  switch (only) {
    case 'string':
      return { shape: QUOTED, fits: needsNoEscape, plain };
    case 'integer':
      return { shape: BARE, fits: isJsonInteger, plain };
    case 'number':
      return { shape: BARE, fits: isJsonNumber, plain };
    // A date, time or date-time these accept is digits, `-`, `:`, `.`, `+`, `T`, `Z` or a space.
    case 'date-time':
      return { shape: QUOTED, fits: isDateTime, plain };
    case 'date':
      return { shape: QUOTED, fits: isDate, plain };
    case 'time':
      return { shape: QUOTED, fits: isTime, plain };
    default:
      return { shape: BY_VALUE, fits: () => false, plain };
  }
}

/** JSON text to put around a record's members (see `compileCsvRecordEncoder`). */
export interface CsvRecordEncoderOptions {
  /** Text before the first member, such as `{` (default none). */
  readonly head?: string;
  /** Text after the last member, such as `}` or `,"more":` (default none). */
  readonly tail?: string;
}

/**
 * Compiles `compileCsvConverter`'s conversion straight to JSON text: the record's members
 * (`"a":1,"b":"x"`) between `head` and `tail`, the same properties in the same order, the
 * same errors, and text that JSON readers take to the record `compileCsvConverter` builds.
 *
 * NOTE: the text is built by concatenation, which V8 keeps as a tree of the pieces until the
 * text is written out and copied flat; that copy costs per piece. So property names are
 * escaped once, here, into constants that also carry the quotes and commas around the values
 * (`","seller_id":"`), and a value in JSON's spelling is one piece as it stands.
 */
export function compileCsvRecordEncoder(
  properties: Readonly<Record<string, JsonSchema>>,
  header: readonly string[],
  options: CsvRecordEncoderOptions = {},
): CsvRecordEncoder {
  const head = options.head ?? '';
  const tail = options.tail ?? '';
  const positions = new Map<string, number>();
  header.forEach((name, index) => positions.set(name, index));
  const sources: number[] = [];
  const columns: ColumnText[] = [];
  // Per column, the text before its value: [bare, quoted] after a value that needs no closing
  // quote, then the same two after one that does.
  const before: string[][] = [];
  for (const [name, schema] of Object.entries(properties)) {
    const source = positions.get(name) ?? -1;
    const column = columnText(schema, name);
    // The same rule as for a null field: fails now if the column may not be null.
    if (source === -1) column.plain(null);
    const bare = `${before.length === 0 ? head : ','}${JSON.stringify(name)}:`;
    before.push([bare, `${bare}"`, `"${bare}`, `"${bare}"`]);
    sources.push(source);
    columns.push(column);
  }
  const count = sources.length;
  if (count === 0) return () => head + tail;
  const tails = [tail, `"${tail}`];
  return (fields) => {
    let text = '';
    // 2 when the last value was written between quotes and its closing quote is still due.
    let open = 0;
    for (let i = 0; i < count; i += 1) {
      const source = sources[i] as number;
      const { shape, fits, plain } = columns[i] as ColumnText;
      const pieces = before[i] as string[];
      const value = source === -1 ? null : (fields[source] ?? null);
      if (value !== null && shape !== BY_VALUE && fits(value)) {
        text += (pieces[open + (shape === QUOTED ? 1 : 0)] as string) + value;
        open = shape === QUOTED ? 2 : 0;
      } else {
        text += (pieces[open] as string) + plain(value);
        open = 0;
      }
    }
    return text + (tails[open >> 1] as string);
  };
}
