import { spawn } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { OLIST_FILES, OLIST_HEADERS } from '../src/sample-dataset';

const RUNNER = resolve(__dirname, '..', 'dist', 'run-pipeline.js');
const SCALE = '0.01';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `npm start`'s runner against the test run's PostgreSQL and S3 servers. */
function runPipeline(dataDir: string, schema: string, bucket: string, extra: string[] = []): Promise<Run> {
  const url = new URL(process.env.TEST_DATABASE_URL ?? '');
  const env = {
    ...process.env,
    PGHOST: url.hostname,
    PGPORT: url.port || '5432',
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: url.pathname.slice(1) || 'postgres',
    AWS_ENDPOINT_URL_S3: process.env.TEST_S3_ENDPOINT,
    AWS_ACCESS_KEY_ID: process.env.TEST_S3_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: process.env.TEST_S3_SECRET_ACCESS_KEY,
    AWS_REGION: process.env.TEST_S3_REGION ?? 'us-east-1',
  };
  delete env.KAGGLE_USERNAME;
  delete env.KAGGLE_API_TOKEN;
  return new Promise((done) => {
    const child = spawn(process.execPath, [RUNNER, '--scale', SCALE, '--data-dir', dataDir, '--schema', schema, '--bucket', bucket, ...extra], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => done({ code: code ?? 1, stdout, stderr }));
  });
}

/**
 * The oracle: the raw sample files loaded by PostgreSQL's own COPY … CSV, cleaned in SQL the
 * way the original pipeline cleaned them (initcap for title case). Independent of every
 * connector, so a table that equals it is right.
 */
const EXPECTED: Record<string, { file: string; key: string; columns: Record<string, [expected: string, actual: string]> }> = {
  customers: {
    file: OLIST_FILES.customers,
    key: 'customer_id',
    columns: {
      customer_id: ['customer_id', 'customer_id::text'],
      customer_unique_id: ['customer_unique_id', 'customer_unique_id::text'],
      customer_zip_code_prefix: ['customer_zip_code_prefix', 'customer_zip_code_prefix::text'],
      customer_city: ['initcap(customer_city)', 'customer_city::text'],
      customer_state: ['upper(customer_state)', 'customer_state::text'],
    },
  },
  orders: {
    file: OLIST_FILES.orders,
    key: 'order_id',
    columns: {
      order_id: ['order_id', 'order_id::text'],
      customer_id: ['customer_id', 'customer_id::text'],
      order_status: ['order_status', 'order_status::text'],
      order_purchase_timestamp: ['order_purchase_timestamp::timestamptz', 'order_purchase_timestamp::timestamptz'],
      order_approved_at: ['order_approved_at::timestamptz', 'order_approved_at::timestamptz'],
      order_delivered_carrier_date: ['order_delivered_carrier_date::timestamptz', 'order_delivered_carrier_date::timestamptz'],
      order_delivered_customer_date: ['order_delivered_customer_date::timestamptz', 'order_delivered_customer_date::timestamptz'],
      order_estimated_delivery_date: ['order_estimated_delivery_date::timestamptz', 'order_estimated_delivery_date::timestamptz'],
    },
  },
  order_items: {
    file: OLIST_FILES.orderItems,
    key: 'order_id, order_item_id',
    columns: {
      order_id: ['order_id', 'order_id::text'],
      order_item_id: ['order_item_id::bigint', 'order_item_id::bigint'],
      product_id: ['product_id', 'product_id::text'],
      seller_id: ['seller_id', 'seller_id::text'],
      shipping_limit_date: ['shipping_limit_date::timestamptz', 'shipping_limit_date::timestamptz'],
      price: ['price::numeric', 'price::numeric'],
      freight_value: ['freight_value::numeric', 'freight_value::numeric'],
    },
  },
  products: {
    file: OLIST_FILES.products,
    key: 'product_id',
    columns: {
      product_id: ['product_id', 'product_id::text'],
      product_category_name: ["initcap(replace(product_category_name, '_', ' '))", 'product_category_name::text'],
      ...Object.fromEntries(
        ['product_name_lenght', 'product_description_lenght', 'product_photos_qty', 'product_weight_g', 'product_length_cm', 'product_height_cm', 'product_width_cm'].map(
          (c) => [c, [`coalesce(${c}::numeric::bigint, -1)`, `${c}::bigint`]],
        ),
      ),
    },
  },
};

async function loadRaw(client: Client, schema: string, table: string, file: string): Promise<void> {
  const header = OLIST_HEADERS[EXPECTED[table]!.file]!;
  await client.query(`CREATE TABLE "${schema}"."${table}" (${header.map((c) => `"${c}" text`).join(', ')})`);
  await pipeline(createReadStream(file), client.query(copyFrom(`COPY "${schema}"."${table}" FROM STDIN WITH (FORMAT csv, HEADER true)`)));
}

/** Rows in one query and not the other, both ways (a multiset comparison), and the counts. */
async function compare(client: Client, schema: string, table: string): Promise<{ missing: number; unexpected: number; expected: number; actual: number }> {
  const spec = EXPECTED[table]!;
  const names = Object.keys(spec.columns);
  const expected = `SELECT ${names.map((n) => `${spec.columns[n]![0]} AS "${n}"`).join(', ')} FROM "${schema}_expected"."${table}"`;
  const actual = `SELECT ${names.map((n) => `${spec.columns[n]![1]} AS "${n}"`).join(', ')} FROM "${schema}"."${table}"`;
  const { rows } = await client.query<{ missing: string; unexpected: string; expected: string; actual: string }>(`
    SELECT (SELECT count(*) FROM (${expected} EXCEPT ALL ${actual}) m) AS missing,
           (SELECT count(*) FROM (${actual} EXCEPT ALL ${expected}) u) AS unexpected,
           (SELECT count(*) FROM (${expected}) e) AS expected,
           (SELECT count(*) FROM (${actual}) a) AS actual`);
  const row = rows[0]!;
  return { missing: Number(row.missing), unexpected: Number(row.unexpected), expected: Number(row.expected), actual: Number(row.actual) };
}

describe('npm start: the Olist pipeline end to end', () => {
  const schema = `pipeline_e2e_${process.pid}`;
  const bucket = `pipeline-e2e-${process.pid}`;
  let dataDir: string;
  let client: Client;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'pipeline-e2e-'));
    client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    await client.query("SET TimeZone = 'UTC'");
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE; DROP SCHEMA IF EXISTS "${schema}_expected" CASCADE`);
    await client.end();
  });

  it('loads every table with exactly the cleaned rows of the source files', async () => {
    const run = await runPipeline(dataDir, schema, bucket);
    expect(run.stderr).not.toMatch(/^ERROR/m);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/pipeline finished in/);

    await client.query(`CREATE SCHEMA "${schema}_expected"`);
    const sampleDir = join(dataDir, 'sample', `scale-${SCALE}-v1`);
    for (const [table, spec] of Object.entries(EXPECTED)) {
      await loadRaw(client, `${schema}_expected`, table, join(sampleDir, spec.file));
      const result = await compare(client, schema, table);
      expect({ table, ...result }).toEqual({ table, missing: 0, unexpected: 0, expected: result.expected, actual: result.expected });
      expect(result.expected).toBeGreaterThan(100);
      expect(run.stdout).toMatch(new RegExp(`${table}\\s+${result.expected} · ${result.expected}`));
    }
  });

  it('changes and reads nothing on a second run with nothing new', async () => {
    const state = await readFile(join(dataDir, 'state', 'tap-minio-csv.json'), 'utf8');
    const run = await runPipeline(dataDir, schema, bucket);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/nothing changed since the last run/);
    expect(run.stdout).toMatch(/tap-minio-csv \| target-postgres: 0 records/);
    for (const table of Object.keys(EXPECTED)) {
      const result = await compare(client, schema, table);
      expect({ table, missing: result.missing, unexpected: result.unexpected }).toEqual({ table, missing: 0, unexpected: 0 });
    }
    expect(await readFile(join(dataDir, 'state', 'tap-minio-csv.json'), 'utf8')).toBe(state);
  });

  it('loads only the changed file of a new dataset version, leaving every table equal to it', async () => {
    const deliveredCount = async (): Promise<number> =>
      (await client.query(`SELECT count(*)::int AS n FROM "${schema}"."orders" WHERE order_status = 'delivered'`)).rows[0].n as number;
    const deliveredBefore = await deliveredCount();
    const run = await runPipeline(dataDir, schema, bucket, ['--sample-version', '2']);
    expect(run.stderr).not.toMatch(/^ERROR/m);
    expect(run.code).toBe(0);
    // Version 2 changes olist_orders_dataset.csv only: the other files are left out by their
    // CRC-32 and size, and only orders flows through the processor and the load.
    expect(run.stderr).toMatch(/stream customers: olist_customers_dataset.csv is the same in version 2 as in version 1/);
    const orders = Number(/orders\s+\d+ · (\d+)/.exec(run.stdout)?.[1]);
    expect(orders).toBeGreaterThan(0);
    for (const table of ['customers', 'order_items', 'products']) {
      expect(run.stdout).toMatch(new RegExp(`${table}\\s+\\d+ · 0\\b`));
    }
    await client.query(`DROP TABLE "${schema}_expected"."orders"`);
    await loadRaw(client, `${schema}_expected`, 'orders', join(dataDir, 'sample', `scale-${SCALE}-v2`, OLIST_FILES.orders));
    for (const table of Object.keys(EXPECTED)) {
      const result = await compare(client, schema, table);
      expect({ table, missing: result.missing, unexpected: result.unexpected }).toEqual({ table, missing: 0, unexpected: 0 });
    }
    // The change itself arrived: some orders shipped in version 1 are delivered now.
    expect(await deliveredCount()).toBeGreaterThan(deliveredBefore);
    // And a run after it again changes nothing.
    const again = await runPipeline(dataDir, schema, bucket, ['--sample-version', '2']);
    expect(again.stdout).toMatch(/nothing changed since the last run/);
  });
});
