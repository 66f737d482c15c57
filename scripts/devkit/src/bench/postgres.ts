/**
 * The PostgreSQL the benchmarks measure against, and the floors they measure in the same run.
 *
 * Benchmarks measure what users get: a server with PostgreSQL's stock durable settings (fsync
 * and synchronous_commit on). `BENCH_DATABASE_URL` points them at a server of your own (it is
 * used as it is; its settings are printed); otherwise one is started for the run and removed
 * after. The test suite's fsync-off server is never used here.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { Client } from 'pg';
import type * as CopyStreams from 'pg-copy-streams';

import { startPostgres } from '../local-services';

export interface BenchPostgres {
  readonly url: string;
  /** `fsync=on synchronous_commit=on …`, as the server reports them. */
  readonly settings: string;
  readonly durable: boolean;
  stop(): Promise<void>;
}

const SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_wal_size', 'server_version'];

/** `BENCH_DATABASE_URL`'s server, or a durable one started for the run. */
export async function benchPostgres(): Promise<BenchPostgres> {
  const given = process.env.BENCH_DATABASE_URL;
  const server = given ? undefined : await startPostgres();
  const url = given ?? (server?.url as string);
  const client = new Client({ connectionString: url });
  await client.connect();
  const values: Record<string, string> = {};
  try {
    for (const name of SETTINGS) {
      const { rows } = await client.query<{ value: string }>('SELECT current_setting($1) AS value', [name]);
      values[name] = rows[0]?.value ?? '?';
    }
  } finally {
    await client.end();
  }
  return {
    url,
    settings: SETTINGS.map((name) => `${name}=${values[name]}`).join(' '),
    durable: values.fsync === 'on' && values.synchronous_commit !== 'off',
    stop: async () => server?.stop(),
  };
}

/** `psql` on PATH, or the newest one Debian's packages install; `undefined` when there is none. */
export function findPsql(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && existsSync(join(dir, 'psql'))) return join(dir, 'psql');
  }
  const debian = '/usr/lib/postgresql';
  if (!existsSync(debian)) return undefined;
  const versions = readdirSync(debian).filter((v) => existsSync(join(debian, v, 'bin', 'psql')));
  versions.sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : join(debian, versions[0], 'bin', 'psql');
}

/** Runs SQL statements on a fresh connection. */
export async function sql(url: string, text: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function countRows(url: string, table: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    return Number(rows[0]?.n);
  } finally {
    await client.end();
  }
}

/** Seconds `psql \copy` takes to load a CSV file (with a header) into `table`, one transaction. */
export async function psqlCopy(psql: string, url: string, table: string, csvPath: string): Promise<number> {
  const started = process.hrtime.bigint();
  const child = spawn(psql, [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c', `\\copy ${table} FROM '${csvPath}' WITH (FORMAT csv, HEADER true)`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => void (stderr += chunk));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`psql \\copy into ${table} failed: ${stderr.trim()}`);
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Seconds `COPY … FROM STDIN (FORMAT csv)` through pg-copy-streams takes, in one transaction. */
export async function driverCopy(copyFrom: typeof CopyStreams.from, url: string, table: string, csvPath: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const started = process.hrtime.bigint();
    await client.query('BEGIN');
    await pipeline(createReadStream(csvPath, { highWaterMark: 256 * 1024 }), client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT csv, HEADER true)`)));
    await client.query('COMMIT');
    return Number(process.hrtime.bigint() - started) / 1e9;
  } finally {
    await client.end();
  }
}
