import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';

import {
  CreateBucketCommand,
  GetObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { testS3Client, testS3Env, uniqueBucket as sharedUniqueBucket } from '@singer-ts/devkit/testing';

/** The S3 server jest's global setup started (or TEST_S3_ENDPOINT), as the processor reads it. */
export const s3Env = testS3Env;

export const testClient = testS3Client;

/** A bucket name no other test uses. */
export function uniqueBucket(label: string): string {
  return sharedUniqueBucket(`proc-${label}`);
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const out = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

/** Multipart uploads in progress; undefined where the server cannot list them (s3rver). */
export async function listUploads(client: S3Client, bucket: string): Promise<string[] | undefined> {
  try {
    const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    return (out.Uploads ?? []).map((u) => u.Key!);
  } catch (error) {
    if ((error as Error).name === 'NotImplemented') return undefined;
    throw error;
  }
}

export async function readObject(client: S3Client, bucket: string, key: string): Promise<Buffer> {
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const chunks: Buffer[] = [];
  for await (const chunk of out.Body as Readable) chunks.push(chunk as Buffer);
  const bytes = Buffer.concat(chunks);
  return key.endsWith('.gz') ? gunzipSync(bytes) : bytes;
}

export async function readText(client: S3Client, bucket: string, key: string): Promise<string> {
  return (await readObject(client, bucket, key)).toString('utf8');
}

let configDir: string | undefined;

/** Writes a config file into this test file's temp folder and returns its path. */
export function writeConfig(config: Record<string, unknown>): string {
  configDir ??= mkdtempSync(join(tmpdir(), 'processor-test-'));
  const path = join(configDir, `config-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(path, JSON.stringify(config));
  return path;
}

// Each test file runs in its own module registry, so this removes that file's configs.
afterAll(() => {
  if (configDir) rmSync(configDir, { recursive: true, force: true });
  configDir = undefined;
});

/** Today's default key for a stream (the run's date in UTC). */
export function defaultKey(stream: string, now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${stream}/${now.getUTCFullYear()}/${p(now.getUTCMonth() + 1)}/${p(now.getUTCDate())}/${stream}.csv`;
}

/** Singer lines from messages. */
export function singer(...messages: object[]): string {
  return messages.map((m) => JSON.stringify(m)).join('\n') + '\n';
}

export function schema(stream: string, properties: Record<string, unknown>, keys: string[] = []): object {
  return { type: 'SCHEMA', stream, schema: { type: 'object', properties }, key_properties: keys };
}

export function record(stream: string, values: Record<string, unknown>): object {
  return { type: 'RECORD', stream, record: values };
}

export function state(value: unknown): object {
  return { type: 'STATE', value };
}
