/**
 * `npm run bench:target [-- --records N] [-- --keep] [-- --profile] [-- --batch-size N]`:
 * target-postgres against raw COPY, on one freshly started PostgreSQL.
 *
 * An Olist order_items-shaped Singer stream of N records (default 1,000,000; a STATE every
 * 100,000) and the same rows as CSV are generated under `.bench/target/`, then, side by side:
 *  (a) floor: `COPY … FROM STDIN (FORMAT csv)` of the CSV through pg-copy-streams, the same
 *      driver the target uses, into a table of the types the target creates;
 *  (b) `target-postgres` append-only;
 *  (c) `target-postgres` upsert into an empty table (key: order_id, product_id, order_item_id,
 *      the original catalog's);
 *  (d) the same upsert again: every row a conflict.
 * Each target run is the real executable; its peak RSS comes from `/usr/bin/time -v` (or
 * VmHWM in /proc/<pid>/status where that is missing). `--profile` adds `--cpu-prof` to the
 * target runs (profiles in `.bench/target/profiles/`).
 * (a') is a reference row: the same COPY into a table with the upsert's primary key, the index
 * cost that (c) and (d) pay whatever the loader.
 * Goals: (b) ≤ 1.5× (a), (c) ≤ 2×, (d) ≤ 3×; peak RSS < 150 MB and flat from 1M to 5M records.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { Client } from 'pg';
import type * as CopyStreams from 'pg-copy-streams';

import { startPostgres } from '../local-services';
import { MB, ORDER_ITEMS_HEADER, ORDER_ITEMS_SCHEMA_MESSAGE, orderItemCsv, orderItemRecord, orderItemRows } from './support';

const ROOT = resolve(__dirname, '../../../..');
const TARGET_DIR = join(ROOT, 'packages/target-postgres');
const TARGET_BIN = join(TARGET_DIR, 'bin/target-postgres.js');
const WORK = join(ROOT, '.bench/target');
const STATE_EVERY = 100_000;
// The target's own driver, resolved as the target resolves it.
const { from: copyFrom } = createRequire(join(TARGET_DIR, 'package.json'))('pg-copy-streams') as typeof CopyStreams;

interface Options {
  records: number;
  keep: boolean;
  profile: boolean;
  batchSize?: number;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { records: 1_000_000, keep: false, profile: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    const value = (): number => Number(inline ?? argv[++i]);
    if (name === '--records' || name === '--rows') options.records = value();
    else if (name === '--batch-size') options.batchSize = value();
    else if (name === '--keep') options.keep = true;
    else if (name === '--profile') options.profile = true;
    else throw new Error(`unknown option ${arg}`);
  }
  if (!Number.isInteger(options.records) || options.records < 1) throw new Error('--records needs a positive integer');
  return options;
}

/** Writes the Singer stream and the same rows as CSV, each streamed with backpressure. */
async function generate(singerPath: string, csvPath: string, records: number): Promise<void> {
  const singer = createWriteStream(singerPath);
  const csv = createWriteStream(csvPath);
  const extracted = new Date(Date.UTC(2017, 0, 1) + 700 * 86_400_000).toISOString();
  let lines = `${JSON.stringify(ORDER_ITEMS_SCHEMA_MESSAGE)}\n`;
  let rows = ORDER_ITEMS_HEADER;
  let i = 0;
  for (const row of orderItemRows(records)) {
    lines += orderItemRecord(row, extracted);
    rows += orderItemCsv(row);
    i += 1;
    if (i % STATE_EVERY === 0 || i === records) {
      lines += `{"type":"STATE","value":{"bookmarks":{"order_items":{"records":${i}}}}}\n`;
    }
    if (lines.length > 1 << 20) {
      const a = singer.write(lines);
      const b = csv.write(rows);
      lines = '';
      rows = '';
      // Both listeners first: one may drain while the other is awaited.
      await Promise.all([a ? undefined : once(singer, 'drain'), b ? undefined : once(csv, 'drain')]);
    }
  }
  singer.end(lines);
  csv.end(rows);
  await Promise.all([once(singer, 'finish'), once(csv, 'finish')]);
}

interface Result {
  label: string;
  seconds: number;
  peakRssMb?: number;
  rows: number;
}

const TABLE_DDL = `(order_id text, order_item_id bigint, product_id text, seller_id text,
  shipping_limit_date timestamp with time zone, price numeric, freight_value numeric)`;

/**
 * (a) the floor: the CSV through pg-copy-streams into a plain table. With `keyed`, (a') the
 * same into a table with the upsert's primary key: what any keyed load pays for its index.
 */
async function copyFloor(url: string, csvPath: string, records: number, keyed: boolean): Promise<Result> {
  const schema = keyed ? 'bench_copy_keyed' : 'bench_copy';
  const ddl = keyed ? TABLE_DDL.replace(/\)$/, ', PRIMARY KEY (order_id, product_id, order_item_id))') : TABLE_DDL;
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(`SET TimeZone TO 'UTC'; CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.order_items ${ddl}`);
  const started = process.hrtime.bigint();
  await client.query('BEGIN');
  const copy = client.query(copyFrom(`COPY ${schema}.order_items FROM STDIN WITH (FORMAT csv, HEADER true)`));
  await pipeline(createReadStream(csvPath, { highWaterMark: 256 * 1024 }), copy);
  await client.query('COMMIT');
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${schema}.order_items`);
  await client.end();
  const count = Number(rows[0]?.n);
  if (count !== records) throw new Error(`COPY loaded ${count} rows, expected ${records}`);
  const label = keyed
    ? "(a') the same COPY into a table with the primary key (reference)"
    : '(a) COPY CSV via pg-copy-streams (floor)';
  return { label, seconds, rows: count };
}

/** Runs the real target on the Singer file; wall time from spawn to exit, peak RSS of the process. */
async function runTarget(
  label: string,
  url: string,
  singerPath: string,
  config: Record<string, unknown>,
  options: Options,
): Promise<Omit<Result, 'rows'>> {
  const configPath = join(WORK, `config-${label.slice(1, 2)}.json`);
  await writeFile(configPath, JSON.stringify({ connection_string: url, ...config }));
  const timeFile = join(WORK, `time-${label.slice(1, 2)}.txt`);
  const nodeArgs = options.profile ? ['--cpu-prof', '--cpu-prof-dir', join(WORK, 'profiles')] : [];
  const command = [process.execPath, ...nodeArgs, TARGET_BIN, '-c', configPath];
  const useTime = existsSync('/usr/bin/time');
  const [file, ...args] = useTime ? ['/usr/bin/time', '-v', '-o', timeFile, ...command] : command;
  const started = process.hrtime.bigint();
  const child = spawn(file as string, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let lastState = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-20_000);
  });
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    lastState = chunk.trim().split('\n').pop() ?? lastState;
  });
  let vmHwm = 0;
  const poll = useTime
    ? undefined
    : setInterval(() => {
        readFile(`/proc/${child.pid}/status`, 'utf8')
          .then((status) => {
            const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
            vmHwm = Math.max(vmHwm, kb);
          })
          .catch(() => undefined);
      }, 50);
  const exit = once(child, 'exit') as Promise<[number | null, string | null]>;
  await pipeline(createReadStream(singerPath, { highWaterMark: 256 * 1024 }), child.stdin);
  const [code, signal] = await exit;
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (poll) clearInterval(poll);
  if (code !== 0) throw new Error(`${label}: target exited with ${code ?? signal}\n${stderr}`);
  if (!lastState.includes(`"records":${options.records}`)) throw new Error(`${label}: last state ${lastState}`);
  let peakKb = vmHwm;
  if (useTime) {
    const report = await readFile(timeFile, 'utf8');
    peakKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(report)?.[1] ?? 0);
  }
  return { label, seconds, peakRssMb: (peakKb * 1024) / MB };
}

async function countRows(url: string, schema: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".order_items`);
  await client.end();
  return Number(rows[0]?.n);
}

function printTable(results: Result[], records: number): void {
  const floor = results[0]?.seconds ?? 1;
  const header = ['run', 'wall s', 'records/s', '× (a)', 'peak RSS MB', 'rows'];
  const body = results.map((r) => [
    r.label,
    r.seconds.toFixed(2),
    Math.round(records / r.seconds).toLocaleString('en-US'),
    (r.seconds / floor).toFixed(2),
    r.peakRssMb === undefined ? '–' : r.peakRssMb.toFixed(0),
    r.rows.toLocaleString('en-US'),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of body) console.log(line(row));
  console.log('\ngoals: (b) ≤ 1.5× (a), (c) ≤ 2×, (d) ≤ 3×; peak RSS < 150 MB, flat from 1M to 5M records');
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await mkdir(WORK, { recursive: true });
  const singerPath = join(WORK, `order_items-${options.records}.singer`);
  const csvPath = join(WORK, `order_items-${options.records}.csv`);
  if (!existsSync(singerPath) || !existsSync(csvPath)) {
    console.log(`generating ${options.records.toLocaleString('en-US')} order_items records in ${WORK} ...`);
    await generate(singerPath, csvPath, options.records);
  }
  const size = (await stat(singerPath)).size / MB;
  console.log(
    `${options.records.toLocaleString('en-US')} records: Singer ${size.toFixed(0)} MB, CSV ${((await stat(csvPath)).size / MB).toFixed(0)} MB; STATE every ${STATE_EVERY.toLocaleString('en-US')}; node ${process.version}`,
  );
  const postgres = await startPostgres();
  try {
    const results: Result[] = [];
    results.push(await copyFloor(postgres.url, csvPath, options.records, false));
    results.push(await copyFloor(postgres.url, csvPath, options.records, true));
    const batch = options.batchSize === undefined ? {} : { batch_size_rows: options.batchSize };
    const runs: [string, string, Record<string, unknown>][] = [
      ['(b) target-postgres append-only', 'bench_append', { load_method: 'append-only' }],
      ['(c) target-postgres upsert, empty table', 'bench_upsert', { load_method: 'upsert' }],
      ['(d) target-postgres upsert again (all conflicts)', 'bench_upsert', { load_method: 'upsert' }],
    ];
    for (const [label, schema, config] of runs) {
      const run = await runTarget(label, postgres.url, singerPath, { default_target_schema: schema, ...config, ...batch }, options);
      results.push({ ...run, rows: await countRows(postgres.url, schema) });
      console.log(`${label}: ${run.seconds.toFixed(2)} s`);
    }
    console.log('');
    printTable(results, options.records);
    for (const r of results) {
      if (r.rows !== options.records) throw new Error(`${r.label}: ${r.rows} rows, expected ${options.records}`);
    }
  } finally {
    await postgres.stop();
    if (!options.keep) {
      // The generated data goes; profiles (--profile) stay for reading.
      for (const name of [singerPath, csvPath, ...['b', 'c', 'd'].flatMap((r) => [`config-${r}.json`, `time-${r}.txt`])]) {
        await rm(resolve(WORK, name), { force: true });
      }
    }
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
