/**
 * `npm run bench:target [-- --records N] [-- --runs N] [-- --keep] [-- --profile] [-- --batch-size N]`:
 * target-postgres against raw COPY, on a PostgreSQL with durable settings (see postgres.ts:
 * `BENCH_DATABASE_URL`, or one started for the run).
 *
 * An Olist order_items-shaped Singer stream of N records (default 1,000,000; a STATE every
 * 100,000) and the same rows as CSV are generated under `.bench/target/`. Each round (default
 * 3) measures, one after another so they share the machine's conditions:
 *  floors: `psql \copy` of the CSV (when a psql is installed) and `COPY … FROM STDIN` through
 *    pg-copy-streams, the driver the target uses, into a plain table and into one with the
 *    upsert's primary key (order_id, product_id, order_item_id, the original catalog's);
 *  (b) `target-postgres` append-only;
 *  (c) `target-postgres` upsert into an empty table;
 *  (d) the same upsert again: every row a conflict.
 * The table shows medians, each target run's ratio to the floor of its own round (median of
 * those), the target's CPU time (user + system) and its peak RSS (`/usr/bin/time -v`, or VmHWM
 * in /proc/<pid>/status where that is missing). `--profile` adds `--cpu-prof` to the target
 * runs (profiles in `.bench/target/profiles/`) and prints where each run's time went, in µs
 * per record (see profile.ts).
 * Goals: (b) ≤ 1.5× \copy, (c) ≤ 1.5× \copy into the keyed table, (d) ≤ 2.5× it; peak RSS
 * ≤ 150 MB and flat from 1M to 5M records.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';

import { Client } from 'pg';

import { benchPostgres } from './postgres';
import { formatProfile, summarizeProfile } from './profile';
import {
  copyCsvFile,
  findPsql,
  freshTable,
  MB,
  median,
  ORDER_ITEMS_DDL,
  ORDER_ITEMS_HEADER,
  ORDER_ITEMS_KEYED_DDL,
  ORDER_ITEMS_SCHEMA_MESSAGE,
  orderItemCsv,
  orderItemRecord,
  orderItemRows,
  parseBenchOptions,
  psqlCopy,
} from './support';

const ROOT = resolve(__dirname, '../../../..');
const TARGET_DIR = join(ROOT, 'packages/target-postgres');
const TARGET_BIN = join(TARGET_DIR, 'bin/target-postgres.js');
const WORK = join(ROOT, '.bench/target');
const STATE_EVERY = 100_000;

interface Options {
  records: number;
  runs: number;
  keep: boolean;
  profile: boolean;
  batchSize?: number;
}

function parseOptions(argv: string[]): Options {
  const { rows, runs, keep, values, flags } = parseBenchOptions(argv, ['batch-size'], ['profile']);
  const batchSize = values.get('batch-size');
  return { records: rows, runs, keep, profile: flags.has('profile'), ...(batchSize === undefined ? {} : { batchSize: Number(batchSize) }) };
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

interface TargetRun {
  seconds: number;
  /** User + system CPU seconds of the target process (undefined without /usr/bin/time). */
  cpu: number | undefined;
  peakRssMb: number;
}

/** A fresh, empty `schema.order_items` of the types the target creates; `keyed` adds the upsert's key. */
async function freshOrderItems(client: Client, schema: string, keyed: boolean): Promise<string> {
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await freshTable(client, `${schema}.order_items`, keyed ? ORDER_ITEMS_KEYED_DDL : ORDER_ITEMS_DDL);
  return `${schema}.order_items`;
}

async function countRows(client: Client, table: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]?.n);
}

/** Runs the real target on the Singer file; wall time from spawn to exit, CPU and peak RSS of the process. */
async function runTarget(label: string, url: string, singerPath: string, config: Record<string, unknown>, options: Options): Promise<TargetRun> {
  const tag = label.slice(1, 2);
  const configPath = join(WORK, `config-${tag}.json`);
  await writeFile(configPath, JSON.stringify({ connection_string: url, ...config }));
  const timeFile = join(WORK, `time-${tag}.txt`);
  const profileDir = join(WORK, 'profiles', `${tag}-${Date.now()}`);
  const nodeArgs = options.profile ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
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
            vmHwm = Math.max(vmHwm, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
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
  if (options.profile) {
    for (const name of await readdir(profileDir)) {
      console.log(`${label}, ${join(profileDir, name)}\n${formatProfile(await summarizeProfile(join(profileDir, name)), options.records)}`);
    }
  }
  if (!useTime) return { seconds, cpu: undefined, peakRssMb: (vmHwm * 1024) / MB };
  const report = await readFile(timeFile, 'utf8');
  const number = (pattern: RegExp): number => Number(pattern.exec(report)?.[1] ?? Number.NaN);
  return {
    seconds,
    cpu: number(/User time \(seconds\): ([\d.]+)/) + number(/System time \(seconds\): ([\d.]+)/),
    peakRssMb: (number(/Maximum resident set size \(kbytes\): (\d+)/) * 1024) / MB,
  };
}

interface Row {
  label: string;
  seconds: number[];
  /** Per round, seconds over that round's floor. */
  ratios: number[];
  floor: string;
  cpu: number[];
  rss: number[];
}

function printTable(rows: Row[], records: number): void {
  const header = ['run', 'median s', 'records/s', 'median ×', 'floor', 'target CPU s', 'peak RSS MB'];
  const body = rows.map((r) => {
    const seconds = median(r.seconds);
    return [
      r.label,
      seconds.toFixed(2),
      Math.round(records / seconds).toLocaleString('en-US'),
      r.ratios.length === 0 ? '–' : median(r.ratios).toFixed(2),
      r.floor,
      r.cpu.length === 0 ? '–' : median(r.cpu).toFixed(2),
      r.rss.length === 0 ? '–' : Math.max(...r.rss).toFixed(0),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 || i === 4 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of body) console.log(line(row));
  console.log('\ngoals: (b) ≤ 1.5× \\copy, (c) ≤ 1.5× \\copy into the keyed table, (d) ≤ 2.5× it; peak RSS ≤ 150 MB, flat from 1M to 5M records');
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
    `${options.records.toLocaleString('en-US')} records: Singer ${size.toFixed(0)} MB, CSV ${((await stat(csvPath)).size / MB).toFixed(0)} MB; STATE every ${STATE_EVERY.toLocaleString('en-US')}; node ${process.version}; ${options.runs} round(s)`,
  );
  const postgres = await benchPostgres();
  console.log(`PostgreSQL: ${postgres.settings}${postgres.durable ? '' : '  (NOT durable: figures flatter the server)'}`);
  const psql = findPsql();
  if (!psql) console.log('no psql found: the \\copy floors are left out (install postgresql-client)');
  const url = postgres.url;
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(`SET TimeZone TO 'UTC'`);
  const rows = new Map<string, Row>();
  const row = (label: string, floor = ''): Row => {
    let found = rows.get(label);
    if (!found) rows.set(label, (found = { label, seconds: [], ratios: [], floor, cpu: [], rss: [] }));
    return found;
  };
  try {
    const batch = options.batchSize === undefined ? {} : { batch_size_rows: options.batchSize };
    for (let round = 1; round <= options.runs; round += 1) {
      const floors: Record<'plain' | 'keyed', number> = { plain: 0, keyed: 0 };
      for (const keyed of [false, true]) {
        const kind = keyed ? 'keyed' : 'plain';
        const what = keyed ? 'into the keyed table' : 'into a plain table';
        const driver = await copyCsvFile(client, await freshOrderItems(client, `bench_floor_${kind}`, keyed), csvPath);
        row(`COPY via pg-copy-streams ${what}`).seconds.push(driver);
        floors[kind] = driver;
        if (psql) {
          const seconds = await psqlCopy(psql, url, await freshOrderItems(client, `bench_floor_${kind}`, keyed), csvPath);
          row(`psql \\copy ${what}`).seconds.push(seconds);
          floors[kind] = seconds;
        }
        const loaded = await countRows(client, `bench_floor_${kind}.order_items`);
        if (loaded !== options.records) throw new Error(`the floor loaded ${loaded} rows, expected ${options.records}`);
      }
      const floorName = psql ? '\\copy' : 'pg-copy-streams';
      await client.query('DROP SCHEMA IF EXISTS bench_append CASCADE; DROP SCHEMA IF EXISTS bench_upsert CASCADE');
      const runs: [string, string, 'plain' | 'keyed', Record<string, unknown>][] = [
        ['(b) target-postgres append-only', 'bench_append', 'plain', { load_method: 'append-only' }],
        ['(c) target-postgres upsert, empty table', 'bench_upsert', 'keyed', { load_method: 'upsert' }],
        ['(d) target-postgres upsert again (all conflicts)', 'bench_upsert', 'keyed', { load_method: 'upsert' }],
      ];
      for (const [label, schema, floor, config] of runs) {
        const run = await runTarget(label, url, singerPath, { default_target_schema: schema, ...config, ...batch }, options);
        const loaded = await countRows(client, `"${schema}".order_items`);
        if (loaded !== options.records) throw new Error(`${label}: ${loaded} rows, expected ${options.records}`);
        const r = row(label, `${floorName}${floor === 'keyed' ? ', keyed' : ''}`);
        r.seconds.push(run.seconds);
        r.ratios.push(run.seconds / floors[floor]);
        if (run.cpu !== undefined) r.cpu.push(run.cpu);
        r.rss.push(run.peakRssMb);
        console.log(`round ${round}: ${label}: ${run.seconds.toFixed(2)} s, ${(run.seconds / floors[floor]).toFixed(2)}× the floor`);
      }
    }
    console.log('');
    printTable([...rows.values()], options.records);
  } finally {
    await client.end();
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
