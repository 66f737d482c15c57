/**
 * The one end-to-end test of the pipeline: `npm start` over the generated Olist sample, then
 * each pair of executables against references no connector produced.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { type Entry, open as openZip, type ZipFile } from 'yauzl';

import { type KaggleStandIn, startKaggleStandIn } from '../src/kaggle-stand-in';
import { SAMPLE_SEED, sampleZipPath } from '../src/pipeline/sample-cache';
import { generateSample, OLIST_FILES, OLIST_HEADERS, writeKaggleZip } from '../src/sample-dataset';
import { connectTestDatabase, testDatabaseUrl, testPgEnv, testS3Client, testS3Env, uniqueSchema } from '../src/testing';
import { compareWithCopy, createTestBucket, type PipelineRun, type PipeResult, ROOT, runPipe, runPipeline as runShared, writeJson } from './support/pipes';

const SCALE = '0.01';

/** Runs `npm start`'s runner on the sample at this test's scale. */
const runPipeline = (dataDir: string, schema: string, bucket: string, extra: string[] = []): Promise<PipelineRun> =>
  runShared(SCALE, dataDir, schema, bucket, extra);

/**
 * The files of the sample `npm start` served for a dataset version (it keeps only their zip):
 * the same generator, scale and seed give the same bytes.
 */
async function sampleFiles(dataDir: string, version: number, scale = Number(SCALE)): Promise<string> {
  const dir = join(dataDir, 'expected', `scale-${scale}-v${version}`);
  const { files } = await generateSample({ scale, seed: SAMPLE_SEED, version, outDir: dir, extras: false });
  // And they are what was served: each entry's CRC-32 and size in the zip match.
  const served = await zipDirectory(sampleZipPath(dataDir, scale, SAMPLE_SEED, version));
  for (const file of files) {
    expect({ name: file.name, ...served[file.name] }).toEqual({ name: file.name, crc: crc32(await readFile(file.path)), size: file.bytes });
  }
  return dir;
}

/** A zip's entries by name: CRC-32 and uncompressed size, from its central directory. */
function zipDirectory(path: string): Promise<Record<string, { crc: number; size: number }>> {
  return new Promise((resolve, reject) => {
    openZip(path, { lazyEntries: true }, (error: Error | null, zip?: ZipFile) => {
      if (error || !zip) return reject(error ?? new Error('no zip'));
      const entries: Record<string, { crc: number; size: number }> = {};
      zip.on('entry', (entry: Entry) => {
        entries[entry.fileName] = { crc: entry.crc32, size: entry.uncompressedSize };
        zip.readEntry();
      });
      zip.on('end', () => {
        zip.close();
        resolve(entries);
      });
      zip.on('error', reject);
      zip.readEntry();
    });
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
    client = await connectTestDatabase();
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
    const sampleDir = await sampleFiles(dataDir, 1);
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
    await loadRaw(client, `${schema}_expected`, 'orders', join(await sampleFiles(dataDir, 2), OLIST_FILES.orders));
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

  it('leaves stage 2 out only while nothing it reads changed: a new object in the bucket is loaded', async () => {
    const quiet = await runPipeline(dataDir, schema, bucket, ['--sample-version', '2', '--timings']);
    expect(quiet.stderr).toMatch(/stage 2\/2: tap-minio-csv \| target-postgres: left out, no object, config or state changed/);
    // --timings: a line per phase, the sample reused, stage 2 only checked.
    expect(quiet.stderr).toMatch(/time per phase[^\n]*\n(  .*\n)*  sample .* \(reused\)\n(  .*\n)*  stage 2 inputs check /);
    expect(quiet.stderr).not.toMatch(/^  stage 2 discovery/m);
    // An object that stage 1 did not write (someone else's upload) is an input of stage 2.
    const s3 = testS3Client();
    try {
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'customers/2017/01/01/customers.csv',
          Body: 'customer_id,customer_unique_id,customer_zip_code_prefix,customer_city,customer_state\r\nffff0000ffff0000ffff0000ffff0000,eeee0000eeee0000eeee0000eeee0000,01001,Sao Paulo,SP\r\n',
        }),
      );
    } finally {
      s3.destroy();
    }
    const run = await runPipeline(dataDir, schema, bucket, ['--sample-version', '2']);
    expect(run.stderr).not.toMatch(/left out/);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/customers\s+\d+ · 1\b/);
    const { rows } = await client.query(`SELECT customer_city FROM "${schema}"."customers" WHERE customer_id = 'ffff0000ffff0000ffff0000ffff0000'`);
    expect(rows).toEqual([{ customer_city: 'Sao Paulo' }]);
  });

  it('loads the sample of another scale in the same data folder, served as a dataset version of its own', async () => {
    // Versions 1 and 2 of this scale were served here; the other scale's version 1 is other files.
    const run = await runPipeline(dataDir, schema, bucket, ['--scale', '0.02']);
    expect(run.stderr).not.toMatch(/^ERROR/m);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/serving the sample \(scale 0\.02, version 1\) as dataset version 3: this data folder served other files \(scale 0\.01, version 1\) as version 1/);
    const sampleDir = await sampleFiles(dataDir, 1, 0.02);
    await client.query(`DROP SCHEMA "${schema}_expected" CASCADE; CREATE SCHEMA "${schema}_expected"`);
    for (const [table, spec] of Object.entries(EXPECTED)) {
      await loadRaw(client, `${schema}_expected`, table, join(sampleDir, spec.file));
      // Every row of the new files is there, cleaned; rows of the earlier ones stay (upserts delete nothing).
      const result = await compare(client, schema, table);
      expect({ table, missing: result.missing }).toEqual({ table, missing: 0 });
      expect(Number(new RegExp(`${table}\\s+\\d+ · (\\d+)`).exec(run.stdout)?.[1])).toBeGreaterThan(0);
    }
    const again = await runPipeline(dataDir, schema, bucket, ['--scale', '0.02']);
    expect(again.stdout).toMatch(/nothing changed since the last run/);
  });
});

/*
 * The same pipeline, one pair of executables at a time, against references that do not come
 * from any connector: the original pipeline's cleaned files, and what PostgreSQL's own
 * `COPY … CSV` makes of the objects. (Each package's own suite tests only that package.)
 */

const PROCESSOR_FIXTURES = join(ROOT, 'packages', 'processor', 'test', 'fixtures');
/** The original system's Singer configs and catalogs for tap-minio-csv, copied byte for byte. */
const ORIGINAL_DIR = join(__dirname, 'fixtures', 'original');
const STREAMS = ['customers', 'order_items', 'orders', 'products'];

/** Today's default object key of the processor for a stream (the run's date in UTC). */
function defaultKey(stream: string, now = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${stream}/${now.getUTCFullYear()}/${p(now.getUTCMonth() + 1)}/${p(now.getUTCDate())}/${stream}.csv`;
}

describe('tap-kaggle | processor', () => {
  let standIn: KaggleStandIn;
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'pipeline-kaggle-'));
    const zip = await writeKaggleZip(join(PROCESSOR_FIXTURES, 'olist-raw'), join(scratch, 'brazilian-ecommerce.zip'));
    standIn = await startKaggleStandIn({ datasets: { 'olistbr/brazilian-ecommerce': { versions: { 1: zip.path } } }, username: 'pipe-user', key: 'pipe-key-0123456789' });
  });

  afterAll(async () => {
    await standIn.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('turns the Kaggle download into the cleaned CSV objects the original pipeline made, byte for byte', async () => {
    const bucket = await createTestBucket('pipe');
    const env = { PATH: process.env.PATH, HOME: scratch, KAGGLE_USERNAME: 'pipe-user', KAGGLE_KEY: 'pipe-key-0123456789', LOG_LEVEL: 'info', ...testS3Env() };
    // The pipeline's own configs, with only the API and the bucket pointed at the test's.
    const result = await runPipe(
      { name: 'tap-kaggle', args: ['-c', join(ROOT, 'singer-config', 'tap-kaggle.json'), '-c', await writeJson(scratch, 'kaggle.json', { api_base_url: standIn.baseUrl.rpc })] },
      { name: 'processor', args: ['-c', join(ROOT, 'singer-config', 'processor.json'), '-c', await writeJson(scratch, 'bucket.json', { bucket: bucket.name })] },
      env,
    );
    expect(result.tapLog).not.toContain('ERROR');
    expect(result.targetLog).not.toContain('ERROR');
    expect([result.tapCode, result.targetCode]).toEqual([0, 0]);
    // The tap's dataset-version bookmark, printed once every object is in place.
    const states = result.targetOut.trim().split('\n');
    expect(states).toHaveLength(1);
    expect(JSON.parse(states[0]!)).toEqual(expect.objectContaining({ bookmarks: expect.any(Object) }));
    const s3 = testS3Client();
    try {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket.name }));
      expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(STREAMS.map((s) => defaultKey(s)).sort());
      for (const stream of STREAMS) {
        const object = await s3.send(new GetObjectCommand({ Bucket: bucket.name, Key: defaultKey(stream) }));
        expect(await object.Body?.transformToString()).toBe(await readFile(join(PROCESSOR_FIXTURES, 'olist-expected', `${stream}.csv`), 'utf8'));
      }
    } finally {
      s3.destroy();
    }
  });
});

const TABLES = [
  { table: 'customers', file: OLIST_FILES.customers, keys: 'customer_id', dates: '' },
  { table: 'order_items', file: OLIST_FILES.orderItems, keys: 'order_id,product_id,order_item_id', dates: 'shipping_limit_date' },
  {
    table: 'orders',
    file: OLIST_FILES.orders,
    keys: 'order_id',
    dates: 'order_purchase_timestamp,order_approved_at,order_delivered_carrier_date,order_delivered_customer_date,order_estimated_delivery_date',
  },
  { table: 'products', file: OLIST_FILES.products, keys: 'product_id', dates: '' },
];

describe('tap-minio-csv | target-postgres', () => {
  let client: Client;
  let dir: string;

  beforeAll(async () => {
    client = await connectTestDatabase();
    dir = await mkdtemp(join(tmpdir(), 'pipeline-load-'));
    await generateSample({ scale: 0.003, outDir: dir, extras: false, seed: 'tap-minio-csv' });
  });

  afterAll(async () => {
    await client.end();
    await rm(dir, { recursive: true, force: true });
  });

  const pipeOk = (result: PipeResult) => ({
    tap: result.tapCode,
    target: result.targetCode,
    log: result.tapCode || result.targetCode ? result.tapLog + result.targetLog : '',
  });

  it('loads every Olist table exactly as COPY … CSV reads the same file, value for value', async () => {
    const bucket = await createTestBucket('e2e');
    for (const { table, file } of TABLES) await bucket.put(`olist/${table}/${file}`, await readFile(join(dir, file)));
    const schema = uniqueSchema('tmc_e2e');
    const tapConfig = await writeJson(
      dir,
      'tap-e2e.json',
      bucket.config({
        tables: TABLES.map(({ table, keys, dates }) => ({ table_name: table, search_prefix: `olist/${table}/`, search_pattern: '\\.csv$', key_properties: keys, date_overrides: dates })),
      }),
    );
    const targetConfig = await writeJson(dir, 'target-e2e.json', { connection_string: testDatabaseUrl(), default_target_schema: schema });
    const result = await runPipe({ name: 'tap-minio-csv', args: ['-c', tapConfig] }, { name: 'target-postgres', args: ['-c', targetConfig] });
    expect(pipeOk(result)).toEqual({ tap: 0, target: 0, log: '' });
    for (const { table, file } of TABLES) {
      const comparison = await compareWithCopy(client, schema, `${schema}_copy`, table, join(dir, file), OLIST_HEADERS[file]!);
      expect({ table, ...comparison }).toEqual({ table, loaded: comparison.copied, copied: comparison.copied, onlyLoaded: [], onlyCopied: [] });
      expect(comparison.copied).toBeGreaterThan(0);
    }
    // Leading zeros survive: discovery keeps the zip prefix a string.
    const zips = await client.query(`SELECT count(*) AS n FROM ${client.escapeIdentifier(schema)}.customers WHERE customer_zip_code_prefix LIKE '0%'`);
    expect(Number(zips.rows[0].n)).toBeGreaterThan(0);
  });

  it.each(['orders', 'customers', 'order_items'])(
    'loads %s with the original system config and catalog, unchanged but for endpoint, bucket and credentials',
    async (table) => {
      const bucket = await createTestBucket('legacy');
      const spec = TABLES.find((t) => t.table === table)!;
      // The original system put each cleaned file at the bucket's root under its Kaggle name.
      await bucket.put(spec.file, await readFile(join(dir, spec.file)));
      const configName = `tap-minio-csv-config-${table.replace('_', '-')}.json`;
      const catalogName = `${table.replace('_', '-')}-catalog.json`;
      const s3 = bucket.config();
      const overrides = await writeJson(dir, `tap-overrides-${table}.json`, {
        endpoint_url: s3.endpoint_url,
        bucket: s3.bucket,
        aws_access_key_id: s3.aws_access_key_id,
        aws_secret_access_key: s3.aws_secret_access_key,
      });
      const schema = uniqueSchema('tmc_legacy');
      const pg = testPgEnv();
      const targetOverrides = await writeJson(dir, `target-overrides-${table}.json`, {
        postgres_host: pg.PGHOST,
        postgres_port: Number(pg.PGPORT),
        postgres_username: pg.PGUSER,
        postgres_password: pg.PGPASSWORD,
        postgres_database: pg.PGDATABASE,
        postgres_schema: schema,
      });
      const result = await runPipe(
        { name: 'tap-minio-csv', args: ['-c', join(ORIGINAL_DIR, 'tap-configs', configName), '-c', overrides, '-p', join(ORIGINAL_DIR, 'schemas', catalogName)] },
        { name: 'target-postgres', args: ['-c', join(ORIGINAL_DIR, 'target-configs', 'target-postgres.json'), '-c', targetOverrides] },
      );
      expect(pipeOk(result)).toEqual({ tap: 0, target: 0, log: '' });
      const comparison = await compareWithCopy(client, schema, `${schema}_copy`, table, join(dir, spec.file), OLIST_HEADERS[spec.file]!);
      expect(comparison.onlyLoaded).toEqual([]);
      expect(comparison.onlyCopied).toEqual([]);
      expect(comparison.loaded).toBe(comparison.copied);
      expect(comparison.loaded).toBeGreaterThan(0);
      // The target printed the tap's last state: the bookmark of the one object read.
      const states = result.targetOut.trim().split('\n');
      expect(JSON.parse(states[states.length - 1]!)).toEqual({
        bookmarks: { [table]: { modified_since: expect.any(String), keys_at_modified_since: [spec.file] } },
      });
    },
  );
});
