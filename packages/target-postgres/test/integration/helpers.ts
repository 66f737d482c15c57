import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { connectTestDatabase, testDatabaseUrl, uniqueSchema as sharedUniqueSchema } from '@singer-ts/devkit/testing';
import { runTargetInProcess, type TargetRunResult } from '@singer-ts/singer/testing';
import type { Client } from 'pg';

import { TARGET_POSTGRES_SPEC } from '../../src/cli';
import { TargetPostgres } from '../../src/target';

export const FIXTURES = join(__dirname, '..', 'fixtures');
export const BIN = join(__dirname, '..', '..', 'bin', 'target-postgres.js');

/** The suite's PostgreSQL (the shared test support). */
export const databaseUrl = testDatabaseUrl;

/** A schema name of its own for one test. */
export function uniqueSchema(label: string): string {
  return sharedUniqueSchema(`tp_${label}`);
}

/** A client of the suite's PostgreSQL, in UTC. */
export const connect = connectTestDatabase;

/** Writes a config file for the target (connection from TEST_DATABASE_URL) and returns its path. */
export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'target-postgres-test-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify({ connection_string: databaseUrl(), ...config }));
  return path;
}

export function fixture(name: string): Promise<string> {
  return readFile(join(FIXTURES, name), 'utf8');
}

/** Runs the target in-process on the input with the given config. */
export async function runTarget(
  input: string | string[] | Readable,
  config: Record<string, unknown>,
  options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; args?: string[] } = {},
): Promise<TargetRunResult> {
  return runTargetInProcess(
    TARGET_POSTGRES_SPEC,
    (c, context) => new TargetPostgres(c, context),
    input,
    {
      args: ['-c', writeConfig(config), ...(options.args ?? [])],
      env: options.env ?? { ...process.env, LOG_LEVEL: 'info' },
      signal: options.signal,
    },
  );
}

/** `SELECT` as a list of rows with text values. */
export async function select(client: Client, sql: string, params: unknown[] = []): Promise<Record<string, string | null>[]> {
  const { rows } = await client.query<Record<string, string | null>>({ text: sql, values: params, types: textTypes });
  return rows;
}

/** Every value as PostgreSQL's text output, so comparisons are exact. */
const textTypes = { getTypeParser: () => (value: string) => value } as unknown as import('pg').CustomTypesConfig;

/** Column name → `format_type` of a table. */
export async function columnTypes(client: Client, schema: string, table: string): Promise<Record<string, string>> {
  const { rows } = await client.query<{ name: string; type: string }>(
    `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
    [schema, table],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.type]));
}

/** ERROR lines of a run's log. */
export function errorLines(logs: string): string[] {
  return logs.split('\n').filter((line) => line.startsWith('ERROR'));
}

export interface BinResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the real executable (`npx tsc -b packages/target-postgres` first) on the input. */
export function runBin(
  input: string,
  config: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, '-c', writeConfig(config)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (exitCode, signal) => resolve({ exitCode, signal, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}
