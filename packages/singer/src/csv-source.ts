/**
 * CSV reading with PostgreSQL `COPY … CSV` semantics and physical line numbers, for the CSV taps.
 *
 * Rules (see CONTRACT, tap-minio-csv): COPY's, so a file means the same here as to `psql \copy`:
 * - line 1 is the header; a header with an empty or duplicate name is `CSV_BAD_HEADER`;
 * - an unquoted empty field is `null`, a quoted empty field (`""`) is the empty string;
 * - a UTF-8 BOM is dropped; bytes that are not UTF-8 are an error (COPY rejects them too);
 * - a quote opens a quoted section anywhere in a field, and text may follow a closing quote:
 *   the field is the pieces joined (`1, "x"` gives ` x`); quoted sections may hold delimiters
 *   and line breaks; a quote never closed is `CSV_INVALID`;
 * - the first line's ending (LF, CRLF or CR) is the file's; another one outside quotes later
 *   is `CSV_INVALID`, on the line COPY names;
 * - a blank line is skipped (COPY would read a one-field row: a deliberate difference);
 * - a row with more or fewer fields than the header is `CSV_RAGGED_ROW`;
 * - gzip input (magic bytes 1f 8b) is gunzipped transparently. No UTF-8 text can start with
 *   those bytes (0x8b is a continuation byte), so detection never misreads a CSV.
 *
 * Each row carries the line where it starts: the header is line 1, blank lines count, and a
 * quoted line break (of the file's line ending) makes a record span several lines. Errors name
 * the line COPY names: where the problem is found, the last line of a record for a ragged one.
 *
 * The bytes are checked and decoded here; `csv-tokenizer.ts` splits the text into records.
 */
import { isUtf8 } from 'node:buffer';
import { pipeline, Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

import { type CsvRecord, CsvSyntaxError, CsvTokenizer } from './csv-tokenizer';
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
   * A record longer than this many bytes is an error (default 64 MiB). Checked on the part of
   * a record held while more input chunks are read, so a record that arrives inside one chunk
   * may pass. It bounds memory when an unclosed quote would otherwise swallow the rest of the
   * file.
   */
  maxRecordBytes?: number;
}

/** One data row: its fields in header order and the line where it starts. */
export interface CsvRow {
  /** 1-based physical line where the record starts (the header is line 1). */
  readonly line: number;
  /**
   * `null` for an unquoted empty field, `''` for a quoted one. Owned by the caller. The strings
   * are V8 slices of the decoded input chunk: keeping a few rows of a chunk keeps the chunk.
   */
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
  /**
   * The same rows a batch at a time: the rows of one input chunk per batch (never empty), for
   * callers whose per-row work is small enough that an await per row would dominate it. Read
   * either `rows` or this, once. An error comes after the batch of the rows before it.
   */
  readonly rowBatches: AsyncIterable<readonly CsvRow[]>;
  /** Stops reading and releases the input (needed only when `rows` is not iterated to its end). */
  close(): void;
}

const DEFAULT_MAX_RECORD_BYTES = 64 * 1024 * 1024;
const QUOTING_HINT =
  'Quote fields holding quotes, delimiters or line breaks, and double the quotes inside them';
const LINE_ENDING_HINT =
  'Use one line ending throughout the file, as COPY requires, and quote fields holding line breaks';
const BOM = 0xfeff;

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
  if (delimiter.length !== 1 || delimiter === '"' || delimiter === '\r' || delimiter === '\n') {
    const got = JSON.stringify(delimiter);
    throw new ConfigError(`the delimiter must be one character, not a quote or line end: ${got}`, {
      code: 'CONFIG_INVALID',
      file: options.file,
      stream: options.stream,
    });
  }
  const reader = new CsvReader(input, delimiter, options);
  let header: string[];
  try {
    header = await reader.readHeader();
  } catch (error) {
    reader.close();
    throw error;
  }
  return {
    header,
    rows: { [Symbol.asyncIterator]: () => reader },
    rowBatches: { [Symbol.asyncIterator]: () => reader.batches() },
    close: () => reader.close(),
  };
}

/**
 * Pulls input chunks, decodes them and hands out the tokenizer's records one by one. A chunk
 * is read only when the records of the one before have all been taken: that is the
 * backpressure. An error waits until the records before it have been taken.
 */
class CsvReader implements AsyncIterable<CsvRow>, AsyncIterator<CsvRow> {
  private readonly input: Readable | AsyncIterable<Buffer | string>;
  private readonly inputIterator: AsyncIterator<Buffer | string>;
  private readonly source: AsyncIterator<Buffer | string>;
  private readonly decoder = new Utf8Text();
  private readonly tokenizer: CsvTokenizer;
  private batch: CsvRecord[] = [];
  private index = 0;
  private header: readonly string[] = [];
  /** The error to throw once `batch` is taken (translated then: the header names columns). */
  private failure: unknown;
  private ended = false;
  private closed = false;
  /** The read of the next batch under way, if any. */
  private reading: Promise<IteratorResult<CsvRow>> | undefined;

  constructor(
    input: Readable | AsyncIterable<Buffer | string>,
    delimiter: string,
    private readonly options: CsvOptions,
  ) {
    this.input = input;
    this.inputIterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
    this.source =
      options.gunzip === false
        ? this.inputIterator
        : gunzipIfNeeded({ [Symbol.asyncIterator]: () => this.inputIterator });
    const maxRecordBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
    this.tokenizer = new CsvTokenizer(delimiter, maxRecordBytes);
  }

  [Symbol.asyncIterator](): AsyncIterator<CsvRow> {
    return this;
  }

  async readHeader(): Promise<string[]> {
    await this.fill();
    const first = this.batch[0];
    if (first === undefined) {
      if (this.failure !== undefined) throw this.translate(this.failure);
      return [];
    }
    this.index = 1;
    const record = first.fields;
    const seen = new Set<string>();
    for (let i = 0; i < record.length; i += 1) {
      const name = record[i] ?? '';
      let problem: string | undefined;
      if (name === '') problem = `column ${i + 1} of the header has an empty name`;
      else if (seen.has(name)) problem = `the header names column ${JSON.stringify(name)} twice`;
      if (problem !== undefined) {
        throw new RecordError(problem, {
          code: 'CSV_BAD_HEADER',
          ...this.where(first.line),
          hint: 'Give every column a unique, non-empty name in the first line',
        });
      }
      seen.add(name);
    }
    this.header = record as string[];
    return record as string[];
  }

  next(): Promise<IteratorResult<CsvRow>> {
    if (this.reading !== undefined) {
      // Called again before a read finished: queue behind it, as an async generator would.
      const again = (): Promise<IteratorResult<CsvRow>> => this.next();
      return this.reading.then(again, again);
    }
    // The hot path: a record of the current batch, without an async function's overhead.
    if (this.index < this.batch.length) {
      return Promise.resolve({ done: false, value: this.batch[this.index++] as CsvRow });
    }
    const reading = this.nextBatch();
    this.reading = reading;
    const finished = (): void => {
      if (this.reading === reading) this.reading = undefined;
    };
    reading.then(finished, finished);
    return reading;
  }

  return(): Promise<IteratorResult<CsvRow>> {
    this.close();
    return Promise.resolve({ done: true, value: undefined });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.batch = [];
    this.index = 0;
    const ignore = (): undefined => undefined;
    if (this.source !== this.inputIterator) this.source.return?.().catch(ignore);
    this.inputIterator.return?.().catch(ignore);
    const input = this.input as Partial<Readable>;
    if (typeof input.destroy === 'function') input.destroy();
  }

  /** The rows one input chunk at a time (`CsvFile.rowBatches`). */
  async *batches(): AsyncGenerator<readonly CsvRow[]> {
    try {
      for (;;) {
        if (this.index < this.batch.length) {
          // `fill` starts a new array, so the caller may keep this one.
          const rows = this.index === 0 ? this.batch : this.batch.slice(this.index);
          this.index = this.batch.length;
          yield rows;
          continue;
        }
        if (this.closed) return;
        await this.fill();
        if (this.batch.length === 0) {
          const failure = this.failure;
          this.failure = undefined;
          if (failure !== undefined) throw this.translate(failure);
          return;
        }
      }
    } finally {
      this.close();
    }
  }

  private async nextBatch(): Promise<IteratorResult<CsvRow>> {
    await this.fill();
    if (this.index < this.batch.length) {
      return { done: false, value: this.batch[this.index++] as CsvRow };
    }
    const failure = this.failure;
    this.close();
    if (failure !== undefined) {
      this.failure = undefined;
      throw this.translate(failure);
    }
    return { done: true, value: undefined };
  }

  /** Reads input until the batch holds a record, or the input ends or fails. */
  private async fill(): Promise<void> {
    this.batch = [];
    this.index = 0;
    const out = this.batch;
    while (out.length === 0 && !this.ended && !this.closed && this.failure === undefined) {
      let next: IteratorResult<Buffer | string>;
      try {
        next = await this.source.next();
      } catch (error) {
        // Closing while a read was pending makes the input fail; that is no error of ours.
        if (!this.closed) this.failure = error;
        break;
      }
      if (this.closed) break;
      try {
        if (next.done) {
          this.ended = true;
          this.decoder.end();
          this.tokenizer.end(out);
        } else {
          this.push(next.value, out);
        }
      } catch (error) {
        this.failure = error;
      }
    }
  }

  private push(chunk: Buffer | string, out: CsvRecord[]): void {
    let text: string;
    try {
      text = this.decoder.decode(chunk);
    } catch (error) {
      // The records before the bad bytes come first.
      if (error instanceof NotUtf8Error) this.tokenizer.push(error.valid, out);
      throw error;
    }
    if (text.length > 0) this.tokenizer.push(text, out);
  }

  private where(line: number): { file?: string; stream?: string; line: number } {
    return { file: this.options.file, stream: this.options.stream, line };
  }

  private translate(error: unknown): unknown {
    if (error instanceof CsvSyntaxError) return this.describe(error);
    if (error instanceof NotUtf8Error) {
      return new RecordError(`the bytes at offset ${error.offset} are not valid UTF-8`, {
        code: 'CSV_INVALID',
        ...this.where(this.tokenizer.lineAtEnd),
        hint: 'Save the file as UTF-8',
      });
    }
    if (error instanceof SingerError) {
      return error.locate({ file: this.options.file, stream: this.options.stream });
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

  private describe(error: CsvSyntaxError): RecordError {
    const where = this.where(error.line);
    const column = error.field === undefined ? undefined : this.header[error.field];
    // A record spanning lines is found at fault on its last one, as COPY reports it.
    const record = error.recordLine === error.line ? '' : ` (its record starts on line ${error.recordLine})`;
    const ending = this.tokenizer.lineEnding ?? 'LF';
    switch (error.problem) {
      case 'RAGGED_ROW':
        return new RecordError(
          `the row has ${error.fieldCount ?? 0} fields but the header has ${this.header.length}${record}`,
          {
            code: 'CSV_RAGGED_ROW',
            ...where,
            hint: 'Each row needs one field per header column; quote fields holding the delimiter',
          },
        );
      case 'RECORD_TOO_LONG': {
        const limit = this.options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
        return new RecordError(`a record runs over ${limit} bytes (an unclosed quote?)`, {
          code: 'CSV_INVALID',
          ...where,
          hint: QUOTING_HINT,
        });
      }
      case 'QUOTE_NOT_CLOSED':
        return new RecordError(
          `unterminated quoted field: the quote opened on line ${error.quoteLine ?? error.recordLine} is never closed`,
          { code: 'CSV_INVALID', ...where, column, hint: QUOTING_HINT },
        );
      case 'UNQUOTED_CR':
        return new RecordError(
          ending === 'CRLF'
            ? `unquoted carriage return found in data: the file's lines end in CRLF, and this CR has no LF after it${record}`
            : `unquoted carriage return found in data: the file's lines end in LF (as its first line does), not CR${record}`,
          { code: 'CSV_INVALID', ...where, hint: LINE_ENDING_HINT },
        );
      case 'UNQUOTED_LF':
        return new RecordError(
          `unquoted newline found in data: the file's lines end in ${ending} (as its first line does), not LF${record}`,
          { code: 'CSV_INVALID', ...where, hint: LINE_ENDING_HINT },
        );
    }
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

/** Bytes that are not UTF-8, with the text decoded before them. */
class NotUtf8Error extends Error {
  constructor(
    readonly offset: number,
    readonly valid: string,
  ) {
    super(`the bytes at offset ${offset} are not valid UTF-8`);
  }
}

/**
 * Decodes UTF-8 chunks to text, failing on the first sequence that is not UTF-8 (a decoder
 * would turn it into U+FFFD silently, where COPY refuses the file) and dropping a byte order
 * mark at the start. A character split across chunks is decoded with the next chunk.
 */
class Utf8Text {
  private carry: Buffer | undefined;
  private offset = 0;
  private atStart = true;

  decode(data: Buffer | string): string {
    const chunk = toBuffer(data);
    const bytes = this.carry === undefined ? chunk : Buffer.concat([this.carry, chunk]);
    const complete = completeLength(bytes);
    if (!isUtf8(bytes.subarray(0, complete))) {
      const bad = firstInvalidUtf8(bytes);
      throw new NotUtf8Error(this.offset + bad, this.dropBom(bytes.toString('utf8', 0, bad)));
    }
    this.carry = complete < bytes.length ? Buffer.from(bytes.subarray(complete)) : undefined;
    this.offset += complete;
    return this.dropBom(bytes.toString('utf8', 0, complete));
  }

  /** Fails when the input ended inside a character. */
  end(): void {
    if (this.carry !== undefined) throw new NotUtf8Error(this.offset, '');
  }

  private dropBom(text: string): string {
    if (!this.atStart || text.length === 0) return text;
    this.atStart = false;
    return text.charCodeAt(0) === BOM ? text.slice(1) : text;
  }
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
