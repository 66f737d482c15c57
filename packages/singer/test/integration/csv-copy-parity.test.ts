/**
 * openCsv against PostgreSQL itself: CSV documents are COPY'd into text columns and read back in
 * order, and openCsv must yield the same values, null and '' told apart exactly; where COPY
 * refuses a document, openCsv must refuse it too, for the same reason and on the same line.
 *
 * The random documents hold what real files do: quoted and unquoted fields, quotes opening
 * mid-field and text after closing quotes, line breaks in quotes, and, in some, a stray quote
 * (mostly never closed), a stray CR or LF, or a line ending of another style. They leave out
 * what openCsv does differently on purpose or what COPY reads another way:
 * - blank lines, which openCsv skips (COPY reads a one-field row);
 * - anything odd in the header, which COPY does not parse with HEADER true (openCsv must: its
 *   names are the columns);
 * - a `\.` line, COPY's end-of-data marker.
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { pick, random, testDatabaseUrl } from '@singer-ts/devkit/testing';
import { Client, type DatabaseError } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { openCsv } from '../../src/csv-source';
import { SingerError } from '../../src/errors';

interface Document {
  text: string;
  delimiter: string;
  width: number;
}

type Problem = 'unterminated quote' | 'unquoted CR' | 'unquoted LF' | 'ragged row';

/** What reading a document gives: every row, or the first problem and the line it is on. */
type Outcome = { rows: unknown[][] } | { problem: Problem; line: number };

const LINE_ENDS = ['\n', '\r\n', '\r'];

/** A document: a header, then rows of fields quoted at random where they may be. */
function generate(next: () => number): Document {
  const delimiter = pick(next, [',', ';']);
  const other = delimiter === ',' ? ';' : ',';
  const width = 1 + Math.floor(next() * 5);
  const lineEnd = pick(next, LINE_ENDS);
  const plain = ['a', 'Z', '7', ' ', '.', '\\', 'é', 'ç', 'ã', 'ß', '€', '中', '😀', '👍🏽', other, "'"];
  const quotedOnly = [delimiter, '""', '\n', '\r', '\r\n'];
  const unquoted = (length: number): string => {
    let value = '';
    for (let i = 0; i < length; i += 1) value += pick(next, plain);
    return value;
  };
  const quoted = (length: number): string => {
    let value = '';
    for (let i = 0; i < length; i += 1) value += next() < 0.3 ? pick(next, quotedOnly) : pick(next, plain);
    return `"${value}"`;
  };
  const field = (): string => {
    const kind = next();
    const length = Math.floor(next() * 6);
    if (kind < 0.15) return '';
    if (kind < 0.3) return '""';
    if (kind < 0.6) return unquoted(length + 1);
    if (kind < 0.85) return quoted(length);
    // Quoted sections among unquoted text: ` "x"`, `"x"y`, `a"b,c"d`.
    return `${unquoted(Math.floor(next() * 2))}${quoted(length)}${unquoted(Math.floor(next() * 3))}`;
  };
  const header = Array.from({ length: width }, (_, i) => (next() < 0.3 ? `"col ${i}"` : `c${i}`));
  const rows: string[] = [];
  const count = Math.floor(next() * 8);
  for (let r = 0; r < count; r += 1) {
    const fields = Array.from({ length: width }, field);
    // A single unquoted empty field would be a blank line.
    if (width === 1 && fields[0] === '') fields[0] = '""';
    rows.push(fields.join(delimiter));
  }
  const ends = rows.map(() => lineEnd);
  const last = next() < 0.6;
  let body = '';
  const assemble = (): string => rows.map((row, i) => row + (i < rows.length - 1 || last ? ends[i] : '')).join('');
  const mutation = next();
  if (rows.length > 0 && mutation < 0.15) {
    // A row ending in another style (the last one too, when the document ends with one).
    const i = Math.floor(next() * (last ? rows.length : rows.length - 1));
    if (i >= 0 && i < rows.length) ends[i] = pick(next, LINE_ENDS.filter((end) => end !== lineEnd));
    body = assemble();
  } else if (rows.length > 0 && mutation < 0.45) {
    // A stray quote, or a stray CR, LF or CRLF, between two characters of the rows that are
    // no line ends (so no blank line appears); or two stray quotes.
    body = assemble();
    const strays = mutation < 0.25 ? ['"'] : mutation < 0.3 ? ['"', '"'] : [pick(next, LINE_ENDS)];
    for (const stray of strays) {
      const at = Math.floor(next() * (body.length + 1));
      if (/[\r\n]/.test(body[at - 1] ?? '') || /[\r\n]/.test(body[at] ?? '') || (at === 0 && stray !== '"')) continue;
      body = body.slice(0, at) + stray + body.slice(at);
    }
  } else {
    body = assemble();
  }
  const text = header.join(delimiter) + (rows.length > 0 || next() < 0.6 ? lineEnd : '') + body;
  return { text, delimiter, width };
}

/** `\.` alone on a line ends COPY's data. */
const hasEndMarker = (text: string): boolean => /(^|[\r\n])\\\.([\r\n]|$)/.test(text);

/**
 * Whether a line end outside quotes follows another (a CRLF being one): a blank line, which a
 * stray quote can make of quoted line breaks.
 */
function hasBlankLine(text: string): boolean {
  let quoted = false;
  let afterLineEnd = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    if (!quoted && (c === '\r' || c === '\n')) {
      if (afterLineEnd) return true;
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      afterLineEnd = true;
    } else {
      afterLineEnd = false;
    }
  }
  return false;
}

/** COPY's problem and line, from its error message and context (`COPY parity, line 3: …`). */
function copyProblem(error: DatabaseError): { problem: Problem; line: number } {
  const message = error.message;
  let problem: Problem;
  if (message === 'unterminated CSV quoted field') problem = 'unterminated quote';
  else if (message === 'unquoted carriage return found in data') problem = 'unquoted CR';
  else if (message === 'unquoted newline found in data') problem = 'unquoted LF';
  else if (/^(extra data after last expected column|missing data for column)/.test(message)) problem = 'ragged row';
  else throw error;
  const line = /, line (\d+)/.exec(error.where ?? '')?.[1];
  if (line === undefined) throw error;
  return { problem, line: Number(line) };
}

async function readWithCopy(client: Client, doc: Document): Promise<Outcome> {
  const columns = Array.from({ length: doc.width }, (_, i) => `c${i}`);
  await client.query(
    `CREATE TEMP TABLE parity (${columns.map((c) => `${c} text`).join(', ')}, n bigserial)`,
  );
  try {
    const copy = client.query(
      copyFrom(
        `COPY parity (${columns.join(', ')}) FROM STDIN WITH (FORMAT csv, HEADER true, DELIMITER '${doc.delimiter}')`,
      ),
    );
    try {
      await pipeline(Readable.from([Buffer.from(doc.text, 'utf8')]), copy);
    } catch (error) {
      return copyProblem(error as DatabaseError);
    }
    const result = await client.query({ text: `SELECT ${columns.join(', ')} FROM parity ORDER BY n`, rowMode: 'array' });
    return { rows: result.rows as unknown[][] };
  } finally {
    await client.query('DROP TABLE parity');
  }
}

/** openCsv's problem and line, from its error. */
function openCsvProblem(error: SingerError): { problem: Problem; line: number } {
  let problem: Problem;
  if (error.code === 'CSV_RAGGED_ROW') problem = 'ragged row';
  else if (/^unterminated quoted field/.test(error.message)) problem = 'unterminated quote';
  else if (/^unquoted carriage return found in data/.test(error.message)) problem = 'unquoted CR';
  else if (/^unquoted newline found in data/.test(error.message)) problem = 'unquoted LF';
  else throw error;
  return { problem, line: error.line ?? -1 };
}

/** openCsv's outcome, reading the bytes cut at random places. */
async function readWithOpenCsv(doc: Document, next: () => number): Promise<Outcome> {
  const bytes = Buffer.from(doc.text, 'utf8');
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * 16);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  const rows: (string | null)[][] = [];
  try {
    const csv = await openCsv(Readable.from(chunks), { delimiter: doc.delimiter });
    expect(csv.header).toHaveLength(doc.width);
    for await (const row of csv.rows) rows.push(row.fields);
  } catch (error) {
    if (!(error instanceof SingerError)) throw error;
    return openCsvProblem(error);
  }
  return { rows };
}

describe('openCsv against PostgreSQL COPY … CSV', () => {
  let client: Client;

  beforeAll(async () => {
    client = new Client({ connectionString: testDatabaseUrl() });
    await client.connect();
    await client.query("SET client_encoding TO 'UTF8'");
  });

  afterAll(async () => {
    await client?.end();
  });

  it.each([
    ['a space before a quote', 'a,b\n1, "x"\n'],
    ['text after a closing quote', 'a,b\n1,"x"y\n'],
    ['quotes mid-field pairing up across a delimiter', "id,position\n1,37°46'30\"N,122°25'9\"W\n"],
    ['a quote mid-field never closed', "a,b\n1,37°46'30\"N\n2,x\n"],
    ['a stray CR in an LF file', 'id,comment\n1,see attached\r2,ok\n3,fine\n'],
    ['a CRLF in an LF file', 'a,b\n1,2\r\n3,4\n'],
    ['an LF in a CRLF file', 'a,b\r\n1,2\n3,4\r\n'],
    ['a lone CR in a CRLF file', 'a,b\r\n1,2\r3,4\r\n'],
    ['a CR ending a CRLF file', 'a,b\r\n1,2\r'],
    ['a CRLF in a CR file', 'a,b\r1,2\r\n3,4\r'],
    ['a quoted CR in an LF file and a quoted LF in a CRLF file', 'a,b\n1,"x\ry"\n2,"a\nb"\n3\n'],
    ['a quoted LF in a CRLF file', 'a,b\r\n1,"x\ny"\r\n2,"a\rb"\r\n3\r\n'],
    ['an unclosed quote spanning lines', 'a,b\n1,2\n3,"x\n4,5\n'],
    ['an unclosed quote at the end without a line end', 'a,b\n1,2\n3,"x\n4,5'],
    ['a ragged record spanning lines', 'a,b\n"x\ny"\n'],
  ])('reads %s as COPY does', async (_what, text) => {
    const doc = { text, delimiter: ',', width: text.split(/\r|\n/)[0]!.split(',').length };
    expect(await readWithOpenCsv(doc, random(text.length))).toEqual(await readWithCopy(client, doc));
  });

  it('reads 600 random documents as COPY does, every value and every refusal with its line', async () => {
    const next = random(20240611);
    const seen = { nulls: 0, empties: 0, lineBreaks: 0, rows: 0, midFieldQuotes: 0 };
    const problems = new Map<string, number>();
    for (let i = 0; i < 600; i += 1) {
      let doc = generate(next);
      while (hasEndMarker(doc.text) || hasBlankLine(doc.text)) doc = generate(next);
      const expected = await readWithCopy(client, doc);
      const actual = await readWithOpenCsv(doc, next);
      expect([i, doc.text, actual]).toEqual([i, doc.text, expected]);
      if ('problem' in actual) {
        problems.set(actual.problem, (problems.get(actual.problem) ?? 0) + 1);
        continue;
      }
      if (/[^\r\n;,]"[^\r\n;,]/.test(doc.text)) seen.midFieldQuotes += 1;
      for (const row of actual.rows) {
        seen.rows += 1;
        for (const value of row) {
          if (value === null) seen.nulls += 1;
          else if (value === '') seen.empties += 1;
          else if (/[\r\n]/.test(value as string)) seen.lineBreaks += 1;
        }
      }
    }
    // The documents held what they are meant to compare.
    expect(seen.rows).toBeGreaterThan(1000);
    expect(seen.nulls).toBeGreaterThan(100);
    expect(seen.empties).toBeGreaterThan(100);
    expect(seen.lineBreaks).toBeGreaterThan(100);
    expect(seen.midFieldQuotes).toBeGreaterThan(50);
    for (const problem of ['unterminated quote', 'unquoted CR', 'unquoted LF', 'ragged row']) {
      expect([problem, (problems.get(problem) ?? 0) > 10]).toEqual([problem, true]);
    }
  });
});
