/**
 * The end-to-end test's helpers: two real executables joined by a pipe, a bucket of the test's
 * own, and a table loaded by PostgreSQL's own `COPY … CSV` to compare with.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { testPgEnv, testS3Client, testS3Config, testS3Env, uniqueBucket } from '../../src/testing';

export const ROOT = resolve(__dirname, '..', '..', '..', '..');

/** The real executable `name` (built by `tsc -b`, as `npm test`'s pretest does). */
export const bin = (name: string): string => join(ROOT, 'packages', name, 'bin', `${name}.js`);

const RUNNER = resolve(__dirname, '..', '..', 'dist', 'run-pipeline.js');

export interface PipelineRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `npm start`'s runner on the generated sample at `scale` against the test run's
 * PostgreSQL and S3 servers, with no Kaggle credentials or state backend from the environment.
 */
export function runPipeline(scale: string, dataDir: string, schema: string, bucket: string, extra: string[] = []): Promise<PipelineRun> {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testPgEnv(), ...testS3Env() };
  for (const name of ['KAGGLE_USERNAME', 'KAGGLE_API_TOKEN', 'STATE_BACKEND_URI']) delete env[name];
  return new Promise((done) => {
    const child = spawn(process.execPath, [RUNNER, '--scale', scale, '--data-dir', dataDir, '--schema', schema, '--bucket', bucket, ...extra], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

export async function writeJson(dir: string, name: string, value: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, JSON.stringify(value));
  return path;
}

export interface PipeResult {
  tapCode: number | null;
  targetCode: number | null;
  tapLog: string;
  targetLog: string;
  /** What the target printed: state values, one per line. */
  targetOut: string;
}

/** Runs `<tap> <tapArgs> | <target> <targetArgs>` as two processes, as a shell pipe would. */
export async function runPipe(
  tap: { name: string; args: string[] },
  target: { name: string; args: string[] },
  env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info' },
): Promise<PipeResult> {
  const tapProcess = spawn(process.execPath, [bin(tap.name), ...tap.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const targetProcess = spawn(process.execPath, [bin(target.name), ...target.args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  tapProcess.stdout.pipe(targetProcess.stdin);
  const text = async (stream: NodeJS.ReadableStream): Promise<string> => {
    let out = '';
    for await (const chunk of stream) out += String(chunk);
    return out;
  };
  const outputs = Promise.all([text(tapProcess.stderr), text(targetProcess.stderr), text(targetProcess.stdout)]);
  const [[tapCode], [targetCode]] = (await Promise.all([once(tapProcess, 'close'), once(targetProcess, 'close')])) as [
    [number | null],
    [number | null],
  ];
  const [tapLog, targetLog, targetOut] = await outputs;
  return { tapCode, targetCode, tapLog, targetLog, targetOut };
}

/** A bucket of the test's own on the suite's S3 server. */
export async function createTestBucket(label: string): Promise<{
  name: string;
  put(key: string, body: Buffer | string): Promise<void>;
  /** S3 config keys of tap-minio-csv and the processor for this bucket. */
  config(extra?: Record<string, unknown>): Record<string, unknown>;
}> {
  const name = uniqueBucket(label);
  const client = testS3Client();
  await client.send(new CreateBucketCommand({ Bucket: name }));
  client.destroy();
  return {
    name,
    async put(key, body) {
      const s3 = testS3Client();
      try {
        await s3.send(new PutObjectCommand({ Bucket: name, Key: key, Body: body, ContentLength: Buffer.byteLength(body) }));
      } finally {
        s3.destroy();
      }
    },
    config: (extra = {}) => testS3Config(name, extra),
  };
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
