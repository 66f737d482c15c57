/**
 * `npm run bench:tap [-- --rows N] [--load-method upsert|append-only] [--keep]`: tap-minio-csv
 * against its floor and COPY.
 *
 * One order_items-shaped CSV of N rows (default 1,000,000) is put in a local S3 server, then,
 * side by side in one run:
 *  (a) floor: GetObject streamed through csv-parse, rows counted (a child process);
 *  (b) `tap-minio-csv > /dev/null`;
 *  (c) `tap-minio-csv | target-postgres` into a fresh schema, against
 *      `COPY … FROM '<file>' CSV HEADER` of the same file from disk into a table of the types
 *      the target creates.
 * Each child process reports its peak RSS (`process.resourceUsage().maxRSS`) through a
 * `--require`d probe, so the figures are the real executables', not this script's.
 * Goals: (b) ≤ 2× (a); (c) ≤ 2.5× COPY; every process < 150 MB, flat from 1M to 5M rows.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { parse } from 'csv-parse';
import { Client } from 'pg';

import { startPostgres, startS3 } from '../local-services';
import { collect, format, MB, ORDER_ITEMS_HEADER, orderItemCsv, orderItemRows, readRss, s3Client, writeProbe } from './support';

const ROOT = resolve(__dirname, '../../../..');
const TAP_BIN = join(ROOT, 'packages/tap-minio-csv/bin/tap-minio-csv.js');
const TARGET_BIN = join(ROOT, 'packages/target-postgres/bin/target-postgres.js');
const BUCKET = 'bench-tap';
const KEY = 'order_items/order_items.csv';

interface Options {
  rows: number;
  keep: boolean;
  /** target-postgres's `load_method`; default: the target's own (upsert, the tables have keys). */
  loadMethod?: string;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { rows: 1_000_000, keep: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--rows') options.rows = Number(argv[++i]);
    else if (arg?.startsWith('--rows=')) options.rows = Number(arg.slice('--rows='.length));
    else if (arg === '--keep') options.keep = true;
    else if (arg === '--load-method') options.loadMethod = argv[++i];
  }
  if (!Number.isInteger(options.rows) || options.rows < 1) throw new Error('--rows needs a positive integer');
  return options;
}

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

interface Run {
  seconds: number;
  /** Peak RSS in MB per labelled process. */
  rss: Record<string, number>;
  output?: string;
}

async function exitOf(child: ChildProcess, label: string): Promise<void> {
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  if (code !== 0) throw new Error(`${label} exited with ${code ?? signal}`);
}

interface Env {
  work: string;
  probe: string;
  base: NodeJS.ProcessEnv;
}

function childEnv(env: Env, label: string, rssFile: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...env.base,
    ...extra,
    NODE_OPTIONS: `${env.base.NODE_OPTIONS ?? ''} --require ${env.probe}`.trim(),
    BENCH_RSS_FILE: rssFile,
    BENCH_LABEL: label,
  };
}

/** Runs children wired up by `start`, timing from the first spawn to the last exit. */
async function timed(
  env: Env,
  name: string,
  start: (rssFile: string) => Array<[ChildProcess, string]>,
): Promise<Run> {
  const rssFile = join(env.work, `${name}.rss`);
  const began = process.hrtime.bigint();
  const children = start(rssFile);
  // Only the last child's stdout is this script's to read: an earlier one feeds the next process.
  const output = collect(children[children.length - 1]?.[0].stdout ?? null);
  await Promise.all(children.map(([child, label]) => exitOf(child, label)));
  const seconds = Number(process.hrtime.bigint() - began) / 1e9;
  return { seconds, rss: await readRss(rssFile), output: await output };
}

/** (a) in the child: GetObject → csv-parse, count rows. */
async function floor(): Promise<void> {
  const client = s3Client({
    endpoint: process.env.BENCH_S3_ENDPOINT,
    region: process.env.BENCH_S3_REGION,
    accessKeyId: process.env.BENCH_S3_KEY,
    secretAccessKey: process.env.BENCH_S3_SECRET,
  });
  const response = await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: KEY }));
  const parser = (response.Body as Readable).pipe(parse({ from_line: 2 }));
  let rows = 0;
  for await (const record of parser) if (record) rows += 1;
  process.stdout.write(`${rows}\n`);
  client.destroy();
}

async function main(): Promise<void> {
  if (process.argv.includes('--floor')) return floor();
  const options = parseOptions(process.argv.slice(2));
  const work = await mkdtemp(join(tmpdir(), 'bench-tap-'));
  const log = (text: string): void => void process.stderr.write(`${text}\n`);
  log(`bench:tap: ${options.rows.toLocaleString('en')} rows, work dir ${work}`);
  const [s3, pg] = await Promise.all([startS3(), startPostgres()]);
  try {
    const env: Env = { work, probe: await writeProbe(work), base: { ...process.env, LOG_LEVEL: 'warning' } };
    const csvPath = join(work, 'order_items.csv');
    await writeOrderItems(csvPath, options.rows);
    const size = (await stat(csvPath)).size;
    log(`generated ${format(size / MB, 1)} MB`);

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
            key_properties: 'order_id,order_item_id',
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
        default_target_schema: 'bench_tap',
        ...(options.loadMethod ? { load_method: options.loadMethod } : {}),
      }),
    );

    log('(a) floor: GetObject | csv-parse');
    const a = await timed(env, 'a', (rssFile) => [
      [
        spawn(process.execPath, [__filename, '--floor'], {
          env: childEnv(env, 'floor', rssFile, {
            BENCH_S3_ENDPOINT: s3.endpoint,
            BENCH_S3_REGION: s3.region,
            BENCH_S3_KEY: s3.accessKeyId,
            BENCH_S3_SECRET: s3.secretAccessKey,
          }),
          stdio: ['ignore', 'pipe', 'inherit'],
        }),
        'floor',
      ],
    ]);
    if (Number(a.output) !== options.rows) throw new Error(`floor counted ${a.output} rows, expected ${options.rows}`);

    log('(b) tap-minio-csv > /dev/null');
    const devNull = createWriteStream('/dev/null');
    await once(devNull, 'open');
    const b = await timed(env, 'b', (rssFile) => [
      [
        spawn(process.execPath, [TAP_BIN, '-c', tapConfig], {
          env: childEnv(env, 'tap', rssFile),
          stdio: ['ignore', devNull, 'inherit'],
        }),
        'tap',
      ],
    ]);
    devNull.close();

    log('(c) tap-minio-csv | target-postgres');
    const c = await timed(env, 'c', (rssFile) => {
      const tap = spawn(process.execPath, [TAP_BIN, '-c', tapConfig], {
        env: childEnv(env, 'tap', rssFile),
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const target = spawn(process.execPath, [TARGET_BIN, '-c', targetConfig], {
        env: childEnv(env, 'target', rssFile),
        stdio: [tap.stdout, 'ignore', 'inherit'],
      });
      return [
        [tap, 'tap'],
        [target, 'target'],
      ];
    });

    log('COPY … FROM file CSV HEADER');
    // The server reads the file itself: let its user through the temp folder.
    await chmod(work, 0o755);
    await chmod(csvPath, 0o644);
    const client = new Client({ connectionString: pg.url });
    await client.connect();
    let copySeconds: number;
    let loaded: number;
    try {
      const counted = await client.query<{ n: string }>('SELECT count(*) AS n FROM bench_tap.order_items');
      loaded = Number(counted.rows[0]?.n);
      await client.query(`CREATE TABLE bench_copy (order_id text, order_item_id bigint, product_id text,
        seller_id text, shipping_limit_date timestamptz, price numeric, freight_value numeric)`);
      await client.query(`SET TIME ZONE 'UTC'`);
      const began = process.hrtime.bigint();
      await client.query(`COPY bench_copy FROM '${csvPath.replace(/'/g, "''")}' WITH (FORMAT csv, HEADER true)`);
      copySeconds = Number(process.hrtime.bigint() - began) / 1e9;
    } finally {
      await client.end();
    }
    if (loaded !== options.rows) throw new Error(`target loaded ${loaded} rows, expected ${options.rows}`);

    const rate = (seconds: number): string => Math.round(options.rows / seconds).toLocaleString('en');
    const mb = (run: Run, label: string): string => (run.rss[label] === undefined ? '?' : format(run.rss[label], 0));
    const lines = [
      `rows: ${options.rows.toLocaleString('en')} (${format(size / MB, 1)} MB CSV), target load_method ${options.loadMethod ?? 'default'}`,
      '',
      '| run | wall s | rows/s | ratio | goal | peak RSS MB |',
      '| --- | ---: | ---: | ---: | --- | --- |',
      `| (a) GetObject → csv-parse (floor) | ${format(a.seconds)} | ${rate(a.seconds)} | 1.00 | | ${mb(a, 'floor')} |`,
      `| (b) tap-minio-csv > /dev/null | ${format(b.seconds)} | ${rate(b.seconds)} | ${format(b.seconds / a.seconds)}× (a) | ≤ 2× | tap ${mb(b, 'tap')} |`,
      `| COPY … FROM file CSV | ${format(copySeconds)} | ${rate(copySeconds)} | 1.00 | | (server) |`,
      `| (c) tap-minio-csv \\| target-postgres | ${format(c.seconds)} | ${rate(c.seconds)} | ${format(c.seconds / copySeconds)}× COPY | ≤ 2.5× | tap ${mb(c, 'tap')}, target ${mb(c, 'target')} |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await Promise.allSettled([s3.stop(), pg.stop()]);
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:tap failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
