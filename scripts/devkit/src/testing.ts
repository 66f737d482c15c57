/**
 * What every package's tests share (`@singer-ts/devkit/testing`): the suite's PostgreSQL and S3
 * servers as the root jest config's global setup publishes them (or `TEST_DATABASE_URL` /
 * `TEST_S3_ENDPOINT` set by hand), a schema or bucket of a test's own, and seeded random data.
 * `pg` and the AWS SDK load only when a test asks for a client, so unit tests that need only
 * the random generator stay light.
 */
import { randomBytes } from 'node:crypto';

import type { S3Client } from '@aws-sdk/client-s3';
import type { Client } from 'pg';

// ---- seeded random data ------------------------------------------------------------------

/** mulberry32: a seeded generator, so a failing generated case can be replayed. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One of `items`, drawn with `next`. */
export const pick = <T>(next: () => number, items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;

/** 32 hex digits (an Olist-style id), drawn with `next`. */
export function hex32(next: () => number): string {
  let out = '';
  for (let i = 0; i < 4; i += 1) out += Math.floor(next() * 0x100000000).toString(16).padStart(8, '0');
  return out;
}

// ---- names of a test's own -----------------------------------------------------------------

/** `<prefix>_<8 hex>`: a PostgreSQL schema (or other name) no other test uses. */
export function uniqueSchema(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`.toLowerCase();
}

/** `<prefix>-<8 hex>`, at most 63 characters: an S3 bucket no other test uses. */
export function uniqueBucket(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(-63);
}

// ---- the suite's servers -----------------------------------------------------------------

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the tests through the root jest config (npm test), whose global setup starts the servers`);
  return value;
}

/** `postgres://…` of the suite's PostgreSQL. */
export function testDatabaseUrl(): string {
  return required('TEST_DATABASE_URL');
}

/** The suite's PostgreSQL as the `PG*` variables the executables read. */
export function testPgEnv(): NodeJS.ProcessEnv {
  const url = new URL(testDatabaseUrl());
  return {
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: url.pathname.slice(1) || 'postgres',
  };
}

/** A connected client of the suite's PostgreSQL, in UTC. The caller ends it. */
export async function connectTestDatabase(): Promise<Client> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by tests that use PostgreSQL
  const { Client: PgClient } = require('pg') as typeof import('pg');
  const client = new PgClient({ connectionString: testDatabaseUrl() });
  await client.connect();
  await client.query("SET TimeZone TO 'UTC'");
  return client;
}

/** Where the suite's S3 server is and the keys it takes. */
export interface TestS3Settings {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

export function testS3Settings(): TestS3Settings {
  return {
    endpoint: required('TEST_S3_ENDPOINT'),
    accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? '',
    region: process.env.TEST_S3_REGION ?? 'us-east-1',
  };
}

/** The S3 config keys of tap-minio-csv and the processor for `bucket` on the suite's server. */
export function testS3Config(bucket: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const s3 = testS3Settings();
  return {
    endpoint_url: s3.endpoint,
    bucket,
    aws_access_key_id: s3.accessKeyId,
    aws_secret_access_key: s3.secretAccessKey,
    region: s3.region,
    ...extra,
  };
}

/** The suite's S3 server as the `AWS_*` variables the executables read. */
export function testS3Env(): NodeJS.ProcessEnv {
  const s3 = testS3Settings();
  return {
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
  };
}

/**
 * An S3 client of the suite's server as the connectors make one for MinIO-like servers: path
 * style, checksums only when required. The caller destroys it.
 */
export function testS3Client(): S3Client {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only by tests that use S3
  const { S3Client: Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
  const s3 = testS3Settings();
  return new Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
