/**
 * What the benchmarks share: seeded data, the probe of each child's peak RSS and CPU time,
 * timed child runs, options, medians and output formatting, the COPY floor.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, createReadStream } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { S3Client } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import { hex32, random } from '../testing';

export const MB = 1024 * 1024;

/**
 * A `--require`d probe: each child appends its peak RSS (kB) and CPU time (user + system, s) to
 * a file as it exits. On Linux the peak is VmHWM, the high-water mark of the process's own
 * memory: getrusage's maxRSS keeps the mark across exec, so a child would report its forking
 * parent's size when that was larger.
 */
export async function writeProbe(dir: string): Promise<string> {
  const path = join(dir, 'rss-probe.js');
  await writeFile(
    path,
    `process.on('exit', () => {
  try {
    const fs = require('fs');
    let kb = process.resourceUsage().maxRSS;
    try {
      kb = Number(/VmHWM:\\s+(\\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
    } catch {}
    const usage = process.resourceUsage();
    const cpu = (usage.userCPUTime + usage.systemCPUTime) / 1e6;
    fs.appendFileSync(process.env.BENCH_RSS_FILE, JSON.stringify({ label: process.env.BENCH_LABEL, maxRss: kb, cpu }) + '\\n');
  } catch {}
});\n`,
  );
  return path;
}

export async function readRss(file: string): Promise<Record<string, number>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const rss: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const { label, maxRss } = JSON.parse(line) as { label: string; maxRss: number };
    rss[label] = (maxRss * 1024) / MB;
  }
  return rss;
}

/** What a child's probe reported as it exited. */
export interface ProcessFigures {
  /** Peak RSS, MB. */
  rssMb: number;
  /** CPU time, user + system, seconds. */
  cpuSeconds: number;
}

/** Every probe line of a file, by label (a label seen twice keeps the last). */
export async function readProbes(file: string): Promise<Record<string, ProcessFigures>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const figures: Record<string, ProcessFigures> = {};
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const { label, maxRss, cpu } = JSON.parse(line) as { label: string; maxRss: number; cpu?: number };
    figures[label] = { rssMb: (maxRss * 1024) / MB, cpuSeconds: cpu ?? Number.NaN };
  }
  return figures;
}

/** One timed run of one or more child processes. */
export interface ChildRun {
  /** Wall time from the first spawn to the last exit. */
  seconds: number;
  /** Each labelled child's peak RSS and CPU time. */
  figures: Record<string, ProcessFigures>;
  /** The last child's stdout, unless it went elsewhere. */
  output: string;
}

/**
 * Spawns benchmark children with the probe, times them and collects what they report. `start`
 * gets the environment for a child of a given label and returns the children with their labels,
 * the last one's stdout piped (when it is) to be collected.
 */
export class ChildRunner {
  private count = 0;

  constructor(
    private readonly work: string,
    private readonly probe: string,
    private readonly base: NodeJS.ProcessEnv,
  ) {}

  async run(
    name: string,
    start: (env: (label: string, extra?: NodeJS.ProcessEnv) => NodeJS.ProcessEnv) => Array<[ChildProcess, string]>,
  ): Promise<ChildRun> {
    this.count += 1;
    const file = join(this.work, `${name}-${this.count}.probe`);
    const env = (label: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
      ...this.base,
      ...extra,
      NODE_OPTIONS: `${this.base.NODE_OPTIONS ?? ''} --require ${this.probe}`.trim(),
      BENCH_RSS_FILE: file,
      BENCH_LABEL: label,
    });
    const began = process.hrtime.bigint();
    const children = start(env);
    const output = collect(children[children.length - 1]?.[0].stdout ?? null);
    await Promise.all(children.map(([child, label]) => exited(child, label)));
    const seconds = Number(process.hrtime.bigint() - began) / 1e9;
    return { seconds, figures: await readProbes(file), output: await output };
  }
}

/** Resolves when the child exits with status 0; rejects otherwise. */
export async function exited(child: ChildProcess, label: string): Promise<void> {
  const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
  if (code !== 0) throw new Error(`${label} exited with ${code ?? signal}`);
}

/** The options every benchmark takes: `--rows N` (`--records N` too), `--runs N`, `--keep`, and its own. */
export interface BenchOptions {
  rows: number;
  runs: number;
  keep: boolean;
  /** The benchmark's own options that take a value, by name without dashes. */
  values: Map<string, string>;
  /** The benchmark's own options that take none and were given, by name without dashes. */
  flags: Set<string>;
}

/**
 * Parses `--name value` and `--name=value`; `valued` lists a benchmark's own options that take
 * a value, `flags` those that take none.
 */
export function parseBenchOptions(argv: readonly string[], valued: readonly string[] = [], flags: readonly string[] = []): BenchOptions {
  const options: BenchOptions = { rows: 1_000_000, runs: 3, keep: false, values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i] ?? '';
    const [name, inline] = arg.includes('=') ? (arg.split('=', 2) as [string, string]) : [arg, undefined];
    const value = (): string => inline ?? argv[++i] ?? '';
    if (name === '--rows' || name === '--records') options.rows = Number(value());
    else if (name === '--runs') options.runs = Number(value());
    else if (name === '--keep') options.keep = true;
    else if (valued.includes(name.slice(2))) options.values.set(name.slice(2), value());
    else if (flags.includes(name.slice(2))) options.flags.add(name.slice(2));
    else throw new Error(`unknown option ${arg}`);
  }
  if (!Number.isInteger(options.rows) || options.rows < 1) throw new Error('--rows needs a positive integer');
  if (!Number.isInteger(options.runs) || options.runs < 1) throw new Error('--runs needs a positive integer');
  return options;
}

/** `median (min–max)` of some figures, or the one figure. */
export function spread(values: number[], digits = 2): string {
  if (values.length === 1) return format(values[0]!, digits);
  return `${format(median(values), digits)} (${format(Math.min(...values), digits)}–${format(Math.max(...values), digits)})`;
}

/** The load average, for a benchmark's header: figures from a shared machine need it. */
export function loadAverage(): string {
  return loadavg().map((load) => load.toFixed(2)).join(', ');
}

// The key's columns are NOT NULL in the keyed table through its primary key.
const ORDER_ITEMS_COLUMNS = `order_id text, order_item_id bigint, product_id text, seller_id text,
  shipping_limit_date timestamp with time zone, price numeric, freight_value numeric`;

/** The order_items table with the types target-postgres gives it, without a key (append-only). */
export const ORDER_ITEMS_DDL = `(${ORDER_ITEMS_COLUMNS})`;

/** The order_items table as target-postgres creates it for the benchmarks' schema, with its key. */
export const ORDER_ITEMS_KEYED_DDL = `(${ORDER_ITEMS_COLUMNS}, PRIMARY KEY (order_id, product_id, order_item_id))`;

/** Recreates `table` (schema-qualified) empty, with `ddl`. */
export async function freshTable(client: Client, table: string, ddl: string): Promise<void> {
  await client.query(`DROP TABLE IF EXISTS ${table}`);
  await client.query(`CREATE TABLE ${table} ${ddl}`);
}

/**
 * The COPY floor: the CSV file through pg-copy-streams into `table`, in one transaction, as a
 * loader would send it. Returns the seconds from BEGIN to COMMIT.
 */
export async function copyCsvFile(client: Client, table: string, csvPath: string): Promise<number> {
  const began = process.hrtime.bigint();
  await client.query('BEGIN');
  const copy = client.query(copyFrom(`COPY ${table} FROM STDIN WITH (FORMAT csv, HEADER true)`));
  await pipeline(createReadStream(csvPath, { highWaterMark: 256 * 1024 }), copy);
  await client.query('COMMIT');
  return Number(process.hrtime.bigint() - began) / 1e9;
}

/** `psql` on PATH or in PostgreSQL's usual install folders, or undefined. */
export function findPsql(): string | undefined {
  const folders = [
    ...(process.env.PATH ?? '').split(delimiter),
    ...['17', '16', '15', '14'].map((major) => `/usr/lib/postgresql/${major}/bin`),
  ];
  for (const folder of folders) {
    const path = join(folder, 'psql');
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** `psql -c "\copy table FROM file CSV HEADER"`: the CSV as a user loads it by hand. Returns wall seconds. */
export async function psqlCopy(psql: string, url: string, table: string, csvPath: string): Promise<number> {
  const command = `\\copy ${table} FROM '${csvPath.replace(/'/g, "''")}' WITH (FORMAT csv, HEADER true)`;
  const began = process.hrtime.bigint();
  const child = spawn(psql, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', command], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await exited(child, 'psql');
  return Number(process.hrtime.bigint() - began) / 1e9;
}

export async function collect(stream: Readable | null): Promise<string> {
  if (!stream) return '';
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').trim();
}

export function format(n: number, digits = 2): string {
  return n.toFixed(digits);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One Olist order_items-shaped row, every field as the CSV text it is written as. */
export interface OrderItemRow {
  orderId: string;
  item: number;
  productId: string;
  sellerId: string;
  /** `2017-09-19 09:45:35` */
  when: string;
  /** Two decimals, `58.90`. */
  price: string;
  freight: string;
}

export const ORDER_ITEMS_HEADER = 'order_id,order_item_id,product_id,seller_id,shipping_limit_date,price,freight_value\n';

/**
 * Seeded order_items rows with the real file's shapes: 32-hex ids, item numbers 1..n per
 * order, timestamps in 2017-2018, prices with two decimals. Same seed, same rows.
 */
export function* orderItemRows(count: number, seed = 42): Generator<OrderItemRow> {
  const next = random(seed);
  const pad = (n: number): string => String(n).padStart(2, '0');
  const start = Date.UTC(2017, 0, 1);
  let orderId = '';
  let item = 0;
  for (let i = 0; i < count; i += 1) {
    if (item === 0 || next() < 0.85) {
      orderId = hex32(next);
      item = 1;
    } else {
      item += 1;
    }
    const d = new Date(start + Math.floor(next() * 600 * 86_400_000));
    const when = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
    const price = (next() * 500 + 1).toFixed(2);
    const freight = (next() * 50).toFixed(2);
    yield { orderId, item, productId: hex32(next), sellerId: hex32(next), when, price, freight };
  }
}

/** The row as a CSV line. */
export function orderItemCsv(row: OrderItemRow): string {
  return `${row.orderId},${row.item},${row.productId},${row.sellerId},${row.when},${row.price},${row.freight}\n`;
}

/** The row as a RECORD line, numbers as a tap writes them from the CSV (`58.90` becomes 58.9). */
export function orderItemRecord(row: OrderItemRow, timeExtracted: string): string {
  return `{"type":"RECORD","stream":"order_items","record":{"order_id":"${row.orderId}","order_item_id":${row.item},"product_id":"${row.productId}","seller_id":"${row.sellerId}","shipping_limit_date":"${row.when}","price":${Number(row.price)},"freight_value":${Number(row.freight)}},"time_extracted":"${timeExtracted}"}\n`;
}

/** Where a benchmark's S3 server is and the keys it takes. */
export interface S3Settings {
  endpoint: string | undefined;
  region: string | undefined;
  accessKeyId: string | undefined;
  secretAccessKey: string | undefined;
}

/** An S3 client as the connectors make one for MinIO-like servers: path style, checksums only when required. */
export function s3Client(s3: S3Settings): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId ?? '', secretAccessKey: s3.secretAccessKey ?? '' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** The SCHEMA of the order_items stream the benchmarks feed (the original system's key). */
export const ORDER_ITEMS_SCHEMA_MESSAGE = {
  type: 'SCHEMA',
  stream: 'order_items',
  schema: {
    type: 'object',
    properties: {
      order_id: { type: 'string' },
      order_item_id: { type: 'integer' },
      product_id: { type: 'string' },
      seller_id: { type: 'string' },
      shipping_limit_date: { type: ['null', 'string'], format: 'date-time' },
      price: { type: 'number' },
      freight_value: { type: 'number' },
    },
  },
  key_properties: ['order_id', 'product_id', 'order_item_id'],
};
