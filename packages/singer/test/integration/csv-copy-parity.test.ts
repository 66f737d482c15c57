/**
 * openCsv against PostgreSQL itself: random CSV documents are COPY'd into text columns and
 * read back in order, and openCsv must yield the same values, null and '' told apart exactly.
 *
 * The generator leaves out the two documented, deliberate differences (blank lines, which we
 * skip; stray quotes, which we refuse) and what COPY itself refuses: mixing record line ends in
 * one document, and a `\.` line (COPY's end-of-data marker).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { pick, random, testDatabaseUrl } from '@singer-ts/devkit/testing';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { openCsv } from '../../src/csv-source';

interface Document {
  text: string;
  delimiter: string;
  width: number;
}

/** A well-formed document: a header, then rows of fields quoted at random where they may be. */
function generate(next: () => number): Document {
  const delimiter = pick(next, [',', ';']);
  const other = delimiter === ',' ? ';' : ',';
  const width = 1 + Math.floor(next() * 5);
  const lineEnd = pick(next, ['\n', '\r\n', '\r']);
  const plain = ['a', 'Z', '7', ' ', '.', '\\', 'é', 'ç', 'ã', 'ß', '€', '中', '😀', '👍🏽', other, "'"];
  const quotedOnly = [delimiter, '""', '\n', '\r', '\r\n'];
  const field = (): string => {
    const kind = next();
    const length = Math.floor(next() * 6);
    if (kind < 0.15) return '';
    if (kind < 0.3) return '""';
    let value = '';
    if (kind < 0.65) {
      for (let i = 0; i < length + 1; i += 1) value += pick(next, plain);
      // `\.` alone on a line would end COPY's data.
      return value === '\\.' ? 'x\\.' : value;
    }
    for (let i = 0; i < length; i += 1) value += next() < 0.3 ? pick(next, quotedOnly) : pick(next, plain);
    return `"${value}"`;
  };
  const header = Array.from({ length: width }, (_, i) => (next() < 0.3 ? `"col ${i}"` : `c${i}`));
  const lines = [header.join(delimiter)];
  const rows = Math.floor(next() * 8);
  for (let r = 0; r < rows; r += 1) {
    const fields = Array.from({ length: width }, field);
    // A single unquoted empty field would be a blank line.
    if (width === 1 && fields[0] === '') fields[0] = '""';
    lines.push(fields.join(delimiter));
  }
  const text = lines.join(lineEnd) + (next() < 0.6 ? lineEnd : '');
  return { text, delimiter, width };
}

async function copyAndSelect(client: Client, doc: Document): Promise<unknown[][]> {
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
    await pipeline(Readable.from([Buffer.from(doc.text, 'utf8')]), copy);
    const result = await client.query({ text: `SELECT ${columns.join(', ')} FROM parity ORDER BY n`, rowMode: 'array' });
    return result.rows as unknown[][];
  } finally {
    await client.query('DROP TABLE parity');
  }
}

/** openCsv's fields, read from the bytes cut at random places. */
async function readWithOpenCsv(doc: Document, next: () => number): Promise<(string | null)[][]> {
  const bytes = Buffer.from(doc.text, 'utf8');
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * 16);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  const csv = await openCsv(Readable.from(chunks), { delimiter: doc.delimiter });
  expect(csv.header).toHaveLength(doc.width);
  const rows: (string | null)[][] = [];
  for await (const row of csv.rows) rows.push(row.fields);
  return rows;
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

  it('reads every value of 400 random documents as COPY does, null and empty string apart', async () => {
    const next = random(20240611);
    const seen = { nulls: 0, empties: 0, lineBreaks: 0, rows: 0 };
    for (let i = 0; i < 400; i += 1) {
      const doc = generate(next);
      const expected = await copyAndSelect(client, doc);
      const actual = await readWithOpenCsv(doc, next);
      expect([i, doc.text, actual]).toEqual([i, doc.text, expected]);
      for (const row of actual) {
        seen.rows += 1;
        for (const value of row) {
          if (value === null) seen.nulls += 1;
          else if (value === '') seen.empties += 1;
          else if (/[\r\n]/.test(value)) seen.lineBreaks += 1;
        }
      }
    }
    // The documents held what they are meant to compare.
    expect(seen.rows).toBeGreaterThan(1000);
    expect(seen.nulls).toBeGreaterThan(100);
    expect(seen.empties).toBeGreaterThan(100);
    expect(seen.lineBreaks).toBeGreaterThan(100);
  });
});
