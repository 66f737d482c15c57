/**
 * Test helpers: a fresh bucket per test on the suite's real S3 server (or TEST_S3_ENDPOINT),
 * and the tap run in-process on temp config/catalog/state files.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { TestS3Settings } from '@singer-ts/devkit/testing';
import { testS3Client, testS3Config, testS3Settings } from '@singer-ts/devkit/testing';
import type { Catalog } from '@singer-ts/singer';
import { runTapInProcess, type TapRunResult } from '@singer-ts/singer/testing';

import { normalizeConfig, type TapMinioCsvConfig } from '../../src/config';
import type { ObjectRef, ObjectStore } from '../../src/object-store';
import { createS3Client } from '../../src/s3-client';
import { S3ObjectStore } from '../../src/s3-object-store';
import { spec } from '../../src/spec';
import { TapMinioCsv } from '../../src/tap';

export type S3Settings = TestS3Settings;
export const s3Settings = testS3Settings;

let counter = 0;

export interface TestBucket {
  readonly name: string;
  readonly client: S3Client;
  readonly settings: S3Settings;
  /** Puts an object and returns its LastModified (whole seconds) and ETag as S3 reports them. */
  put(key: string, body: string | Buffer): Promise<{ lastModified: Date; etag: string }>;
  remove(key: string): Promise<void>;
  /** The S3 server's clock (whole seconds). */
  now(): Promise<Date>;
  /** Waits until the server's clock is past `date`'s second. */
  waitPast(date: Date): Promise<void>;
  /** The tap's config keys for this bucket (add `tables`). */
  config(extra: Record<string, unknown>): Record<string, unknown>;
  keys(): Promise<string[]>;
}

export async function createTestBucket(label: string): Promise<TestBucket> {
  const settings = s3Settings();
  counter += 1;
  const name = `tmc-${label}-${process.pid}-${counter}-${Date.now().toString(36)}`.toLowerCase().slice(0, 63);
  const client = testS3Client();
  await client.send(new CreateBucketCommand({ Bucket: name }));
  const store = new S3ObjectStore(client, name);
  const bucket: TestBucket = {
    name,
    client,
    settings,
    async put(key, body) {
      await client.send(new PutObjectCommand({ Bucket: name, Key: key, Body: body, ContentLength: Buffer.byteLength(body) }));
      const head = await client.send(new HeadObjectCommand({ Bucket: name, Key: key }));
      const ms = head.LastModified?.getTime() ?? 0;
      return { lastModified: new Date(ms - (ms % 1000)), etag: head.ETag ?? '' };
    },
    async remove(key) {
      await client.send(new DeleteObjectCommand({ Bucket: name, Key: key }));
    },
    now: () => store.now(),
    async waitPast(date) {
      while ((await store.now()).getTime() <= date.getTime()) await new Promise((r) => setTimeout(r, 200));
    },
    config: (extra) => testS3Config(name, extra),
    async keys() {
      const page = await client.send(new ListObjectsV2Command({ Bucket: name }));
      return (page.Contents ?? []).map((o) => o.Key ?? '');
    },
  };
  return bucket;
}

/** Calls `before` ahead of each read: to change the bucket while a sync runs. */
export class HookedStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly before: (ref: ObjectRef) => Promise<void>,
  ) {}

  get bucket(): string {
    return this.inner.bucket;
  }

  describe(key: string): string {
    return this.inner.describe(key);
  }

  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectRef> {
    return this.inner.list(prefix, signal);
  }

  now(signal?: AbortSignal): Promise<Date> {
    return this.inner.now(signal);
  }

  async read(ref: ObjectRef, signal?: AbortSignal): Promise<AsyncIterable<Buffer> | undefined> {
    await this.before(ref);
    return this.inner.read(ref, signal);
  }
}

export interface TapRun {
  config: Record<string, unknown> | Record<string, unknown>[];
  catalog?: Catalog | object;
  /** Passed with `-p` (the legacy flag) instead of `--catalog`. */
  legacyFlag?: boolean;
  state?: unknown;
  discover?: boolean;
  /** More arguments (`--unit ID`, `--list-units`, `--merge-states FILE…`). */
  args?: string[];
  /** Wraps the S3 store the tap would use. */
  store?: (config: TapMinioCsvConfig, s3: ObjectStore) => ObjectStore;
}

/** Runs the tap in-process as `tap-minio-csv -c … [--catalog …] [-s …]` would run. */
export async function runTap(run: TapRun): Promise<TapRunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tap-minio-csv-test-'));
  const args: string[] = [];
  const configs = Array.isArray(run.config) ? run.config : [run.config];
  for (const [index, config] of configs.entries()) {
    const path = join(dir, `config-${index}.json`);
    await writeFile(path, JSON.stringify(config));
    args.push('-c', path);
  }
  if (run.catalog !== undefined) {
    const path = join(dir, 'catalog.json');
    await writeFile(path, JSON.stringify(run.catalog));
    args.push(run.legacyFlag ? '-p' : '--catalog', path);
  }
  if (run.state !== undefined) {
    const path = join(dir, 'state.json');
    await writeFile(path, JSON.stringify(run.state));
    args.push('-s', path);
  }
  if (run.discover) args.push('--discover');
  args.push(...(run.args ?? []));
  try {
    return await runTapInProcess(
      spec,
      (config, context) => {
        const s3 = new S3ObjectStore(createS3Client(config), config.bucket, { logger: context.logger });
        return new TapMinioCsv(config, context, run.store ? run.store(config, s3) : s3);
      },
      { args, env: { ...process.env, LOG_LEVEL: 'info' } },
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The last STATE value a run wrote. */
export function lastState(result: TapRunResult): unknown {
  return result.states[result.states.length - 1]?.value;
}

export { normalizeConfig };
