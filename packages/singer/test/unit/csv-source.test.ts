import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { type CsvOptions, type CsvRow, maybeGunzip, openCsv } from '../../src/csv-source';
import { SingerError } from '../../src/errors';

const FIXTURES = join(__dirname, '..', 'fixtures', 'csv');

type Input = Readable | AsyncIterable<Buffer | string>;

async function readAll(input: Input, options: CsvOptions = {}): Promise<{ header: readonly string[]; rows: CsvRow[] }> {
  const csv = await openCsv(input, options);
  const rows: CsvRow[] = [];
  for await (const row of csv.rows) rows.push(row);
  return { header: csv.header, rows };
}

/** Rows read before the error, and the error. */
async function readUntilError(input: Input, options: CsvOptions = {}): Promise<{ rows: CsvRow[]; error: SingerError }> {
  const rows: CsvRow[] = [];
  try {
    const csv = await openCsv(input, options);
    for await (const row of csv.rows) rows.push(row);
  } catch (error) {
    expect(error).toBeInstanceOf(SingerError);
    return { rows, error: error as SingerError };
  }
  throw new Error('expected an error');
}

const text = (s: string): Readable => Readable.from([Buffer.from(s, 'utf8')]);
/** The same bytes, one byte per chunk: every boundary case of the parser at once. */
const byteByByte = (s: string): Readable => Readable.from([...Buffer.from(s, 'utf8')].map((b) => Buffer.from([b])));

describe('openCsv', () => {
  it('reads the header and each row with the line where it starts', async () => {
    const { header, rows } = await readAll(text('a,b\n1,2\n3,4\n'));
    expect(header).toEqual(['a', 'b']);
    expect(rows).toEqual([
      { line: 2, fields: ['1', '2'] },
      { line: 3, fields: ['3', '4'] },
    ]);
  });

  it('reads an unquoted empty field as null and a quoted empty field as the empty string', async () => {
    const { rows } = await readAll(text('a,b,c\n,"",x\n"",,\n,,\n'));
    expect(rows.map((r) => r.fields)).toEqual([
      [null, '', 'x'],
      ['', null, null],
      [null, null, null],
    ]);
  });

  it('tells quoted from unquoted empties next to quoted fields holding delimiters and doubled quotes', async () => {
    const { rows } = await readAll(text('a,b,c,d\n"x,""y""",,"",""""\n'));
    expect(rows[0]?.fields).toEqual(['x,"y"', null, '', '"']);
  });

  it('drops a UTF-8 byte order mark', async () => {
    const { header } = await readAll(text('\ufeffid,name\n1,x\n'));
    expect(header).toEqual(['id', 'name']);
  });

  it('keeps a BOM-like character that is not at the start of the input', async () => {
    const { rows } = await readAll(text('a\n\ufeffx\n'));
    expect(rows[0]?.fields).toEqual(['\ufeffx']);
  });

  it('reads CRLF files, keeps quoted line breaks and counts a record spanning lines', async () => {
    const { header, rows } = await readAll(createReadStream(join(FIXTURES, 'crlf-bom.csv')), { file: 'crlf-bom.csv' });
    expect(header).toEqual(['id', 'name', 'note']);
    expect(rows).toEqual([
      { line: 2, fields: ['1', 'Ana', 'line one\r\nline two'] },
      // line 3 is the record's second line, line 4 is blank
      { line: 5, fields: ['2', null, ''] },
      { line: 6, fields: ['3', 'Zé "Pequeno"', 'plain'] },
    ]);
  });

  it('counts every line of a record spanning several lines and of blank lines around it', async () => {
    const { rows } = await readAll(text('a,b\n1,"x\ny\nz"\n\n\n5,"\n"\n\n7,8'));
    expect(rows.map((r) => r.line)).toEqual([2, 7, 10]);
    expect(rows[1]?.fields).toEqual(['5', '\n']);
    expect(rows[2]?.fields).toEqual(['7', '8']);
  });

  it('skips blank lines in the middle and at the end, and before the header', async () => {
    const { header, rows } = await readAll(text('\n\na,b\n\n1,2\n\n\n3,4\n\n\n'));
    expect(header).toEqual(['a', 'b']);
    expect(rows).toEqual([
      { line: 5, fields: ['1', '2'] },
      { line: 8, fields: ['3', '4'] },
    ]);
  });

  it('ends records at a lone CR too, as COPY does for old Mac files', async () => {
    const { rows } = await readAll(text('a,b\r1,2\r\r3,4\r'));
    expect(rows).toEqual([
      { line: 2, fields: ['1', '2'] },
      { line: 4, fields: ['3', '4'] },
    ]);
  });

  it('reads a quote opening mid-field and text after a closing quote as COPY does', async () => {
    const { rows } = await readAll(text('a,b,c\n1, "x","y"z\n2,a""b,\n'));
    expect(rows.map((r) => r.fields)).toEqual([
      ['1', ' x', 'yz'],
      ['2', 'ab', null],
    ]);
    // Two quotes in one field pair up, delimiter and all, as in COPY.
    const coordinates = await readAll(text('id,position\n1,37°46\'30"N,122°25\'9"W\n'));
    expect(coordinates.rows[0]?.fields).toEqual(['1', "37°46'30N,122°25'9W"]);
  });

  it('takes the line ending from the first line and reads CRLF and CR files whole', async () => {
    for (const end of ['\r\n', '\r']) {
      const { rows } = await readAll(byteByByte(['a,b', '1,"x\ny"', '', '3,4'].join(end) + end));
      expect(rows).toEqual([
        { line: 2, fields: ['1', 'x\ny'] },
        { line: 4, fields: ['3', '4'] },
      ]);
    }
  });

  it('reads a last line without a line end', async () => {
    const { rows } = await readAll(text('a,b\n1,2\n3,'));
    expect(rows).toEqual([
      { line: 2, fields: ['1', '2'] },
      { line: 3, fields: ['3', null] },
    ]);
  });

  it('reads a single-column file, skipping its blank lines but keeping a quoted empty row', async () => {
    const { rows } = await readAll(text('a\nx\n\n""\ny\n'));
    expect(rows).toEqual([
      { line: 2, fields: ['x'] },
      { line: 4, fields: [''] },
      { line: 5, fields: ['y'] },
    ]);
  });

  it('gives the same rows and lines whatever the chunk boundaries', async () => {
    const source = '\ufeffa,b,c\r\n"1\r\n",,""\r\n\r\nZé,"x""y","€"\r\n4,5,6';
    const whole = await readAll(text(source));
    const split = await readAll(byteByByte(source));
    expect(split).toEqual(whole);
    expect(whole.rows.map((r) => r.line)).toEqual([2, 5, 6]);
  });

  it('uses a configured delimiter', async () => {
    const { header, rows } = await readAll(createReadStream(join(FIXTURES, 'semicolon.csv')), { delimiter: ';' });
    expect(header).toEqual(['order_id', 'price', 'city']);
    expect(rows).toEqual([
      { line: 2, fields: ['a1', '10.50', 'São Paulo'] },
      { line: 4, fields: ['a2', null, 'Rio; de Janeiro'] },
    ]);
  });

  it('reads tab-separated values with the tab delimiter', async () => {
    const { rows } = await readAll(text('a\tb\n1,5\t\n'), { delimiter: '\t' });
    expect(rows[0]?.fields).toEqual(['1,5', null]);
  });

  it.each([[''], [';;'], ['"'], ['\n']])('rejects the delimiter %j', async (delimiter) => {
    await expect(openCsv(text('a\n'), { delimiter })).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });

  it('returns an empty header and no rows for empty input', async () => {
    expect(await readAll(Readable.from([]))).toEqual({ header: [], rows: [] });
    expect(await readAll(text('\n\n'))).toEqual({ header: [], rows: [] });
  });

  it('returns the header and no rows for a header-only file', async () => {
    expect(await readAll(text('a,b'))).toEqual({ header: ['a', 'b'], rows: [] });
  });

  it('accepts string chunks', async () => {
    const { rows } = await readAll(Readable.from(['a,b\n1,', '2\n']));
    expect(rows[0]?.fields).toEqual(['1', '2']);
  });
});

describe('openCsv on gzip input', () => {
  const source = 'a,b\n1,"x\ny"\n\n3,\n';

  it('gunzips input that starts with the gzip magic bytes', async () => {
    expect(await readAll(Readable.from([gzipSync(source)]))).toEqual(await readAll(text(source)));
  });

  it('gunzips input arriving one byte at a time', async () => {
    const bytes = [...gzipSync(source)].map((b) => Buffer.from([b]));
    const { rows } = await readAll(Readable.from(bytes));
    expect(rows.map((r) => r.line)).toEqual([2, 5]);
  });

  it('reads gzip bytes as data when gunzipping is turned off, and fails on them as not UTF-8', async () => {
    const { error } = await readUntilError(Readable.from([gzipSync(source)]), { gunzip: false });
    expect(error.code).toBe('CSV_INVALID');
  });

  it('fails with CSV_INVALID naming the file on corrupt gzip data', async () => {
    const bytes = gzipSync(source);
    const corrupt = Buffer.concat([bytes.subarray(0, 10), Buffer.from('not deflate at all')]);
    const { error } = await readUntilError(Readable.from([corrupt]), { file: 'x.csv.gz', stream: 's' });
    expect(error).toMatchObject({ code: 'CSV_INVALID', file: 'x.csv.gz', stream: 's' });
  });

  it('maybeGunzip passes plain bytes through and gunzips gzip bytes', async () => {
    const collect = async (r: Readable): Promise<string> => {
      const parts: Buffer[] = [];
      for await (const chunk of r) parts.push(chunk as Buffer);
      return Buffer.concat(parts).toString('utf8');
    };
    expect(await collect(maybeGunzip(Readable.from([Buffer.from(source)])))).toBe(source);
    expect(await collect(maybeGunzip(Readable.from([gzipSync(source)])))).toBe(source);
    expect(await collect(maybeGunzip(Readable.from([])))).toBe('');
    expect(await collect(maybeGunzip(Readable.from([Buffer.from([0x1f])])))).toBe('\x1f');
  });
});

describe('openCsv errors', () => {
  const where = { file: 's3://bucket/t.csv', stream: 't' };

  it('fails with CSV_RAGGED_ROW naming file, stream and line on a row with too many fields', async () => {
    const { rows, error } = await readUntilError(text('a,b\n1,2\n\n3,4,5\n6,7\n'), where);
    expect(rows.map((r) => r.line)).toEqual([2]);
    expect(error).toMatchObject({ code: 'CSV_RAGGED_ROW', ...where, line: 4 });
  });

  it('fails with CSV_RAGGED_ROW on a row with too few fields', async () => {
    const { error } = await readUntilError(text('a,b\n1,"x\ny"\n3\n'), where);
    expect(error).toMatchObject({ code: 'CSV_RAGGED_ROW', line: 4 });
  });

  it.each([
    ['a duplicate name', 'a,b,a\n1,2,3\n', /twice/],
    ['an empty name', 'a,,c\n1,2,3\n', /empty name/],
    ['a quoted empty name', 'a,""\n1,2\n', /empty name/],
  ])('fails with CSV_BAD_HEADER on a header with %s', async (_what, source, message) => {
    const { error } = await readUntilError(text(source), where);
    expect(error).toMatchObject({ code: 'CSV_BAD_HEADER', ...where, line: 1 });
    expect(error.message).toMatch(message);
  });

  it('fails with CSV_INVALID on a CR in an LF file, on its line, after the rows before it', async () => {
    const { rows, error } = await readUntilError(text('id,comment\n1,see attached\r2,ok\n3,fine\n'), where);
    expect(rows).toEqual([]);
    expect(error).toMatchObject({ code: 'CSV_INVALID', ...where, line: 2 });
    expect(error.message).toMatch(/unquoted carriage return found in data: the file's lines end in LF/);
  });

  it.each([
    ['an LF file', 'a,b\n1,2\n3,4\r\n', 3, /unquoted carriage return found in data: the file's lines end in LF/],
    ['a CRLF file', 'a,b\r\n1,2\r\n3,4\n', 3, /unquoted newline found in data: the file's lines end in CRLF/],
    ['a CRLF file, a lone CR', 'a,b\r\n1,2\r3,4\r\n', 2, /the file's lines end in CRLF, and this CR has no LF after it/],
    ['a CR file', 'a,b\r1,2\r\n3,4\r', 3, /unquoted newline found in data: the file's lines end in CR/],
  ])('fails with CSV_INVALID on another line ending in %s, on the line COPY names', async (_what, source, line, message) => {
    for (const input of [text(source), byteByByte(source)]) {
      const { error } = await readUntilError(input, where);
      expect(error).toMatchObject({ code: 'CSV_INVALID', ...where, line });
      expect(error.message).toMatch(message);
    }
  });

  it('fails with CSV_INVALID on a quote that is never closed, on the last line as COPY does, naming where it opened', async () => {
    const { rows, error } = await readUntilError(text('a,b\n1,2\n3,"4\n\n5,6\n'), where);
    expect(rows.map((r) => r.line)).toEqual([2]);
    expect(error).toMatchObject({ code: 'CSV_INVALID', ...where, line: 6, column: 'b' });
    expect(error.message).toMatch(/unterminated quoted field: the quote opened on line 3 is never closed/);
  });

  it('names the last line of a ragged record spanning lines, as COPY does, and where it starts', async () => {
    const { error } = await readUntilError(text('a,b\n"x\ny"\n'), where);
    expect(error).toMatchObject({ code: 'CSV_RAGGED_ROW', line: 3 });
    expect(error.message).toMatch(/its record starts on line 2/);
  });

  it('fails with CSV_INVALID when a record outgrows the record size limit', async () => {
    const chunks = [Buffer.from('a,b\n1,"')];
    for (let i = 0; i < 200; i += 1) chunks.push(Buffer.alloc(1024, 'x'));
    const { error } = await readUntilError(Readable.from(chunks), { ...where, maxRecordBytes: 64 * 1024 });
    expect(error).toMatchObject({ code: 'CSV_INVALID', ...where });
  });

  it('does not count long runs of ordinary short records against the record size limit', async () => {
    // The limit is checked per chunk against the parser's progress, which lags the input by
    // the parser's write buffer; it is meant for megabytes, not bytes.
    const chunks = [Buffer.from('a,b\n')];
    for (let i = 0; i < 500; i += 1) chunks.push(Buffer.from('1,2\n'.repeat(100)));
    const { rows } = await readAll(Readable.from(chunks), { maxRecordBytes: 64 * 1024 });
    expect(rows).toHaveLength(50_000);
  });

  it('fails with CSV_INVALID on bytes that are not UTF-8', async () => {
    const bytes = Buffer.concat([Buffer.from('a,b\n1,caf'), Buffer.from([0xe9]), Buffer.from(',x\n')]);
    const { error } = await readUntilError(Readable.from([bytes]), where);
    expect(error).toMatchObject({ code: 'CSV_INVALID', ...where });
    expect(error.message).toMatch(/offset 9 .*UTF-8/);
  });

  it('fails on a UTF-16 file rather than misreading it', async () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('a,b\n1,2\n', 'utf16le')]);
    const { error } = await readUntilError(Readable.from([bytes]), where);
    expect(error.code).toBe('CSV_INVALID');
  });

  it('fails on input ending in the middle of a multi-byte character', async () => {
    const euro = Buffer.from('€');
    const { error } = await readUntilError(Readable.from([Buffer.from('a\n'), euro.subarray(0, 2)]), where);
    expect(error.code).toBe('CSV_INVALID');
  });

  it('passes an error of the input stream through unchanged', async () => {
    const failure = new Error('connection reset');
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('a,b\n1,2\n');
      throw failure;
    }
    await expect(readAll(Readable.from(failing()))).rejects.toBe(failure);
  });

  it('releases the input on close() without reading the rows', async () => {
    const input = Readable.from(['a,b\n', '1,2\n', '3,4\n']);
    const csv = await openCsv(input);
    csv.close();
    await new Promise((resolve) => setImmediate(resolve));
    expect(input.destroyed).toBe(true);
  });

  it('releases the input when the caller stops iterating early', async () => {
    const input = Readable.from(['a,b\n', '1,2\n', '3,4\n']);
    const csv = await openCsv(input);
    for await (const row of csv.rows) {
      expect(row.line).toBe(2);
      break;
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(input.destroyed).toBe(true);
  });
});
