/**
 * End-to-end helpers: the real `tap-minio-csv | target-postgres` executables, and a table
 * loaded by PostgreSQL's own `COPY … CSV` to compare with.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const ROOT = join(__dirname, '../../../..');
export const TAP_BIN = join(ROOT, 'packages/tap-minio-csv/bin/tap-minio-csv.js');
export const TARGET_BIN = join(ROOT, 'packages/target-postgres/bin/target-postgres.js');

export function databaseUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run through the root jest config (global setup)');
  return url;
}

export function uniqueSchema(label: string): string {
  return `tmc_${label}_${randomBytes(4).toString('hex')}`;
}

export async function connect(): Promise<Client> {
  const client = new Client({ connectionString: databaseUrl() });
  await client.connect();
  await client.query("SET TimeZone TO 'UTC'");
  return client;
}

export async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value));
  return path;
}

export async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'tap-minio-csv-e2e-'));
}

export interface PipeResult {
  tapCode: number | null;
  targetCode: number | null;
  tapLog: string;
  targetLog: string;
  /** What the target printed: state values, one per line. */
  targetOut: string;
}

/** Runs `tap-minio-csv <tapArgs> | target-postgres <targetArgs>` as two processes. */
export async function runPipe(tapArgs: string[], targetArgs: string[]): Promise<PipeResult> {
  const env = { ...process.env, LOG_LEVEL: 'info' };
  const tap = spawn(process.execPath, [TAP_BIN, ...tapArgs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const target = spawn(process.execPath, [TARGET_BIN, ...targetArgs], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  tap.stdout.pipe(target.stdin);
  const text = (stream: NodeJS.ReadableStream): Promise<string> =>
    new Promise((resolve) => {
      let out = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => (out += chunk));
      stream.on('end', () => resolve(out));
    });
  const [tapLog, targetLog, targetOut] = [text(tap.stderr), text(target.stderr), text(target.stdout)];
  const exit = (child: ReturnType<typeof spawn>): Promise<number | null> =>
    new Promise((resolve) => child.on('close', (code) => resolve(code)));
  const [tapCode, targetCode] = await Promise.all([exit(tap), exit(target)]);
  return { tapCode, targetCode, tapLog: await tapLog, targetLog: await targetLog, targetOut: await targetOut };
}

/**
 * Loads `csvPath` with `COPY … FROM STDIN (FORMAT csv, HEADER true)` into `copySchema.table`,
 * a table with the same columns and types as `loadedSchema.table` (the `_sdc_` columns left
 * out), and returns the differences, both ways, as rows: `[]` when the tables hold the same
 * values row for row.
 */
export async function compareWithCopy(
  client: Client,
  loadedSchema: string,
  copySchema: string,
  table: string,
  csvPath: string,
  header: readonly string[],
): Promise<{ loaded: number; copied: number; onlyLoaded: unknown[]; onlyCopied: unknown[] }> {
  const ident = (name: string): string => client.escapeIdentifier(name);
  const columns = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a
      WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
    [`${ident(loadedSchema)}.${ident(table)}`],
  );
  const types = new Map(columns.rows.map((c) => [c.name, c.type]));
  for (const name of header) {
    if (!types.has(name)) throw new Error(`${loadedSchema}.${table} has no column ${name}`);
  }
  const list = header.map(ident).join(', ');
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(copySchema)}`);
  await client.query(
    `CREATE TABLE ${ident(copySchema)}.${ident(table)} (${header.map((n) => `${ident(n)} ${types.get(n)}`).join(', ')})`,
  );
  await pipeline(
    createReadStream(csvPath),
    client.query(copyFrom(`COPY ${ident(copySchema)}.${ident(table)} (${list}) FROM STDIN WITH (FORMAT csv, HEADER true)`)),
  );
  const loadedTable = `${ident(loadedSchema)}.${ident(table)}`;
  const copyTable = `${ident(copySchema)}.${ident(table)}`;
  const count = async (t: string): Promise<number> => Number((await client.query(`SELECT count(*) AS n FROM ${t}`)).rows[0].n);
  const onlyLoaded = await client.query(`SELECT ${list} FROM ${loadedTable} EXCEPT ALL SELECT ${list} FROM ${copyTable} LIMIT 5`);
  const onlyCopied = await client.query(`SELECT ${list} FROM ${copyTable} EXCEPT ALL SELECT ${list} FROM ${loadedTable} LIMIT 5`);
  return {
    loaded: await count(loadedTable),
    copied: await count(copyTable),
    onlyLoaded: onlyLoaded.rows,
    onlyCopied: onlyCopied.rows,
  };
}
