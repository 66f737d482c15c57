/**
 * `npm run bench:tap [-- --rows N] [--runs N] [--load-method upsert|append-only] [--root DIR] [--keep]`:
 * tap-minio-csv, alone and piped into target-postgres, against COPY of the same CSV. `--root`
 * runs the executables of another checkout (built), to compare two versions on one machine.
 *
 * One order_items-shaped CSV of N rows (default 1,000,000) is put in a local S3 server; the
 * PostgreSQL is one with durable settings (see postgres.ts: `BENCH_DATABASE_URL`, or one
 * started for the run). After an untimed warm-up run of the tap, each of `--runs` runs
 * (default 3) measures, one after the other:
 *  (a) floor: `COPY order_items FROM STDIN (FORMAT csv, HEADER true)` of the CSV file through
 *      pg-copy-streams, in one transaction, into an empty table keyed as the target keys it
 *      (order_id, product_id, order_item_id);
 *  (a') the same with `psql -c '\copy …'`, when `psql` is on PATH (or in /usr/lib/postgresql);
 *  (b) `tap-minio-csv > /dev/null`: the tap's own wall and CPU time;
 *  (c) `tap-minio-csv | target-postgres` into a fresh schema (every row an insert).
 * Ratios are taken within each run, then the medians reported. Each child reports its peak RSS
 * and CPU time through a `--require`d probe, so the figures are the real executables'.
 * Goals: (c) ≤ 2× (a); every process < 150 MB, flat from 1M to 5M rows.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from 'pg';

import { startS3 } from '../local-services';
import { benchPostgres } from './postgres';
import {
  type ChildRun,
  ChildRunner,
  copyCsvFile,
  findPsql,
  format,
  freshTable,
  loadAverage,
  MB,
  median,
  ORDER_ITEMS_HEADER,
  ORDER_ITEMS_KEYED_DDL,
  orderItemCsv,
  orderItemRows,
  parseBenchOptions,
  psqlCopy,
  s3Client,
  spread,
  writeProbe,
} from './support';

const ROOT = resolve(__dirname, '../../../..');
const BUCKET = 'bench-tap';
const KEY = 'order_items/order_items.csv';
const FLOOR_TABLE = 'bench_floor.order_items';
const TARGET_SCHEMA = 'bench_tap';

/** Writes an Olist order_items-shaped CSV: the real file's columns and value shapes. */
async function writeOrderItems(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  let chunk = ORDER_ITEMS_HEADER;
  for (const row of orderItemRows(rows)) {
    chunk += orderItemCsv(row);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}

/** One run's figures. */
interface Run {
  copy: number;
  psql: number | undefined;
  tapAlone: ChildRun;
  pipeline: ChildRun;
}

async function main(): Promise<void> {
  const options = parseBenchOptions(process.argv.slice(2), ['load-method', 'root']);
  const loadMethod = options.values.get('load-method');
  const root = resolve(options.values.get('root') ?? ROOT);
  const TAP_BIN = join(root, 'packages/tap-minio-csv/bin/tap-minio-csv.js');
  const TARGET_BIN = join(root, 'packages/target-postgres/bin/target-postgres.js');
  const work = await mkdtemp(join(tmpdir(), 'bench-tap-'));
  const log = (text: string): void => void process.stderr.write(`${text}\n`);
  log(`bench:tap: ${options.rows.toLocaleString('en')} rows, ${options.runs} run(s), work dir ${work}`);
  const loadBefore = loadAverage();
  const [s3, pg] = await Promise.all([startS3(), benchPostgres()]);
  const client = new Client({ connectionString: pg.url });
  try {
    const runner = new ChildRunner(work, await writeProbe(work), { ...process.env, LOG_LEVEL: 'warning' });
    const csvPath = join(work, 'order_items.csv');
    await writeOrderItems(csvPath, options.rows);
    const size = (await stat(csvPath)).size;
    log(`generated ${format(size / MB, 1)} MB`);
    // psql reads the file itself, possibly as another user: let it through the temp folder.
    await chmod(work, 0o755);
    await chmod(csvPath, 0o644);

    const uploader = s3Client(s3);
    await uploader.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await uploader.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: KEY, Body: createReadStream(csvPath), ContentLength: size }),
    );
    uploader.destroy();
    // The tap defers objects stamped in the second it starts; start in a later one.
    await new Promise((r) => setTimeout(r, 1100));

    const tapConfig = join(work, 'tap.json');
    await writeFile(
      tapConfig,
      JSON.stringify({
        endpoint_url: s3.endpoint,
        bucket: BUCKET,
        aws_access_key_id: s3.accessKeyId,
        aws_secret_access_key: s3.secretAccessKey,
        region: s3.region,
        tables: [
          {
            table_name: 'order_items',
            search_prefix: 'order_items/',
            search_pattern: '\\.csv$',
            key_properties: 'order_id,product_id,order_item_id',
            date_overrides: 'shipping_limit_date',
          },
        ],
      }),
    );
    const targetConfig = join(work, 'target.json');
    await writeFile(
      targetConfig,
      JSON.stringify({
        connection_string: pg.url,
        default_target_schema: TARGET_SCHEMA,
        ...(loadMethod ? { load_method: loadMethod } : {}),
      }),
    );

    await client.connect();
    await client.query(`SET TimeZone TO 'UTC'; CREATE SCHEMA IF NOT EXISTS bench_floor`);
    const server = pg.settings;
    const psql = findPsql();

    const tapAlone = (): Promise<ChildRun> =>
      runner.run('tap', (env) => [
        [spawn(process.execPath, [TAP_BIN, '-c', tapConfig], { env: env('tap'), stdio: ['ignore', 'ignore', 'inherit'] }), 'tap'],
      ]);
    const tapToTarget = (): Promise<ChildRun> =>
      runner.run('pipeline', (env) => {
        const tap = spawn(process.execPath, [TAP_BIN, '-c', tapConfig], {
          env: env('tap'),
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        const target = spawn(process.execPath, [TARGET_BIN, '-c', targetConfig], {
          env: env('target'),
          stdio: [tap.stdout, 'ignore', 'inherit'],
        });
        return [
          [tap, 'tap'],
          [target, 'target'],
        ];
      });
    const count = async (table: string): Promise<number> =>
      Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]?.n);
    const expectRows = async (table: string, what: string): Promise<void> => {
      const n = await count(table);
      if (n !== options.rows) throw new Error(`${what} loaded ${n} rows, expected ${options.rows}`);
    };

    log('warm-up: tap-minio-csv > /dev/null (untimed)');
    await tapAlone();
    const runs: Run[] = [];
    for (let i = 1; i <= options.runs; i += 1) {
      log(`run ${i}/${options.runs}: (a) COPY via pg-copy-streams`);
      await freshTable(client, FLOOR_TABLE, ORDER_ITEMS_KEYED_DDL);
      const copy = await copyCsvFile(client, FLOOR_TABLE, csvPath);
      await expectRows(FLOOR_TABLE, 'COPY');
      let psqlSeconds: number | undefined;
      if (psql !== undefined) {
        log(`run ${i}/${options.runs}: (a') psql \\copy`);
        await freshTable(client, FLOOR_TABLE, ORDER_ITEMS_KEYED_DDL);
        psqlSeconds = await psqlCopy(psql, pg.url, FLOOR_TABLE, csvPath);
        await expectRows(FLOOR_TABLE, 'psql \\copy');
      }
      await client.query(`DROP TABLE ${FLOOR_TABLE}`);
      log(`run ${i}/${options.runs}: (b) tap-minio-csv > /dev/null`);
      const alone = await tapAlone();
      log(`run ${i}/${options.runs}: (c) tap-minio-csv | target-postgres`);
      await client.query(`DROP SCHEMA IF EXISTS ${TARGET_SCHEMA} CASCADE`);
      const piped = await tapToTarget();
      await expectRows(`${TARGET_SCHEMA}.order_items`, 'the target');
      runs.push({ copy, psql: psqlSeconds, tapAlone: alone, pipeline: piped });
    }

    const rows = options.rows;
    const perMillion = (seconds: number): number => (seconds / rows) * 1e6;
    const cpu = (run: ChildRun, label: string): number => run.figures[label]?.cpuSeconds ?? Number.NaN;
    const rss = (run: ChildRun, label: string): number => run.figures[label]?.rssMb ?? Number.NaN;
    const peak = (values: number[]): string => `${format(Math.max(...values), 0)}`;
    const copies = runs.map((r) => r.copy);
    const pipelineWall = runs.map((r) => r.pipeline.seconds);
    const ratio = runs.map((r) => r.pipeline.seconds / r.copy);
    const psqlRuns = runs.flatMap((r) => (r.psql === undefined ? [] : [r.psql]));
    const lines = [
      `rows: ${rows.toLocaleString('en')} (${format(size / MB, 1)} MB CSV); ${options.runs} run(s), median (min–max); Node ${process.version}; target load_method ${loadMethod ?? 'default'}${root === ROOT ? '' : `; executables of ${root}`}`,
      `PostgreSQL: ${server}; load average before ${loadBefore}, after ${loadAverage()}`,
      '',
      '| run | wall s | CPU s (per 1M rows) | ratio to (a) | goal | peak RSS MB |',
      '| --- | ---: | ---: | ---: | --- | ---: |',
      `| (a) COPY via pg-copy-streams, keyed table (floor) | ${spread(copies)} | (server) | 1.00 | | (server) |`,
      psqlRuns.length > 0
        ? `| (a') psql \\copy, keyed table | ${spread(psqlRuns)} | (server) | ${spread(runs.map((r) => (r.psql ?? Number.NaN) / r.copy))} | | (server) |`
        : `| (a') psql \\copy | (no psql found) | | | | |`,
      `| (b) tap-minio-csv > /dev/null | ${spread(runs.map((r) => r.tapAlone.seconds))} | ${spread(runs.map((r) => cpu(r.tapAlone, 'tap')))} (${format(perMillion(median(runs.map((r) => cpu(r.tapAlone, 'tap')))))}) | ${spread(runs.map((r) => r.tapAlone.seconds / r.copy))} | | ${peak(runs.map((r) => rss(r.tapAlone, 'tap')))} |`,
      `| (c) tap-minio-csv \\| target-postgres | ${spread(pipelineWall)} | tap ${spread(runs.map((r) => cpu(r.pipeline, 'tap')))}, target ${spread(runs.map((r) => cpu(r.pipeline, 'target')))} | ${spread(ratio)} | ≤ 2.0 | tap ${peak(runs.map((r) => rss(r.pipeline, 'tap')))}, target ${peak(runs.map((r) => rss(r.pipeline, 'target')))} |`,
      '',
      `wall s per run: (a) ${copies.map((s) => format(s)).join(', ')}; (c) ${pipelineWall.map((s) => format(s)).join(', ')}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await client.end().catch(() => undefined);
    await Promise.allSettled([s3.stop(), pg.stop()]);
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:tap failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
