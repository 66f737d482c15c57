/**
 * End to end through the real executables: `tap-minio-csv | target-postgres` on Olist-shaped
 * objects, each table compared value for value with what PostgreSQL's `COPY … CSV` makes of
 * the same file. Needs `npx tsc -b packages/tap-minio-csv packages/target-postgres` first.
 */
import { readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';

import type { Client } from 'pg';

import { generateSample, OLIST_FILES, OLIST_HEADERS } from '../../../../scripts/devkit/src/sample-dataset';
import { compareWithCopy, connect, databaseUrl, runPipe, tempDir, uniqueSchema, writeJson } from '../support/pipeline';
import { createTestBucket } from '../support/s3';

/** The original system's Singer configs and catalogs, copied byte for byte. */
const ORIGINAL_DIR = join(__dirname, '../fixtures/original');

const TABLES = [
  { table: 'customers', file: OLIST_FILES.customers, keys: 'customer_id', dates: '' },
  {
    table: 'order_items',
    file: OLIST_FILES.orderItems,
    keys: 'order_id,product_id,order_item_id',
    dates: 'shipping_limit_date',
  },
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
    client = await connect();
    dir = await tempDir();
    await generateSample({ scale: 0.003, outDir: dir, extras: false, seed: 'tap-minio-csv' });
  });

  afterAll(async () => {
    await client.end();
    await rm(dir, { recursive: true, force: true });
  });

  it('loads every Olist table exactly as COPY … CSV reads the same file, value for value', async () => {
    const bucket = await createTestBucket('e2e');
    for (const { table, file } of TABLES) {
      await bucket.put(`olist/${table}/${file}`, readFileSync(join(dir, file)));
    }
    const schema = uniqueSchema('e2e');
    const tapConfig = await writeJson(
      dir,
      'tap-e2e.json',
      bucket.config({
        tables: TABLES.map(({ table, keys, dates }) => ({
          table_name: table,
          search_prefix: `olist/${table}/`,
          search_pattern: '\\.csv$',
          key_properties: keys,
          date_overrides: dates,
        })),
      }),
    );
    const targetConfig = await writeJson(dir, 'target-e2e.json', {
      connection_string: databaseUrl(),
      default_target_schema: schema,
    });
    const result = await runPipe(['-c', tapConfig], ['-c', targetConfig]);
    expect({ tap: result.tapCode, target: result.targetCode, log: result.tapCode || result.targetCode ? result.tapLog + result.targetLog : '' }).toEqual({
      tap: 0,
      target: 0,
      log: '',
    });
    for (const { table, file } of TABLES) {
      const comparison = await compareWithCopy(client, schema, `${schema}_copy`, table, join(dir, file), OLIST_HEADERS[file]!);
      expect({ table, ...comparison }).toEqual({
        table,
        loaded: comparison.copied,
        copied: comparison.copied,
        onlyLoaded: [],
        onlyCopied: [],
      });
      expect(comparison.copied).toBeGreaterThan(0);
    }
    // Leading zeros survive: discovery keeps the zip prefix a string.
    const zips = await client.query(
      `SELECT count(*) AS n FROM ${client.escapeIdentifier(schema)}.customers WHERE customer_zip_code_prefix LIKE '0%'`,
    );
    expect(Number(zips.rows[0].n)).toBeGreaterThan(0);
  });

  it.each(['orders', 'customers', 'order_items'])(
    'loads %s with the original system config and catalog, unchanged but for endpoint, bucket and credentials',
    async (table) => {
      const bucket = await createTestBucket('legacy');
      const spec = TABLES.find((t) => t.table === table)!;
      // The original system put each cleaned file at the bucket's root under its Kaggle name.
      await bucket.put(spec.file, readFileSync(join(dir, spec.file)));
      const configName = `tap-minio-csv-config-${table.replace('_', '-')}.json`;
      const catalogName = `${table.replace('_', '-')}-catalog.json`;
      const overrides = await writeJson(dir, `tap-overrides-${table}.json`, {
        endpoint_url: bucket.settings.endpoint,
        bucket: bucket.name,
        aws_access_key_id: bucket.settings.accessKeyId,
        aws_secret_access_key: bucket.settings.secretAccessKey,
      });
      const schema = uniqueSchema('legacy');
      const url = new URL(databaseUrl());
      const targetOverrides = await writeJson(dir, `target-overrides-${table}.json`, {
        postgres_host: url.hostname,
        postgres_port: Number(url.port),
        postgres_username: decodeURIComponent(url.username),
        postgres_password: decodeURIComponent(url.password),
        postgres_database: url.pathname.slice(1),
        postgres_schema: schema,
      });
      const result = await runPipe(
        ['-c', join(ORIGINAL_DIR, 'tap-configs', configName), '-c', overrides, '-p', join(ORIGINAL_DIR, 'schemas', catalogName)],
        ['-c', join(ORIGINAL_DIR, 'target-configs', 'target-postgres.json'), '-c', targetOverrides],
      );
      expect({ tap: result.tapCode, target: result.targetCode, log: result.tapCode || result.targetCode ? result.tapLog + result.targetLog : '' }).toEqual({
        tap: 0,
        target: 0,
        log: '',
      });
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
