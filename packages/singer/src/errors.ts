import { isLosslessNumber } from './exact-json';

/**
 * The error hierarchy, sorted by what the caller must do. Every error carries where it
 * happened as typed fields (stream, file, line, record, column, value), never baked into the
 * message, so the harness can render one clear line and tests can assert on the location.
 */

/** Error codes by area. Connectors may use their own SCREAMING_SNAKE codes too. */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CONFIG_UNREADABLE'
  | 'CATALOG_INVALID'
  | 'STATE_INVALID'
  | 'INPUT_NOT_JSON'
  | 'INPUT_INVALID_MESSAGE'
  | 'SCHEMA_INVALID'
  | 'RECORD_BEFORE_SCHEMA'
  | 'RECORD_INVALID'
  | 'VALUE_NOT_INTEGER'
  | 'VALUE_NOT_NUMBER'
  | 'VALUE_NOT_BOOLEAN'
  | 'VALUE_NOT_DATETIME'
  | 'VALUE_NOT_DATE'
  | 'VALUE_NOT_TIME'
  | 'VALUE_NOT_NULLABLE'
  | 'VALUE_HAS_NUL'
  | 'VALUE_NOT_OBJECT'
  | 'VALUE_NOT_ARRAY'
  | 'CSV_INVALID'
  | 'CSV_RAGGED_ROW'
  | 'CSV_BAD_HEADER'
  | 'SOURCE_UNAVAILABLE'
  | 'SOURCE_AUTH'
  | 'SOURCE_NOT_FOUND'
  | 'S3_OBJECT_CHANGED'
  | 'LOAD_FAILED'
  | 'PG_COPY_FAILED'
  | 'PG_CONNECTION_LOST'
  | 'INTERRUPTED'
  | 'INTERNAL'
  | (string & {});

/** Where something went wrong. Every field is optional; render only what is known. */
export interface ErrorLocation {
  stream?: string;
  /** A file or object name (`s3://bucket/key`, a path, a zip entry). */
  file?: string;
  /** 1-based line of the input (message line for targets, CSV line for taps). */
  line?: number;
  /** 1-based record number within the stream. */
  record?: number;
  column?: string;
  /** The offending value; rendered as a short preview. */
  value?: unknown;
}

export interface SingerErrorOptions extends ErrorLocation {
  code?: ErrorCode;
  cause?: unknown;
  /** What the user should do about it. */
  hint?: string;
}

const PREVIEW_LIMIT = 60;

/** A short, single-line preview of a value for error messages. */
export function previewValue(value: unknown): string {
  let text: string;
  if (value === undefined) text = 'undefined';
  else if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'bigint') text = value.toString();
  else if (isLosslessNumber(value)) text = value.value;
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > PREVIEW_LIMIT ? `${text.slice(0, PREVIEW_LIMIT - 1)}…` : text;
}

/** The root of every error the project raises on purpose. */
export class SingerError extends Error {
  readonly code: ErrorCode;
  hint: string | undefined;
  stream: string | undefined;
  file: string | undefined;
  line: number | undefined;
  record: number | undefined;
  column: string | undefined;
  value: unknown;
  /** Whether `value` was given (a value may legitimately be `undefined` or `null`). */
  hasValue: boolean;

  constructor(message: string, options: SingerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code ?? 'INTERNAL';
    this.hint = options.hint;
    this.stream = options.stream;
    this.file = options.file;
    this.line = options.line;
    this.record = options.record;
    this.column = options.column;
    this.hasValue = 'value' in options;
    this.value = options.value;
  }

  /**
   * Fills in location fields that are still unknown, as the error travels outwards (the
   * coercer knows the column, the stream knows the file and line). Returns `this`.
   */
  locate(location: ErrorLocation): this {
    this.stream ??= location.stream;
    this.file ??= location.file;
    this.line ??= location.line;
    this.record ??= location.record;
    this.column ??= location.column;
    if (!this.hasValue && 'value' in location) {
      this.hasValue = true;
      this.value = location.value;
    }
    return this;
  }

  /** The location as text: `stream "orders", file "s3://b/k.csv", line 12, column "price"`. */
  where(): string {
    const parts: string[] = [];
    if (this.stream !== undefined) parts.push(`stream ${JSON.stringify(this.stream)}`);
    if (this.file !== undefined) parts.push(`file ${JSON.stringify(this.file)}`);
    if (this.line !== undefined) parts.push(`line ${this.line}`);
    if (this.record !== undefined) parts.push(`record ${this.record}`);
    if (this.column !== undefined) parts.push(`column ${JSON.stringify(this.column)}`);
    return parts.join(', ');
  }

  /** One line for the user: where, what, the value, and what to do. */
  toUserLine(): string {
    const where = this.where();
    let line = where ? `${where}: ${this.message}` : this.message;
    if (this.hasValue) line += ` (value ${previewValue(this.value)})`;
    if (this.hint) line += `. ${this.hint}`;
    return `${line} [${this.code}]`;
  }
}

/** The configuration (or catalog, or state file) is wrong: the user must edit it. */
export class ConfigError extends SingerError {
  /** Every problem found, one per entry, when validation found several. */
  readonly problems: readonly string[];

  constructor(message: string, options: SingerErrorOptions & { problems?: string[] } = {}) {
    super(message, { code: 'CONFIG_INVALID', ...options });
    this.problems = options.problems ?? [];
  }
}

/** A line of Singer input is not a valid message: the upstream tap is at fault. */
export class InputError extends SingerError {
  constructor(message: string, options: SingerErrorOptions = {}) {
    super(message, { code: 'INPUT_INVALID_MESSAGE', ...options });
  }
}

/** A record or one of its values does not fit its schema: the data must be fixed. */
export class RecordError extends SingerError {
  constructor(message: string, options: SingerErrorOptions = {}) {
    super(message, { code: 'RECORD_INVALID', ...options });
  }
}

/** The source system failed or refused (network, auth, missing object): retry or fix access. */
export class SourceError extends SingerError {
  constructor(message: string, options: SingerErrorOptions = {}) {
    super(message, { code: 'SOURCE_UNAVAILABLE', ...options });
  }
}

/** The destination failed or refused while loading: the load can be re-run from the last state. */
export class LoadError extends SingerError {
  constructor(message: string, options: SingerErrorOptions = {}) {
    super(message, { code: 'LOAD_FAILED', ...options });
  }
}

export function isSingerError(error: unknown): error is SingerError {
  return error instanceof SingerError;
}
