/**
 * The README's shell examples run as written, and it documents every config key. Needs
 * `npx tsc -b packages/tap-minio-csv` first (it runs the real executable).
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { CONFIG_SCHEMA } from '../../src/config';
import { s3Settings } from '../support/s3';

const PACKAGE_DIR = join(__dirname, '..', '..');
const README_FIXTURES = join(PACKAGE_DIR, 'test', 'fixtures', 'readme');

function readme(): string {
  return readFileSync(join(PACKAGE_DIR, 'README.md'), 'utf8');
}

describe('the README', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tap-minio-csv-docs-'));
    const shim = join(dir, 'bin', 'tap-minio-csv');
    await cp(README_FIXTURES, join(dir, 'test', 'fixtures', 'readme'), { recursive: true });
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(PACKAGE_DIR, 'bin', 'tap-minio-csv.js')}" "$@"\n`);
    await chmod(shim, 0o755);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has shell examples that run as written (endpoint and credentials from the environment)', async () => {
    const settings = s3Settings();
    const config = JSON.parse(readFileSync(join(README_FIXTURES, 'tap-minio-csv.json'), 'utf8')) as { bucket: string };
    const client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    try {
      await client.send(new CreateBucketCommand({ Bucket: config.bucket })).catch((error: { name?: string }) => {
        if (error.name !== 'BucketAlreadyOwnedByYou' && error.name !== 'BucketAlreadyExists') throw error;
      });
      for (const [key, file] of [
        ['orders/2024/01/orders.csv', 'orders-2024-01.csv'],
        ['orders/2024/02/orders.csv', 'orders-2024-02.csv'],
        ['customers/customers.csv', '../customers.csv'],
      ] as const) {
        const body = readFileSync(join(README_FIXTURES, file));
        await client.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentLength: body.length }));
      }
    } finally {
      client.destroy();
    }

    const blocks = [...readme().matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const commands = blocks.flatMap((block) => block.split('\n')).filter((line) => line.startsWith('tap-minio-csv '));
    expect(commands).toHaveLength(4);
    const env = {
      PATH: `${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
      HOME: dir,
      AWS_ENDPOINT_URL: settings.endpoint,
      AWS_ACCESS_KEY_ID: settings.accessKeyId,
      AWS_SECRET_ACCESS_KEY: settings.secretAccessKey,
      AWS_REGION: settings.region,
    };
    for (const command of commands) {
      await promisify(execFile)('/bin/sh', ['-c', command], { cwd: dir, env });
    }
    const catalog = JSON.parse(await readFile(join(dir, 'catalog.json'), 'utf8')) as { streams: Array<{ stream: string }> };
    expect(catalog.streams.map((s) => s.stream)).toEqual(['orders', 'customers']);
    const messages = (await readFile(join(dir, 'out.singer'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; stream?: string; record?: Record<string, unknown> });
    const records = messages.filter((m) => m.type === 'RECORD');
    expect(records.filter((m) => m.stream === 'orders').map((m) => m.record?.order_total)).toEqual([38.71, 141.46, 179.12]);
    expect(records.filter((m) => m.stream === 'customers').map((m) => m.record?.customer_zip_code_prefix)).toEqual([
      '01151',
      '09790',
      '01151',
    ]);
    expect(messages[messages.length - 1]?.type).toBe('STATE');

    // The units example: the listing, then one unit's sync.
    const units = (await readFile(join(dir, 'units.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(units).toEqual([
      { unit: 'orders:prefix:2024/01', table: 'orders', objects: 1, bytes: 276 },
      { unit: 'orders:prefix:2024/02', table: 'orders', objects: 1, bytes: expect.any(Number) },
      { unit: 'customers:prefix:', table: 'customers', objects: 1, bytes: expect.any(Number) },
    ]);
    expect(readme()).toContain(JSON.stringify(units[0]));
    const unit = (await readFile(join(dir, 'unit.singer'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; record?: Record<string, unknown>; value?: Record<string, unknown> });
    expect(new Set(unit.filter((m) => m.type === 'RECORD').map((m) => m.record?._sdc_source_file))).toEqual(new Set(['orders/2024/01/orders.csv']));
    expect(unit[unit.length - 1]?.value?.unit).toEqual({ id: 'orders:prefix:2024/01', table: 'orders', split: 'prefix:2' });
  });

  it('documents every config key and every table key', () => {
    const text = readme();
    const keys = Object.keys(CONFIG_SCHEMA.properties ?? {});
    const tables = (CONFIG_SCHEMA.properties?.tables as { items: { properties: Record<string, unknown> } }).items;
    for (const key of [...keys, ...Object.keys(tables.properties)]) expect(text).toMatch(new RegExp(`\\| [^|]*\`${key}\``));
  });
});
