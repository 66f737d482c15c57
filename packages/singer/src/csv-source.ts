/**
 * CSV reading with PostgreSQL `COPY … CSV` semantics and physical line numbers, for the CSV taps.
 *
 * Rules (see CONTRACT, tap-minio-csv):
 * - line 1 is the header; a header with an empty or duplicate name is `CSV_BAD_HEADER`;
 * - an unquoted empty field is `null`, a quoted empty field (`""`) is the empty string;
 * - a UTF-8 BOM is dropped; bytes that are not UTF-8 are an error (COPY rejects them too);
 * - records end at CRLF, LF or CR; quoted fields may hold any of them;
 * - a blank line is skipped (COPY would read a one-field row: a deliberate difference);
 * - a row with more or fewer fields than the header is `CSV_RAGGED_ROW`;
 * - quoting must be RFC 4180 strict: a quote inside an unquoted field, or anything but the
 *   delimiter or a line end after a closing quote, is `CSV_INVALID`. COPY would splice such
 *   quoted sections together; a stray quote almost always means a broken file, and guessing
 *   would change the data silently.
 * - gzip input (magic bytes 1f 8b) is gunzipped transparently. No UTF-8 text can start with
 *   those bytes (0x8b is a continuation byte), so detection never misreads a CSV.
 *
 * Each row carries the physical line where it starts: the header is line 1, blank lines count,
 * and a quoted line break (CRLF counting once) makes a record span several lines.
 */
import { isUtf8 } from 'node:buffer';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { CsvError, parse, type Parser } from 'csv-parse';

import { ConfigError, RecordError, SingerError } from './errors';

export interface CsvOptions {
  /** The field delimiter, one character (default `,`). */
  delimiter?: string;
  /** Names the input in errors (a path, `s3://bucket/key`). */
  file?: string;
  /** Names the stream in errors. */
  stream?: string;
  /**
   * Gunzip input that starts with gzip's magic bytes (default true). Safe to leave on: a
   * UTF-8 text can never start with them.
   */
  gunzip?: boolean;
  /**
   * A record longer than this many bytes is an error (default 64 MiB). Approximate: checked
   * per input chunk against the parser's progress, which lags the input by up to ~100 KiB.
   * It bounds memory when an unclosed quote would otherwise swallow the rest of the file.
   */
  maxRecordBytes?: number;
}

/** One data row: its fields in header order and the line where it starts. */
export interface CsvRow {
  /** 1-based physical line where the record starts (the header is line 1). */
  readonly line: number;
  /** `null` for an unquoted empty field, `''` for a quoted one. Owned by the caller. */
  readonly fields: (string | null)[];
}

export interface CsvFile {
  /** Column names from the first record; empty when the input holds no record at all. */
  readonly header: readonly string[];
  /**
   * The data rows, to be iterated once. Errors thrown while iterating are `SingerError`s
   * carrying `file`, `stream` and `line`; errors of the input stream itself pass unchanged.
   */
  readonly rows: AsyncIterable<CsvRow>;
  /** Stops reading and releases the input (needed only when `rows` is not iterated to its end). */
  close(): void;
}

const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
const QUOTING_HINT =
  'Quote fields holding quotes, delimiters or line breaks, and double the quotes inside them';
const QUOTE = '"';
const LF = 10;
const CR = 13;

/**
 * Opens a CSV input and reads its header.
 *
 * @example
 * const csv = await openCsv(fs.createReadStream(path), { file: path });
 * for await (const { line, fields } of csv.rows) { ... }
 */
export async function openCsv(
  input: Readable | AsyncIterable<Buffer | string>,
  options: CsvOptions = {},
): Promise<CsvFile> {
  const delimiter = options.delimiter ?? ',';
  if (delimiter.length !== 1 || delimiter === QUOTE || delimiter === '\r' || delimiter === '\n') {
    const got = JSON.stringify(delimiter);
    throw new ConfigError(`the delimiter must be one character, not a quote or line end: ${got}`, {
      code: 'CONFIG_INVALID',
      file: options.file,
      stream: options.stream,
    });
  }
  const reader = new RecordReader(delimiter, options);
  const parser = reader.parser;
  const stages: Array<(source: AsyncIterable<Buffer | string>) => AsyncIterable<Buffer>> = [];
  if (options.gunzip !== false) stages.push(gunzipIfNeeded);
  stages.push(checkUtf8);
  const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  stages.push(limitRecordBytes(() => parser.info, maxRecordBytes));
  // The callback only swallows the error: pipeline destroys the parser with it, and the
  // parser's iterator rethrows it.
  (pipeline as (...args: unknown[]) => unknown)(input, ...stages, parser, () => undefined);

  let header: string[];
  try {
    header = await reader.readHeader();
  } catch (error) {
    parser.destroy();
    throw error;
  }
  return {
    header,
    rows: { [Symbol.asyncIterator]: () => reader.rows() },
    close: () => parser.destroy(),
  };
}

interface RawRecord {
  record: string[];
  raw: string;
}

/** Turns csv-parse's raw records into rows with start lines and nulls. */
class RecordReader {
  /** Physical line where the next record's raw text starts. */
  private nextLine = 1;
  private width = 0;
  private header: readonly string[] = [];
  private readonly iterator: AsyncIterator<RawRecord>;
  /** Records taken from the parser so far, header included. */
  private taken = 0;
  /** The first parse error, and how many records the parser produced before it. */
  private failure: { error: CsvError; before: number } | undefined;

  readonly parser: Parser;

  constructor(
    private readonly delimiter: string,
    private readonly options: CsvOptions,
  ) {
    this.parser = parse({
      bom: true,
      delimiter,
      quote: QUOTE,
      escape: QUOTE,
      // Explicit, so that a file mixing line ends still splits records where COPY would.
      record_delimiter: ['\r\n', '\n', '\r'],
      skip_empty_lines: true,
      // Field counts are checked here, to report the line where the record starts.
      relax_column_count: true,
      // The raw text of each record tells quoted from unquoted empty fields and counts its line
      // breaks. Measured: `raw` costs ~8% of parse time, a `cast` function (per-field context
      // objects) ~700%, `info` ~50%.
      raw: true,
      // A parse error destroys the stream and drops the records parsed before it in the same
      // chunk. Skipping lets us hand those out first and raise the error at its own place.
      skip_records_with_error: true,
      on_skip: (error) => {
        if (error !== undefined) this.failure ??= { error, before: this.parser.info.records };
        return undefined;
      },
    });
    this.iterator = this.parser[Symbol.asyncIterator]() as AsyncIterator<RawRecord>;
  }

  async readHeader(): Promise<string[]> {
    const first = await this.next();
    if (first === undefined) return [];
    const { record, raw } = first;
    const line = this.advance(raw);
    const seen = new Set<string>();
    for (let i = 0; i < record.length; i += 1) {
      const name = record[i] as string;
      let problem: string | undefined;
      if (name === '') problem = `column ${i + 1} of the header has an empty name`;
      else if (seen.has(name)) problem = `the header names column ${JSON.stringify(name)} twice`;
      if (problem !== undefined) {
        this.parser.destroy();
        throw new RecordError(problem, {
          code: 'CSV_BAD_HEADER',
          ...this.where(line),
          hint: 'Give every column a unique, non-empty name in the first line',
        });
      }
      seen.add(name);
    }
    this.width = record.length;
    this.header = record;
    return record;
  }

  async *rows(): AsyncGenerator<CsvRow> {
    const width = this.width;
    try {
      for (;;) {
        const next = await this.next();
        if (next === undefined) return;
        const { record, raw } = next;
        const line = this.advance(raw);
        if (record.length !== width) {
          throw new RecordError(`the row has ${record.length} fields but the header has ${width}`, {
            code: 'CSV_RAGGED_ROW',
            ...this.where(line),
            hint: 'Each row needs one field per header column; quote fields holding the delimiter',
          });
        }
        const fields = record as (string | null)[];
        for (let i = 0; i < width; i += 1) {
          if (fields[i] === '') {
            markUnquotedEmpties(fields, raw, this.delimiter);
            break;
          }
        }
        yield { line, fields };
      }
    } finally {
      this.parser.destroy();
    }
  }

  private async next(): Promise<RawRecord | undefined> {
    this.throwIfFailedHere();
    let result: IteratorResult<RawRecord>;
    try {
      result = await this.iterator.next();
    } catch (error) {
      throw this.translate(error);
    }
    // The parser may have failed, and gone on, while we waited.
    this.throwIfFailedHere();
    if (result.done) return undefined;
    this.taken += 1;
    return result.value;
  }

  private throwIfFailedHere(): void {
    const failure = this.failure;
    if (failure !== undefined && failure.before <= this.taken) throw this.translate(failure.error);
  }

  /** Returns the record's start line and moves `nextLine` past it. */
  private advance(raw: string): number {
    let i = 0;
    let line = this.nextLine;
    // csv-parse keeps skipped blank lines at the front of the next record's raw text.
    for (;;) {
      const c = raw.charCodeAt(i);
      if (c === LF) i += 1;
      else if (c === CR) i += raw.charCodeAt(i + 1) === LF ? 2 : 1;
      else break;
      line += 1;
    }
    // Raw text ends with the first character of the record delimiter, unless at end of input.
    let end = raw.length;
    let after = line;
    const last = raw.charCodeAt(end - 1);
    if (end > i && (last === LF || last === CR)) {
      end -= 1;
      after += 1;
    }
    // Line breaks inside a record can only sit in quoted fields.
    if (raw.indexOf(QUOTE, i) !== -1) after += countLineBreaks(raw, i, end);
    this.nextLine = after;
    return line;
  }

  private where(line: number): { file?: string; stream?: string; line: number } {
    return { file: this.options.file, stream: this.options.stream, line };
  }

  private translate(error: unknown): unknown {
    // Our own errors (not UTF-8) know their byte offset, not the line csv-parse has reached.
    if (error instanceof SingerError) {
      return error.locate({ file: this.options.file, stream: this.options.stream });
    }
    if (error instanceof CsvError) {
      // The record being parsed when it failed starts after the blank lines at its front.
      const raw = (error as CsvError & { raw?: string }).raw ?? '';
      const saved = this.nextLine;
      const line = this.advance(raw);
      this.nextLine = saved;
      const index = (error as CsvError & { column?: unknown }).column;
      return new RecordError(describeCsvError(error), {
        code: 'CSV_INVALID',
        ...this.where(line),
        column: typeof index === 'number' ? this.header[index] : undefined,
        cause: error,
        hint: QUOTING_HINT,
      });
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && code.startsWith('Z_')) {
      return new RecordError('the input looks gzipped but is not valid gzip data', {
        code: 'CSV_INVALID',
        file: this.options.file,
        stream: this.options.stream,
        cause: error,
      });
    }
    return error;
  }
}

function describeCsvError(error: CsvError): string {
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field starting in this record is never closed';
    case 'CSV_INVALID_CLOSING_QUOTE':
      return 'a closing quote is followed by something other than the delimiter or a line end';
    case 'INVALID_OPENING_QUOTE':
      return 'a quote appears inside an unquoted field';
    default:
      return `malformed CSV: ${error.message}`;
  }
}

/** Line breaks in `text[from, to)`, CRLF counting once. */
function countLineBreaks(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i += 1) {
    const c = text.charCodeAt(i);
    if (c === LF) count += 1;
    else if (c === CR) {
      count += 1;
      if (text.charCodeAt(i + 1) === LF) i += 1;
    }
  }
  return count;
}

/**
 * Sets to null the empty fields that were not quoted, reading the record's raw text. Called
 * only for records with an empty field; a record without any quote needs no scan.
 */
function markUnquotedEmpties(fields: (string | null)[], raw: string, delimiter: string): void {
  if (raw.indexOf(QUOTE) === -1) {
    for (let i = 0; i < fields.length; i += 1) if (fields[i] === '') fields[i] = null;
    return;
  }
  let pos = 0;
  // Skip the blank lines csv-parse leaves at the front.
  while (pos < raw.length && (raw.charCodeAt(pos) === LF || raw.charCodeAt(pos) === CR)) pos += 1;
  for (let i = 0; i < fields.length; i += 1) {
    if (raw[pos] === QUOTE) {
      // Quoted: jump to the closing quote, stepping over doubled quotes.
      pos += 1;
      for (;;) {
        pos = raw.indexOf(QUOTE, pos) + 1;
        if (pos === 0 || raw[pos] !== QUOTE) break;
        pos += 1;
      }
    } else {
      if (fields[i] === '') fields[i] = null;
      const next = raw.indexOf(delimiter, pos);
      pos = next === -1 ? raw.length : next;
    }
    pos += 1; // the delimiter
  }
}

/** Gunzips the bytes when they start with gzip's magic number; passes them through otherwise. */
async function* gunzipIfNeeded(source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  const iterator = source[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  let ended = false;
  while (head.length < 2) {
    const next = await iterator.next();
    if (next.done) {
      ended = true;
      break;
    }
    head = head.length === 0 ? toBuffer(next.value) : Buffer.concat([head, toBuffer(next.value)]);
  }
  async function* rest(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    if (ended) return;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield toBuffer(next.value);
    }
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    yield* rest();
    return;
  }
  const gunzip = createGunzip();
  pipeline(rest(), gunzip, () => undefined);
  yield* gunzip as AsyncIterable<Buffer>;
}

/**
 * A Readable of the input's bytes, gunzipped when they start with gzip's magic number (for
 * callers that need the bytes themselves; `openCsv` does this on its own).
 */
export function maybeGunzip(input: Readable | AsyncIterable<Buffer | string>): Readable {
  return Readable.from(gunzipIfNeeded(input), { objectMode: false });
}

/**
 * Passes the bytes through, failing on the first sequence that is not UTF-8: csv-parse would
 * turn it into U+FFFD silently, where COPY refuses the file.
 */
async function* checkUtf8(source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  let offset = 0;
  for await (const data of source) {
    const chunk = toBuffer(data);
    const bytes = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    // A character split across chunks is checked with the next chunk.
    const complete = completeLength(bytes);
    if (!isUtf8(bytes.subarray(0, complete))) throw notUtf8(offset + firstInvalidUtf8(bytes));
    carry = complete < bytes.length ? Buffer.from(bytes.subarray(complete)) : undefined;
    offset += complete;
    yield chunk;
  }
  if (carry !== undefined) throw notUtf8(offset);
}

/**
 * Fails when the parser has taken `limit` bytes without finishing a record or a blank line: an
 * unclosed quote would otherwise hold the rest of the input in memory. Checked per chunk, where
 * csv-parse's own `max_record_size` costs ~7% of parse time by checking every byte.
 */
function limitRecordBytes(progress: () => { records: number; empty_lines: number }, limit: number) {
  return async function* (source: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
    let seen = -1;
    let bytes = 0;
    for await (const data of source) {
      const chunk = toBuffer(data);
      const { records, empty_lines: blank } = progress();
      if (records + blank !== seen) {
        seen = records + blank;
        bytes = 0;
      }
      bytes += chunk.length;
      if (bytes > limit) {
        throw new RecordError(`a record runs over ${limit} bytes (an unclosed quote?)`, {
          code: 'CSV_INVALID',
          hint: QUOTING_HINT,
        });
      }
      yield chunk;
    }
  };
}

function notUtf8(offset: number): RecordError {
  return new RecordError(`the bytes at offset ${offset} are not valid UTF-8`, {
    code: 'CSV_INVALID',
    hint: 'Save the file as UTF-8',
  });
}

/** Length of `bytes` without a trailing, incomplete multi-byte character. */
function completeLength(bytes: Buffer): number {
  const length = bytes.length;
  for (let i = length - 1; i >= 0 && i >= length - 4; i -= 1) {
    const b = bytes[i] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    if (b < 0x80) return length;
    const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    return i + size > length ? i : length;
  }
  return length;
}

/** Offset of the first byte that does not start a valid UTF-8 character (error path only). */
function firstInvalidUtf8(bytes: Buffer): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i] as number;
    let size = 0;
    if (b < 0x80) size = 1;
    else if ((b & 0xe0) === 0xc0) size = 2;
    else if ((b & 0xf0) === 0xe0) size = 3;
    else if ((b & 0xf8) === 0xf0) size = 4;
    if (size === 0 || i + size > bytes.length || !isUtf8(bytes.subarray(i, i + size))) return i;
    i += size;
  }
  return i;
}

function toBuffer(chunk: Buffer | string): Buffer {
  return typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
}
