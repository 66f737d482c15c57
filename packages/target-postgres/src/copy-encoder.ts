import {
  isLosslessNumber,
  isShortestNumberText,
  RecordError,
  type RecordPosition,
  type ScannedRecord,
  stringifyExactJson,
  TOKEN_INTEGER,
  TOKEN_NUMBER,
  TOKEN_STRING,
  TOKEN_TRUE,
} from '@singer-ts/singer';

// Read once: an imported binding is a property read through the package's exports on every use.
const STRING = TOKEN_STRING;
const INTEGER = TOKEN_INTEGER;
const NUMBER = TOKEN_NUMBER;
const BOOLEAN = TOKEN_TRUE;
const shortestNumberText = isShortestNumberText;

import type { PgType } from './type-mapping';

/**
 * Records become rows of PostgreSQL's COPY *text* format: fields separated by tabs, rows by
 * `\n`, `\N` for SQL NULL, and a backslash escape for backslash, tab, newline and carriage
 * return inside a value. Unlike CSV, every value then has one spelling: the empty string is an
 * empty field, the text `\N` is `\\N`, `"NULL"` is just `NULL`, quotes need nothing, and no value
 * can end the data early (`\.` is escaped like every other backslash).
 * See https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.2
 */
export const COPY_NULL = '\\N';

/** A column as the encoder sees it: where its value comes from and how to spell it. */
export interface EncoderColumn {
  /** The record property holding the value. */
  readonly property: string;
  /** The column name, for error messages. */
  readonly column: string;
  /** How the value is rendered; the column's type (or the schema's, for a user-made column). */
  readonly type: PgType;
  /** A key column: null or missing is an error rather than a row PostgreSQL would reject later. */
  readonly isKey?: boolean;
}

export interface CopyEncoderOptions {
  readonly stream: string;
  /** Remove NUL characters from text instead of failing (`sanitize_null_text_characters`). */
  readonly sanitizeNulText?: boolean;
}

/**
 * Thrown when a value does not fit its column but a wider column would hold it exactly (an
 * integer beyond bigint's range): the sink widens the column and encodes the record again.
 */
export class ColumnTooNarrowError extends Error {
  constructor(
    readonly property: string,
    readonly column: string,
    readonly to: PgType,
  ) {
    super(`column ${JSON.stringify(column)} must widen to ${to}`);
    this.name = 'ColumnTooNarrowError';
  }
}

const NEEDS_ESCAPE = /[\\\t\n\r\u0000]/;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** Escapes text for a COPY text field (no NUL check: PostgreSQL rejects NUL itself). */
export function escapeCopyText(text: string): string {
  return NEEDS_ESCAPE.test(text) ? text.replace(/[\\\t\n\r]/g, (char) => ESCAPES[char] as string) : text;
}

const BIGINT_MAX = '9223372036854775807';
const BIGINT_MIN_ABS = '9223372036854775808';

/** Whether a plain decimal integer text (optional `-`, digits) fits PostgreSQL's bigint. */
export function fitsBigint(text: string): boolean {
  const negative = text.startsWith('-');
  const digits = (negative ? text.slice(1) : text).replace(/^0+(?=\d)/, '');
  if (digits.length < 19) return true;
  if (digits.length > 19) return false;
  return digits <= (negative ? BIGINT_MIN_ABS : BIGINT_MAX);
}

/**
 * Writes a number in exponent notation (`1.5E3`) as plain integer digits (`1500`) when it is an
 * integer, exactly; `undefined` when it has a fraction or an absurd exponent.
 */
export function plainIntegerText(text: string): string | undefined {
  if (/^-?\d+$/.test(text)) return text;
  const match = /^(-?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return undefined;
  const [, sign = '', whole = '', fraction = '', exponentText = '0'] = match;
  const exponent = Number(exponentText);
  if (!Number.isSafeInteger(exponent) || exponent > 4096) return undefined;
  const digits = whole + fraction;
  const point = whole.length + exponent;
  if (point <= 0) return /^0*$/.test(digits) ? '0' : undefined;
  const integer = point >= digits.length ? digits + '0'.repeat(point - digits.length) : digits.slice(0, point);
  if (point < digits.length && !/^0*$/.test(digits.slice(point))) return undefined;
  const trimmed = integer.replace(/^0+(?=\d)/, '');
  return trimmed === '0' ? '0' : sign + trimmed;
}

/**
 * `String(value)` for a double, faster for the common case of at most two decimals (prices):
 * when `cents / 100` is exactly `value`, that decimal is the shortest text that reads back as
 * `value` (two-decimal neighbours are 0.01 apart, far more than a double's spacing below
 * 1e12), which is what `String` returns; anything else takes `String` itself.
 */
export function numberText(value: number): string {
  if (Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude >= 0.01 && magnitude < 1e12) {
    const cents = Math.round(value * 100);
    if (cents / 100 === value) {
      const absolute = Math.abs(cents);
      const fraction = absolute % 100;
      const digits = fraction % 10 === 0 ? String(fraction / 10) : fraction < 10 ? `0${fraction}` : String(fraction);
      return `${cents < 0 ? '-' : ''}${Math.floor(absolute / 100)}.${digits}`;
    }
  }
  return String(value);
}

/**
 * `hh:mm[:ss[.frac]]` with an offset is moved to UTC (`13:45:30+02:00` → `11:45:30`): a
 * `time` column has no zone and PostgreSQL would silently drop the offset. Without an offset the
 * text is kept as it is (taken as UTC, like a date-time without one).
 */
export function timeToUtc(text: string): string {
  const match = /^(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$/i.exec(text);
  if (!match) return text;
  const [, hh = '0', mm = '0', ss, fraction = '', offset = 'Z'] = match;
  let shift = 0;
  if (offset.toUpperCase() !== 'Z') {
    const sign = offset.startsWith('-') ? -1 : 1;
    const digits = offset.slice(1).replace(':', '');
    shift = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
  }
  // Zero offset: keep the digits as written (`24:00:00Z` stays the end of the day).
  if (shift === 0) return `${hh}:${mm}:${ss ?? '00'}${fraction}`;
  const minutes = (((Number(hh) * 60 + Number(mm) - shift) % 1440) + 1440) % 1440;
  const two = (n: number): string => String(n).padStart(2, '0');
  return `${two(Math.floor(minutes / 60))}:${two(minutes % 60)}:${ss ?? '00'}${fraction}`;
}

function hasNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (typeof value !== 'object' || value === null || isLosslessNumber(value)) return false;
  if (Array.isArray(value)) return value.some(hasNul);
  return Object.entries(value).some(([key, item]) => key.includes('\u0000') || hasNul(item));
}

function withoutNul(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/\u0000/g, '');
  if (typeof value !== 'object' || value === null || isLosslessNumber(value)) return value;
  if (Array.isArray(value)) return value.map(withoutNul);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key.replace(/\u0000/g, '')] = withoutNul(item);
  return out;
}

/** A lone UTF-16 surrogate: a high one not followed by a low one, or a low one not after a high one. */
const LONE_SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

function hasLoneSurrogate(value: unknown): boolean {
  if (typeof value === 'string') return !value.isWellFormed();
  if (typeof value !== 'object' || value === null || isLosslessNumber(value)) return false;
  if (Array.isArray(value)) return value.some(hasLoneSurrogate);
  return Object.entries(value).some(([key, item]) => !key.isWellFormed() || hasLoneSurrogate(item));
}

function withoutLoneSurrogates(value: unknown): unknown {
  if (typeof value === 'string') return value.toWellFormed();
  if (typeof value !== 'object' || value === null || isLosslessNumber(value)) return value;
  if (Array.isArray(value)) return value.map(withoutLoneSurrogates);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[key.toWellFormed()] = withoutLoneSurrogates(item);
  return out;
}

/** Renders one record per call as a COPY text row (without the newline). Not thread-safe, not shared. */
export class CopyEncoder {
  /** NUL characters removed per column, when sanitising. */
  readonly nulRemoved = new Map<string, number>();
  /**
   * Values with lone UTF-16 surrogates (half an emoji, as Python's json writes a split pair),
   * which no PostgreSQL text holds: replaced by U+FFFD, counted per column with the first record.
   */
  readonly surrogatesReplaced = new Map<string, { count: number; firstRecord: number }>();
  private readonly columns: readonly EncoderColumn[];
  /** Per column, the index of its property among a scanned record's properties (-1: none). */
  private scannedIndexes: Int32Array = new Int32Array(0);
  private scannedProperties: readonly string[] | undefined;

  constructor(
    columns: readonly EncoderColumn[],
    private readonly options: CopyEncoderOptions,
  ) {
    this.columns = columns;
  }

  /** The row for `record`: one field per column, in column order, joined by tabs. */
  encode(record: Record<string, unknown>, position: RecordPosition): string {
    let row = '';
    const columns = this.columns;
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as EncoderColumn;
      const value = record[column.property];
      let field: string;
      if (value === null || value === undefined) {
        if (column.isKey) this.fail('key property is null or missing; every record needs its key', column, value, position, 'KEY_MISSING');
        field = COPY_NULL;
      } else {
        field = this.field(value, column, position);
      }
      row = i === 0 ? field : `${row}\t${field}`;
    }
    return row;
  }

  /**
   * The row for a scanned record (see the SDK's record-scanner.ts), the same as `encode` gives
   * for the record as an object: texts that are already their field are used as they are (a
   * string into a text, date, timestamp or numeric column; an integer into a bigint or numeric
   * one), anything else is decoded and encoded as `encode` would.
   * `undefined` when the record must take `encode` (a null or missing key, which is an error).
   */
  encodeScanned(record: ScannedRecord, position: RecordPosition): string | undefined {
    if (record.properties !== this.scannedProperties) this.indexScanned(record.properties);
    const indexes = this.scannedIndexes;
    const { kinds, captures } = record;
    // A string with escapes (or an emoji) goes through `field`, which escapes it for COPY.
    const columns = this.columns;
    let row = '';
    for (let i = 0; i < columns.length; i++) {
      const column = columns[i] as EncoderColumn;
      const property = indexes[i] as number;
      const text = property === -1 ? undefined : captures[property + 1];
      let field: string;
      if (text === undefined) {
        if (column.isKey) return undefined;
        field = COPY_NULL;
      } else {
        const kind = kinds[property];
        if (
          kind === STRING
            ? column.type !== 'jsonb' && column.type !== 'time' && record.escaped[property] === 0
            : kind === INTEGER && (column.type === 'bigint' || column.type === 'numeric') && text !== '-0'
        ) {
          // A string with nothing for COPY to escape; an integer of at most 15 digits as `String` writes it.
          field = text;
        } else if (kind === NUMBER && column.type === 'numeric') {
          field = shortestNumberText(text) ? text : numberText(Number(text));
        } else if (kind === BOOLEAN && column.type === 'boolean') {
          field = text === 'true' ? 't' : 'f';
        } else {
          field = this.field(record.value(property), column, position);
        }
      }
      row = i === 0 ? field : `${row}\t${field}`;
    }
    return row;
  }

  private indexScanned(properties: readonly string[]): void {
    const index = new Map(properties.map((name, i) => [name, i]));
    this.scannedIndexes = Int32Array.from(this.columns, (column) => index.get(column.property) ?? -1);
    this.scannedProperties = properties;
  }

  /** One value, escaped for COPY text. */
  field(value: unknown, column: EncoderColumn, position: RecordPosition): string {
    switch (column.type) {
      case 'bigint':
        return this.escape(this.integerText(value, column), column, position);
      case 'numeric':
        return this.escape(this.decimalText(value), column, position);
      case 'boolean':
        if (value === true) return 't';
        if (value === false) return 'f';
        return this.escape(this.scalarText(value, column, position), column, position);
      case 'time':
        return this.escape(typeof value === 'string' ? timeToUtc(value) : this.scalarText(value, column, position), column, position);
      case 'jsonb':
        return this.escape(this.jsonText(value, column, position), column, position);
      default:
        return this.escape(this.scalarText(value, column, position), column, position);
    }
  }

  private integerText(value: unknown, column: EncoderColumn): string {
    let text: string;
    if (typeof value === 'number') {
      if (Number.isSafeInteger(value)) return String(value);
      // An integral double beyond 2^53 (1e21) is still exact: write its digits.
      if (!Number.isInteger(value)) return numberText(value);
      text = BigInt(value).toString();
    } else if (typeof value === 'bigint') {
      text = value.toString();
    } else if (isLosslessNumber(value)) {
      const plain = plainIntegerText(value.value);
      if (plain === undefined) return value.value;
      text = plain;
    } else {
      // Not a number (validation is off): PostgreSQL decides, and its error names the row.
      return typeof value === 'string' ? value : stringifyExactJson(value);
    }
    if (!fitsBigint(text)) throw new ColumnTooNarrowError(column.property, column.column, 'numeric');
    return text;
  }

  private decimalText(value: unknown): string {
    if (typeof value === 'number') return numberText(value);
    if (typeof value === 'bigint') return String(value);
    if (isLosslessNumber(value)) return value.value;
    return typeof value === 'string' ? value : stringifyExactJson(value);
  }

  private scalarText(value: unknown, column: EncoderColumn, position: RecordPosition): string {
    if (typeof value === 'string') {
      if (value.isWellFormed()) return value;
      this.countSurrogate(column, position);
      return value.toWellFormed();
    }
    if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
    if (isLosslessNumber(value)) return value.value;
    return this.jsonText(value, column, position);
  }

  private jsonText(value: unknown, column: EncoderColumn, position: RecordPosition): string {
    let text = typeof value === 'string' ? JSON.stringify(value) : stringifyExactJson(value);
    // JSON.stringify writes a lone surrogate as an escape that jsonb refuses; a literal `\\ud83d`
    // in the text is a false alarm hasLoneSurrogate clears.
    if (LONE_SURROGATE_ESCAPE.test(text) && hasLoneSurrogate(value)) {
      this.countSurrogate(column, position);
      value = withoutLoneSurrogates(value);
      text = typeof value === 'string' ? JSON.stringify(value) : stringifyExactJson(value);
    }
    // PostgreSQL's jsonb cannot hold \u0000 either; a literal `\\u0000` is a false alarm hasNul clears.
    if (text.includes('\\u0000') && hasNul(value)) {
      if (!this.options.sanitizeNulText) this.failNul(column, value, position);
      this.countNul(column, 1);
      text = stringifyExactJson(withoutNul(value));
    }
    return text;
  }

  private escape(text: string, column: EncoderColumn, position: RecordPosition): string {
    if (!NEEDS_ESCAPE.test(text)) return text;
    if (text.includes('\u0000')) {
      if (!this.options.sanitizeNulText) this.failNul(column, text, position);
      const before = text.length;
      text = text.replace(/\u0000/g, '');
      this.countNul(column, before - text.length);
    }
    return text.replace(/[\\\t\n\r]/g, (char) => ESCAPES[char] as string);
  }

  private countSurrogate(column: EncoderColumn, position: RecordPosition): void {
    const seen = this.surrogatesReplaced.get(column.column);
    if (seen) seen.count += 1;
    else this.surrogatesReplaced.set(column.column, { count: 1, firstRecord: position.record });
  }

  private countNul(column: EncoderColumn, count: number): void {
    this.nulRemoved.set(column.column, (this.nulRemoved.get(column.column) ?? 0) + count);
  }

  private failNul(column: EncoderColumn, value: unknown, position: RecordPosition): never {
    this.fail(
      'text holds a NUL character (\\u0000), which PostgreSQL cannot store',
      column,
      value,
      position,
      'VALUE_HAS_NUL',
      'Set sanitize_null_text_characters: true to remove NUL characters, or fix the source',
    );
  }

  private fail(
    message: string,
    column: EncoderColumn,
    value: unknown,
    position: RecordPosition,
    code: string,
    hint?: string,
  ): never {
    throw new RecordError(message, {
      code,
      stream: this.options.stream,
      line: position.line,
      record: position.record,
      column: column.property,
      value,
      hint,
    });
  }
}
