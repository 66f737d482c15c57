import { spawn } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { CreateBucketCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { testPgEnv, testS3Env } from '@singer-ts/devkit/testing';
import { Client } from 'pg';

import { generateSample, sampleCounts, writeKaggleZip } from '../src/sample-dataset';

const DIST = resolve(__dirname, '..', 'dist');
const CONFIG_DIR = resolve(__dirname, '..', '..', '..', 'singer-config');
const SCALE = 0.01;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

const run = process.pid;
const bucket = `run-unit-${run}`;
const stateBucket = `run-unit-state-${run}`;
const schema = `run_unit_${run}`;
const stateSchema = `run_unit_state_${run}`;

function services(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testPgEnv(), ...testS3Env() };
  for (const name of ['KAGGLE_USERNAME', 'KAGGLE_API_TOKEN', 'STATE_BACKEND_URI', 'JOB_COMPLETION_INDEX', 'PIPELINE_NAME']) delete env[name];
  return env;
}

function node(script: string, args: string[], env: NodeJS.ProcessEnv = services()): Promise<Run> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(DIST, script), ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';

describe('plan-units and run-unit: one unit of a stage at a time, as an orchestrator runs them', () => {
  let configDir: string;
  let dataDir: string;
  let client: Client;
  const common = (): string[] => ['--config-dir', configDir, '--data-dir', dataDir, '--bucket', bucket, '--schema', schema, '--quiet'];
  const s3Backend = `s3://${stateBucket}/meltano/state`;
  const pgBackend = (): string => {
    const url = new URL(process.env.TEST_DATABASE_URL ?? '');
    return `postgresql://${url.username}:${url.password}@${url.host}/${url.pathname.slice(1) || 'postgres'}/${stateSchema}`;
  };

  beforeAll(async () => {
    // singer-config as it is, but tap-kaggle reads the sample's zip instead of Kaggle's API.
    const work = await mkdtemp(join(tmpdir(), 'run-unit-'));
    configDir = join(work, 'config');
    dataDir = join(work, 'data');
    await mkdir(configDir);
    for (const name of ['processor.json', 'tap-minio-csv.json', 'target-postgres.json']) await copyFile(join(CONFIG_DIR, name), join(configDir, name));
    const sample = await generateSample({ scale: SCALE, outDir: join(work, 'sample'), extras: false });
    const zip = join(work, 'sample.zip');
    await writeKaggleZip(sample.files, zip);
    const kaggle = JSON.parse(await readFile(join(CONFIG_DIR, 'tap-kaggle.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(configDir, 'tap-kaggle.json'), JSON.stringify({ ...kaggle, archive_path: zip }));

    const s3 = new S3Client({
      endpoint: process.env.TEST_S3_ENDPOINT,
      region: process.env.TEST_S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? '' },
    });
    await s3.send(new CreateBucketCommand({ Bucket: stateBucket }));
    s3.destroy();
    client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${stateSchema}" CASCADE`);
    await client.end();
  });

  it('plan-units prints each stage\'s units as JSON lines and their count on stderr', async () => {
    const one = await node('plan-units.js', ['--stage', '1', ...common()]);
    expect(one.code).toBe(0);
    expect(one.stdout.trim().split('\n').map((line) => JSON.parse(line))).toEqual([
      { stage: 1, unit: 'olist_customers_dataset.csv', table: 'customers' },
      { stage: 1, unit: 'olist_order_items_dataset.csv', table: 'order_items' },
      { stage: 1, unit: 'olist_orders_dataset.csv', table: 'orders' },
      { stage: 1, unit: 'olist_products_dataset.csv', table: 'products' },
    ]);
    expect(lastLine(one.stderr)).toBe('4 units in stage 1');
    const two = await node('plan-units.js', ['--stage', '2', ...common()]);
    expect(two.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { unit: string }).unit)).toEqual(['customers', 'order_items', 'orders', 'products']);
  });

  it('runs stage 1 by --index and stage 2 by JOB_COMPLETION_INDEX, units at once, states in S3 and PostgreSQL', async () => {
    const first = await Promise.all([0, 1, 2, 3].map((i) => node('run-unit.js', ['--stage', '1', '--index', String(i), '--state-backend', s3Backend, ...common()])));
    for (const result of first) {
      expect(result.stderr).not.toMatch(/^ERROR/m);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(/^stage 1 · unit [1-4]\/4 olist_\w+_dataset\.csv \(\w+\): \d+ records in .*; state olist:stage1:olist_\w+_dataset\.csv in s3:\/\//);
    }
    const s3 = new S3Client({
      endpoint: process.env.TEST_S3_ENDPOINT,
      region: process.env.TEST_S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? '', secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? '' },
    });
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: stateBucket }));
    s3.destroy();
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual([
      'meltano/state/olist:stage1:olist_customers_dataset.csv/state.json',
      'meltano/state/olist:stage1:olist_order_items_dataset.csv/state.json',
      'meltano/state/olist:stage1:olist_orders_dataset.csv/state.json',
      'meltano/state/olist:stage1:olist_products_dataset.csv/state.json',
    ]);

    const second = await Promise.all([0, 1, 2, 3].map((i) => node('run-unit.js', ['--stage', '2', ...common()], { ...services(), JOB_COMPLETION_INDEX: String(i), STATE_BACKEND_URI: pgBackend() })));
    for (const result of second) {
      expect(result.stderr).not.toMatch(/^ERROR/m);
      expect(result.code).toBe(0);
    }
    const counts = sampleCounts(SCALE);
    const expected: Record<string, number> = { customers: counts.customers, order_items: counts.orderItems, orders: counts.orders, products: counts.products };
    for (const [table, n] of Object.entries(expected)) {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}"."${table}"`);
      expect({ table, n: rows[0]!.n }).toEqual({ table, n });
    }
    const states = await client.query<{ state_id: string }>(`SELECT state_id FROM "${stateSchema}".meltano_state ORDER BY state_id`);
    expect(states.rows.map((r) => r.state_id)).toEqual(['olist:stage2:customers', 'olist:stage2:order_items', 'olist:stage2:orders', 'olist:stage2:products']);

    // Its state makes the unit's next run read nothing.
    const again = await node('run-unit.js', ['--stage', '2', '--unit', 'orders', '--state-backend', pgBackend(), ...common()]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^stage 2 · unit 3\/4 orders: 0 records in/);
  });

  it('fails with one line: an unknown unit, a unit whose pair fails, no unit named', async () => {
    const unknown = await node('run-unit.js', ['--stage', '2', '--unit', 'nope', ...common()]);
    expect(unknown.code).toBe(1);
    expect(lastLine(unknown.stderr)).toBe(
      'ERROR run-unit stage 2: no unit "nope" in stage 2, which has 4 (customers, order_items, orders, products); see plan-units',
    );
    const broken = await node('run-unit.js', ['--stage', '2', '--index', '0', '--catalog', join(CONFIG_DIR, 'catalog.json'), '--state-backend', join(dataDir, 'broken-state'), ...common()], {
      ...services(),
      PGPORT: '1',
    });
    expect(broken.code).toBe(1);
    expect(broken.stderr.trim().split('\n').filter((l) => l.startsWith('ERROR run-unit'))).toHaveLength(1);
    expect(lastLine(broken.stderr)).toMatch(/^ERROR run-unit stage 2: unit customers \(target-postgres\): .*(ECONNREFUSED|connect)/);
    const unnamed = await node('run-unit.js', ['--stage', '2', ...common()]);
    expect(unnamed.code).toBe(2);
    expect(lastLine(unnamed.stderr)).toBe('ERROR run-unit stage 2: name the unit: --unit ID, --index N, or JOB_COMPLETION_INDEX in the environment');
  });
});
