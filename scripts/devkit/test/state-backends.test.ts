import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from 'pg';

import { openStateBackend, parseStateBackendUri, redactUri, type StateBackend } from '../src/pipeline/state';

const s3Env = (): NodeJS.ProcessEnv => ({
  AWS_ENDPOINT_URL_S3: process.env.TEST_S3_ENDPOINT,
  AWS_ACCESS_KEY_ID: process.env.TEST_S3_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY: process.env.TEST_S3_SECRET_ACCESS_KEY,
  AWS_REGION: process.env.TEST_S3_REGION ?? 'us-east-1',
});

function s3(): S3Client {
  return new S3Client({
    endpoint: process.env.TEST_S3_ENDPOINT,
    region: process.env.TEST_S3_REGION ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? '' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function s3Text(client: S3Client, bucket: string, key: string): Promise<string> {
  const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await got.Body?.transformToString()) ?? '';
}

async function s3Keys(client: S3Client, bucket: string): Promise<string[]> {
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (listed.Contents ?? []).map((o) => o.Key ?? '').sort();
}

const run = process.pid;
const bucket = `state-backend-${run}`;
const schema = `singer_state_${run}`;
const pgUrl = (): string => {
  const url = new URL(process.env.TEST_DATABASE_URL ?? '');
  return `postgresql://${url.username}:${url.password}@${url.host}/${url.pathname.slice(1) || 'postgres'}/${schema}`;
};

// A state a double cannot hold: the backends keep the text as the target printed it.
const BIG = '{"bookmarks":{"orders":{"modified_since":"2024-05-01T10:00:00.000Z","seen":12345678901234567890123,"ratio":0.12345678901234567890}}}';

describe.each([
  ['file', async () => `file://${await mkdtemp(join(tmpdir(), 'state-file-'))}`],
  ['s3', async () => `s3://${bucket}/meltano/state`],
  ['postgresql', async () => pgUrl()],
] as const)('the %s state backend', (_kind, uri) => {
  let backend: StateBackend;
  let location: string;

  beforeAll(async () => {
    const client = s3();
    await client.send(new CreateBucketCommand({ Bucket: bucket })).catch(() => undefined);
    client.destroy();
    location = await uri();
    backend = await openStateBackend(location, s3Env());
  });

  afterAll(async () => {
    await backend.close();
  });

  it('has no state for a state id never written', async () => {
    expect(await backend.read('olist:stage2:never')).toBeUndefined();
  });

  it('round-trips a state value, numbers exact, and a later write replaces it', async () => {
    await backend.write('olist:stage2:orders', BIG);
    expect(await backend.read('olist:stage2:orders')).toBe(BIG);
    await backend.write('olist:stage2:orders', '{"bookmarks":{"orders":{"modified_since":"2024-05-02T00:00:00.000Z"}}}');
    expect(JSON.parse((await backend.read('olist:stage2:orders'))!)).toEqual({ bookmarks: { orders: { modified_since: '2024-05-02T00:00:00.000Z' } } });
  });

  it('keeps every unit\'s state when two writers of different units write at the same time', async () => {
    // Two backends, as two worker processes would have, each writing its unit's states in quick succession.
    const other = await openStateBackend(location, s3Env());
    try {
      const writes = (b: StateBackend, unit: string) =>
        (async () => {
          for (let i = 1; i <= 8; i += 1) await b.write(`olist:stage2:${unit}`, `{"bookmarks":{"${unit}":{"n":${i}}}}`);
        })();
      await Promise.all([writes(backend, 'customers'), writes(other, 'products'), writes(backend, 'order_items'), writes(other, 'sellers')]);
      for (const unit of ['customers', 'products', 'order_items', 'sellers']) {
        expect(JSON.parse((await other.read(`olist:stage2:${unit}`))!)).toEqual({ bookmarks: { [unit]: { n: 8 } } });
        expect(JSON.parse((await backend.read(`olist:stage2:${unit}`))!)).toEqual({ bookmarks: { [unit]: { n: 8 } } });
      }
    } finally {
      await other.close();
    }
  });

  it('keeps unit ids that are key prefixes apart', async () => {
    await backend.write('olist:stage2:orders/2024/05', '{"p":1}');
    await backend.write('olist:stage2:orders/2024/06/', '{"p":2}');
    expect(await backend.read('olist:stage2:orders/2024/05')).toBe('{"p":1}');
    expect(await backend.read('olist:stage2:orders/2024/06/')).toBe('{"p":2}');
  });

  it('refuses a state value that is not a JSON object, and a state id that escapes its folder', async () => {
    await expect(backend.write('olist:stage2:bad', 'not json')).rejects.toThrow(/not JSON/);
    await expect(backend.write('olist:stage2:bad', '[1]')).rejects.toThrow(/not a JSON object/);
    await expect(backend.write('../outside', '{}')).rejects.toThrow(/cannot be a state id/);
    await expect(backend.write('a/../../outside', '{}')).rejects.toThrow(/cannot be a state id/);
    await expect(backend.write('/abs', '{}')).rejects.toThrow(/cannot be a state id/);
  });
});

describe('state backend layouts, as Meltano keeps them', () => {
  it('file: <dir>/<state id>/state.json holding {"completed": {"singer_state": …}, "partial": {}}, no lock left', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'state-layout-'));
    const backend = await openStateBackend(`file://${dir}`, {});
    await backend.write('olist:stage1:olist_orders_dataset.csv', BIG);
    const folder = join(dir, 'olist:stage1:olist_orders_dataset.csv');
    expect(await readdir(folder)).toEqual(['state.json']);
    const text = await readFile(join(folder, 'state.json'), 'utf8');
    expect(text).toBe(`{"completed": {"singer_state": ${BIG}}, "partial": {}}`);
    // A state Meltano wrote after an interrupted run: its partial state is merged over the completed one.
    await writeFile(
      join(folder, 'state.json'),
      JSON.stringify({ completed: { singer_state: { bookmarks: { a: { v: 1 }, b: { v: 1 } } } }, partial: { singer_state: { bookmarks: { b: { v: 2 } } } } }),
    );
    expect(JSON.parse((await backend.read('olist:stage1:olist_orders_dataset.csv'))!)).toEqual({ bookmarks: { a: { v: 1 }, b: { v: 2 } } });
    await backend.close();
  });

  it('file: waits while a fresh lock is held and takes over an abandoned one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'state-lock-'));
    const backend = await openStateBackend(dir, {});
    const folder = join(dir, 'p:stage2:t');
    await backend.write('p:stage2:t', '{"v":0}');
    await writeFile(join(folder, 'lock'), String(Date.now() / 1000));
    const started = Date.now();
    const write = backend.write('p:stage2:t', '{"v":1}');
    setTimeout(() => void rm(join(folder, 'lock')), 1500);
    await write;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(await backend.read('p:stage2:t')).toBe('{"v":1}');
    await writeFile(join(folder, 'lock'), String(Date.now() / 1000 - 60));
    await backend.write('p:stage2:t', '{"v":2}');
    expect(await backend.read('p:stage2:t')).toBe('{"v":2}');
    expect(existsSync(join(folder, 'lock'))).toBe(false);
  });

  it('s3: <prefix>/<state id>/state.json, as Meltano\'s S3 backend reads it, no lock left', async () => {
    const client = s3();
    const layoutBucket = `state-layout-${run}`;
    await client.send(new CreateBucketCommand({ Bucket: layoutBucket }));
    const backend = await openStateBackend(`s3://${layoutBucket}/meltano/state/`, s3Env());
    await backend.write('olist:stage2:customers', BIG);
    expect(await s3Keys(client, layoutBucket)).toEqual(['meltano/state/olist:stage2:customers/state.json']);
    const record = JSON.parse(await s3Text(client, layoutBucket, 'meltano/state/olist:stage2:customers/state.json')) as { completed: { singer_state: unknown }; partial: unknown };
    expect(Object.keys(record)).toEqual(['completed', 'partial']);
    expect(Object.keys(record.completed)).toEqual(['singer_state']);
    expect(record.partial).toEqual({});
    expect((await s3Text(client, layoutBucket, 'meltano/state/olist:stage2:customers/state.json')).includes('12345678901234567890123')).toBe(true);

    // A state Meltano wrote, read back; and no prefix at all puts <state id>/state.json at the bucket's root.
    await client.send(
      new PutObjectCommand({
        Bucket: layoutBucket,
        Key: 'meltano/state/dev:tap-x-to-target-y/state.json',
        Body: JSON.stringify({ completed: { singer_state: { bookmarks: { x: 1 } } }, partial: {} }),
      }),
    );
    expect(await backend.read('dev:tap-x-to-target-y')).toBe('{"bookmarks":{"x":1}}');
    const rootBackend = await openStateBackend(`s3://${layoutBucket}`, s3Env());
    await rootBackend.write('olist:stage1:a.csv', '{"v":1}');
    expect(await s3Keys(client, layoutBucket)).toContain('olist:stage1:a.csv/state.json');
    // A unit id ending in / (a key prefix) gets no doubled slash, as Meltano's join_path joins it.
    await backend.write('olist:stage2:orders/2024/', '{"v":1}');
    expect(await s3Keys(client, layoutBucket)).toContain('meltano/state/olist:stage2:orders/2024/state.json');

    // A Meltano lock (its time in epoch seconds) is waited for; an abandoned one is taken over.
    await client.send(new PutObjectCommand({ Bucket: layoutBucket, Key: 'meltano/state/olist:stage2:customers/lock', Body: String(Date.now() / 1000 - 60) }));
    await backend.write('olist:stage2:customers', '{"v":2}');
    expect(await backend.read('olist:stage2:customers')).toBe('{"v":2}');
    expect(await s3Keys(client, layoutBucket)).not.toContain('meltano/state/olist:stage2:customers/lock');

    await Promise.all([backend.close(), rootBackend.close()]);
    client.destroy();
  });

  it('postgresql: Meltano\'s meltano_state table in the URI\'s schema, one upsert per write', async () => {
    const backend = await openStateBackend(pgUrl(), {});
    await backend.write('olist:stage2:orders', BIG);
    const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT state_id, partial_state, completed_state FROM "${schema}".meltano_state WHERE state_id = 'olist:stage2:orders'`);
      expect(rows).toEqual([{ state_id: 'olist:stage2:orders', partial_state: null, completed_state: `{"singer_state": ${BIG}}` }]);
      const locks = await client.query(`SELECT count(*)::int AS n FROM "${schema}".meltano_state_locks`);
      expect(locks.rows[0].n).toBe(0);

      // A lock row Meltano holds is waited for.
      await client.query(`INSERT INTO "${schema}".meltano_state_locks (state_id, lock_id) VALUES ('olist:stage2:orders', 'meltano')`);
      const started = Date.now();
      const write = backend.write('olist:stage2:orders', '{"v":1}');
      setTimeout(() => void client.query(`DELETE FROM "${schema}".meltano_state_locks WHERE lock_id = 'meltano'`), 1500);
      await write;
      expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
      expect(await backend.read('olist:stage2:orders')).toBe('{"v":1}');

      // What the URI leaves out comes from PG* variables, as libpq takes them.
      const url = new URL(process.env.TEST_DATABASE_URL ?? '');
      const fromEnv = await openStateBackend(`postgresql:///${url.pathname.slice(1) || 'postgres'}/${schema}`, {
        PGHOST: url.hostname,
        PGPORT: url.port,
        PGUSER: decodeURIComponent(url.username),
        PGPASSWORD: decodeURIComponent(url.password),
      });
      expect(await fromEnv.read('olist:stage2:orders')).toBe('{"v":1}');
      await fromEnv.close();
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
      await backend.close();
    }
  });
});

describe('state backend URIs', () => {
  it('reads Meltano\'s schemes, a plain path as a folder, and hides secrets', () => {
    expect(parseStateBackendUri('file:///var/state').kind).toBe('file');
    expect(parseStateBackendUri('.data/state').kind).toBe('file');
    expect(parseStateBackendUri('s3://bucket/prefix').kind).toBe('s3');
    expect(parseStateBackendUri('postgresql://u:p@h/db/singer_state').kind).toBe('postgresql');
    expect(parseStateBackendUri('postgres://u:p@h/db').kind).toBe('postgresql');
    expect(() => parseStateBackendUri('gs://bucket')).toThrow(/unknown scheme "gs"/);
    expect(() => parseStateBackendUri('file://relative/dir')).toThrow(/three slashes/);
    expect(redactUri('postgresql://user:secret@host/db')).toBe('postgresql://user:***@host/db');
    expect(redactUri('s3://KEY:SECRET@bucket/p')).not.toContain('SECRET');
  });
});
