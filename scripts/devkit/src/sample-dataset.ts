import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { Worker } from 'node:worker_threads';

import { ZipFile } from 'yazl';

/**
 * A deterministic, Olist-shaped stand-in for Kaggle's `olistbr/brazilian-ecommerce` dataset,
 * for tests, `npm start` and the benchmarks (the real download needs credentials and a
 * network). Same seed and scale, same bytes. Scale 1 has the real row counts.
 *
 * It copies what a loader meets in the real files: the real file and column names
 * (`product_name_lenght` included), the way Olist's exporter quoted values (header names
 * quoted, a text value quoted when it starts with a digit, numbers and timestamps bare),
 * lowercase accented city names, zip prefixes with leading zeros, empty timestamps for
 * orders that never shipped, products without category or measurements, two-decimal prices,
 * review texts with commas, quotes and CRLF line breaks inside quoted fields.
 *
 * Rows are streamed to CSV files as they are made (`generateSample`, which `generateSampleZip`
 * then zips); nothing proportional to the scale is held in memory. Making a row
 * costs little: ids come from a hex table, timestamps from a per-day prefix, and the text of
 * the few values that repeat (cities, categories, review texts) is rendered once; 1.55 M rows
 * (scale 1, every file) take about 2 s.
 */

/** Row counts of the real dataset (scale 1). */
export const OLIST_ROW_COUNTS = {
  customers: 99_441,
  orders: 99_441,
  orderItems: 112_650,
  products: 32_951,
  sellers: 3_095,
  payments: 103_886,
  geolocation: 1_000_163,
} as const;

/** Orders in the real data that have no item (mostly `unavailable` and `canceled` ones). */
const REAL_ORDERS_WITHOUT_ITEMS = 775;

/** The dataset's file names. */
export const OLIST_FILES = {
  customers: 'olist_customers_dataset.csv',
  geolocation: 'olist_geolocation_dataset.csv',
  orderItems: 'olist_order_items_dataset.csv',
  payments: 'olist_order_payments_dataset.csv',
  reviews: 'olist_order_reviews_dataset.csv',
  orders: 'olist_orders_dataset.csv',
  products: 'olist_products_dataset.csv',
  sellers: 'olist_sellers_dataset.csv',
  categoryTranslation: 'product_category_name_translation.csv',
} as const;

/** The four files the pipeline loads. */
export const PIPELINE_FILES: readonly string[] = [
  OLIST_FILES.customers,
  OLIST_FILES.orderItems,
  OLIST_FILES.orders,
  OLIST_FILES.products,
];

/** Each file's header, spelled as in the real files. */
export const OLIST_HEADERS: Readonly<Record<string, readonly string[]>> = {
  [OLIST_FILES.customers]: [
    'customer_id',
    'customer_unique_id',
    'customer_zip_code_prefix',
    'customer_city',
    'customer_state',
  ],
  [OLIST_FILES.geolocation]: [
    'geolocation_zip_code_prefix',
    'geolocation_lat',
    'geolocation_lng',
    'geolocation_city',
    'geolocation_state',
  ],
  [OLIST_FILES.orderItems]: [
    'order_id',
    'order_item_id',
    'product_id',
    'seller_id',
    'shipping_limit_date',
    'price',
    'freight_value',
  ],
  [OLIST_FILES.payments]: ['order_id', 'payment_sequential', 'payment_type', 'payment_installments', 'payment_value'],
  [OLIST_FILES.reviews]: [
    'review_id',
    'order_id',
    'review_score',
    'review_comment_title',
    'review_comment_message',
    'review_creation_date',
    'review_answer_timestamp',
  ],
  [OLIST_FILES.orders]: [
    'order_id',
    'customer_id',
    'order_status',
    'order_purchase_timestamp',
    'order_approved_at',
    'order_delivered_carrier_date',
    'order_delivered_customer_date',
    'order_estimated_delivery_date',
  ],
  [OLIST_FILES.products]: [
    'product_id',
    'product_category_name',
    'product_name_lenght',
    'product_description_lenght',
    'product_photos_qty',
    'product_weight_g',
    'product_length_cm',
    'product_height_cm',
    'product_width_cm',
  ],
  [OLIST_FILES.sellers]: ['seller_id', 'seller_zip_code_prefix', 'seller_city', 'seller_state'],
  [OLIST_FILES.categoryTranslation]: ['product_category_name', 'product_category_name_english'],
};

export interface SampleOptions {
  /** 1 = the real row counts; 0.01 = a hundredth of them. */
  scale: number;
  /** Same seed and scale, same bytes (default 1). */
  seed?: number | string;
  /** Created when missing; the CSV files are written at its top level. */
  outDir: string;
  /**
   * Also write the five files the pipeline does not load (sellers, geolocation, payments,
   * reviews, category translation), so that a tap's `files` selection matters. Default true.
   * The four pipeline files are the same bytes either way.
   */
  extras?: boolean;
  /**
   * The dataset version (default 1). A later version is the same dataset some time on: a
   * share of the orders that were `shipped` are now `delivered`, with their delivery date.
   * Only `olist_orders_dataset.csv` differs; every other file keeps its bytes.
   */
  version?: number;
}

export interface SampleFile {
  name: string;
  path: string;
  /** Data rows (records), header excluded. */
  rows: number;
  bytes: number;
}

export interface SampleResult {
  /** Sorted by name, as in Kaggle's zip. */
  files: SampleFile[];
  counts: SampleCounts;
}

/** How many rows a scale gives. */
export interface SampleCounts {
  customers: number;
  orders: number;
  /** Orders that have no item (their status is `unavailable`, `canceled` or `created`). */
  ordersWithoutItems: number;
  orderItems: number;
  products: number;
  sellers: number;
  payments: number;
  geolocation: number;
  categories: number;
}

/** The row counts `generateSample` writes at a scale: the real counts times the scale, rounded. */
export function sampleCounts(scale: number): SampleCounts {
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale <= 0) {
    throw new RangeError(`sample scale must be a positive number, got ${String(scale)}`);
  }
  const customers = Math.round(OLIST_ROW_COUNTS.customers * scale);
  if (customers < 1) {
    throw new RangeError(`sample scale ${scale} is too small: it gives no customer (the smallest scale is 0.00001)`);
  }
  let ordersWithoutItems = Math.round(REAL_ORDERS_WITHOUT_ITEMS * scale);
  // A sample big enough to be looked at always has a cancelled order with empty dates.
  if (ordersWithoutItems === 0 && customers >= 20) ordersWithoutItems = 1;
  return {
    customers,
    orders: customers,
    ordersWithoutItems,
    orderItems: Math.max(customers - ordersWithoutItems, Math.round(OLIST_ROW_COUNTS.orderItems * scale)),
    products: Math.max(1, Math.round(OLIST_ROW_COUNTS.products * scale)),
    sellers: Math.max(1, Math.round(OLIST_ROW_COUNTS.sellers * scale)),
    payments: Math.max(customers, Math.round(OLIST_ROW_COUNTS.payments * scale)),
    geolocation: Math.max(1, Math.round(OLIST_ROW_COUNTS.geolocation * scale)),
    categories: CATEGORY_TRANSLATIONS.length,
  };
}

/** Writes the sample's CSV files into `outDir`. */
export async function generateSample(options: SampleOptions): Promise<SampleResult> {
  await mkdir(options.outDir, { recursive: true });
  const files = await writeSampleFiles(options);
  return { files: files.map((f) => ({ ...f, path: join(options.outDir, f.name) })), counts: sampleCounts(options.scale) };
}

export interface SampleZipOptions extends Omit<SampleOptions, 'outDir'> {
  /** The zip to write; it appears there whole (written beside it, then renamed). */
  zipPath: string;
  /** zlib's deflate level for the entries (default 1: fastest; level 6 takes ~2x the CPU for 8 % fewer bytes). */
  level?: number;
}

export interface SampleZipResult {
  zip: KaggleZip;
  /** The zip's entries, sorted by name, with their rows and (uncompressed) bytes. */
  files: Omit<SampleFile, 'path'>[];
  counts: SampleCounts;
}

/**
 * Writes the sample as a zip the way Kaggle's download comes (every file at the root). The
 * CSV files are written into a folder beside the zip first (same disk, no /tmp size limit:
 * the orders, items, payments and reviews files are made row by row at once, and a zip takes
 * one entry after another), then zipped in name order; the folder goes once the zip is whole.
 * Its entries hold the same bytes `generateSample` writes for the same options.
 */
export async function generateSampleZip(options: SampleZipOptions): Promise<SampleZipResult> {
  const { zipPath, level = 1, ...sample } = options;
  const parts = await partsFolder(zipPath);
  try {
    const { files, counts } = await generateSample({ ...sample, outDir: join(parts, 'csv') });
    const zip = await zipFiles(files, zipPath, join(parts, 'partial.zip'), level);
    return { zip, files: files.map(({ name, rows, bytes }) => ({ name, rows, bytes })), counts };
  } finally {
    await rm(parts, { recursive: true, force: true });
  }
}

/**
 * Makes the sample's rows into one CSV file each in `outDir`; the files' rows and bytes,
 * sorted by name. The geolocation file (1 M rows at scale 1, two in three of all rows) depends
 * on nothing the others draw, so, for samples from scale 0.1 up and when the compiled worker
 * is at hand, a worker thread makes it while this thread makes the others: the same bytes, in
 * less wall time when a second core is free.
 */
async function writeSampleFiles(options: SampleOptions): Promise<Omit<SampleFile, 'path'>[]> {
  const open = (name: string): ChunkSink => fileSink(join(options.outDir, name));
  const counts = sampleCounts(options.scale);
  const seed = String(options.seed ?? 1);
  const extras = options.extras ?? true;
  const ctx = new SampleContext(seed, counts);
  const writers: CsvFileWriter[] = [];
  const track = (name: string, enabled = true): CsvFileWriter => {
    const writer = new CsvFileWriter(name, enabled ? open(name) : undefined);
    writers.push(writer);
    return writer;
  };
  const worker = extras && counts.geolocation >= WORKER_MIN_ROWS && existsSync(SAMPLE_WORKER) ? startSampleWorker({ scale: options.scale, seed, path: join(options.outDir, OLIST_FILES.geolocation) }) : undefined;
  const results: Omit<SampleFile, 'path'>[] = [];
  try {
    await writeCategoryTranslation(track(OLIST_FILES.categoryTranslation, extras));
    await writeSellers(ctx, track(OLIST_FILES.sellers, extras));
    await writeProducts(ctx, track(OLIST_FILES.products));
    await writeCustomers(ctx, track(OLIST_FILES.customers));
    await writeOrders(ctx, options.version ?? 1, {
      orders: track(OLIST_FILES.orders),
      items: track(OLIST_FILES.orderItems),
      payments: track(OLIST_FILES.payments, extras),
      reviews: track(OLIST_FILES.reviews, extras),
    });
    if (worker) {
      results.push(await worker.done);
    } else if (extras) {
      await writeGeolocation(ctx, track(OLIST_FILES.geolocation));
    }
  } catch (err) {
    for (const w of writers) w.destroy();
    await worker?.stop();
    throw err;
  }
  results.push(...writers.filter((w) => w.enabled).map((w) => w.result()));
  return results.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** What the sample worker is given: the geolocation file's path. */
export interface SampleWorkerData {
  scale: number;
  seed: string;
  path: string;
}

/** A file another thread made: its rows and bytes. */
export type WrittenSampleFile = Omit<SampleFile, 'path'>;

/** Below this many geolocation rows (scale 0.1), starting a thread costs more than it saves. */
const WORKER_MIN_ROWS = 100_000;

/** The compiled worker; running from TypeScript sources (the tests) there is none, and the file is made here. */
const SAMPLE_WORKER = join(__dirname, 'sample-worker.js');

function startSampleWorker(data: SampleWorkerData): { done: Promise<WrittenSampleFile>; stop(): Promise<void> } {
  const worker = new Worker(SAMPLE_WORKER, { workerData: data });
  const done = new Promise<WrittenSampleFile>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the sample worker stopped (exit ${code}) before it wrote ${OLIST_FILES.geolocation}`)));
  });
  done.catch(() => undefined);
  return { done, stop: async () => void (await worker.terminate()) };
}

/** The worker's work: the geolocation file at `data.path`. */
export async function writeGeolocationFile(data: SampleWorkerData): Promise<WrittenSampleFile> {
  const ctx = new SampleContext(data.seed, sampleCounts(data.scale));
  const writer = new CsvFileWriter(OLIST_FILES.geolocation, fileSink(data.path));
  try {
    await writeGeolocation(ctx, writer);
  } catch (error) {
    writer.destroy();
    throw error;
  }
  return writer.result();
}

export interface KaggleZip {
  path: string;
  bytes: number;
  entries: string[];
}

// NOTE: a fixed, local-time DOS timestamp only: yazl's extended (UTC) timestamp field would
// make the bytes depend on the machine's time zone.
const ZIP_ENTRY_TIME = new Date(2018, 9, 17, 0, 0, 0);

/**
 * Zips CSV files the way Kaggle's dataset download comes: every file at the zip's root,
 * deflated. `source` is a folder (its `*.csv` files are taken) or the files themselves.
 * The same files give the same zip bytes, and the zip appears whole at `zipPath` or not at all.
 */
export async function writeKaggleZip(
  source: string | readonly Pick<SampleFile, 'name' | 'path'>[],
  zipPath: string,
): Promise<KaggleZip> {
  const files =
    typeof source === 'string'
      ? (await readdir(source))
          .filter((name) => name.toLowerCase().endsWith('.csv'))
          .map((name) => ({ name, path: join(source, name) }))
      : [...source];
  if (files.length === 0) throw new Error(`no CSV file to zip in ${String(source)}`);
  const parts = await partsFolder(zipPath);
  try {
    return await zipFiles(files, zipPath, join(parts, 'partial.zip'), 6);
  } finally {
    await rm(parts, { recursive: true, force: true });
  }
}

/**
 * A folder beside `zipPath` for what is written before the zip is whole. A run stopped
 * midway leaves it behind, never a zip at `zipPath` (readers take a zip there as complete).
 */
function partsFolder(zipPath: string): Promise<string> {
  return mkdtemp(join(dirname(zipPath), `.${basename(zipPath)}.parts-`));
}

/**
 * Zips `files` in name order at zlib's `level` (0 stores them) into `partial`, then renames it
 * to `zipPath`. Fixed timestamps and modes: the same files give the same bytes.
 */
async function zipFiles(
  files: readonly Pick<SampleFile, 'name' | 'path'>[],
  zipPath: string,
  partial: string,
  level: number,
): Promise<KaggleZip> {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const zip = new ZipFile();
  for (const file of sorted) {
    zip.addFile(file.path, file.name, {
      mtime: ZIP_ENTRY_TIME,
      mode: 0o100644,
      compress: level > 0,
      compressionLevel: level,
      forceDosTimestamp: true,
    });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(partial));
  await rename(partial, zipPath);
  const { size } = await stat(zipPath);
  return { path: zipPath, bytes: size, entries: sorted.map((f) => f.name) };
}

// ---------------------------------------------------------------------------------------
// Writing CSV as Olist's exporter did

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * A text field. Olist's files quote a text value that starts with a digit (ids such as
 * `"00010242fe8c5a6d1ba2dd792cb16214"`, zip prefixes such as `"01151"`) and leave the
 * others bare (`e5f2d52b802189ee658865ca93d83a8f`, `sao paulo`); like any CSV writer they
 * also quote a value holding a delimiter, quote or line break. An empty value is bare.
 */
function text(value: string): string {
  if (value === '') return '';
  const first = value.charCodeAt(0);
  if ((first >= 48 && first <= 57) || NEEDS_QUOTES.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** A text field of the few values a table holds (cities, categories, review texts), made once. */
const textMemo = new Map<string, string>();
function memoText(value: string): string {
  let field = textMemo.get(value);
  if (field === undefined) textMemo.set(value, (field = text(value)));
  return field;
}

/** An id field: 32 hex digits, quoted when it starts with a digit (as `text` would, without the scan). */
function idField(id: string): string {
  return id.charCodeAt(0) <= 57 ? `"${id}"` : id;
}

/** A zip prefix field: five digits with leading zeros, so always quoted. */
function zipField(prefix: number): string {
  return prefix >= 10000 ? `"${prefix}"` : `"${String(prefix).padStart(5, '0')}"`;
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => (i < 10 ? `0${i}` : String(i)));

/**
 * `YYYY-MM-DD ` of each day seen, keyed by the day's number since the epoch: the dates of a
 * sample span a few years, so a row's timestamp costs a lookup, not a `Date`.
 */
const dayPrefixes = new Map<number, string>();
function dayPrefix(day: number): string {
  let prefix = dayPrefixes.get(day);
  if (prefix === undefined) dayPrefixes.set(day, (prefix = `${new Date(day * 86400_000).toISOString().slice(0, 10)} `));
  return prefix;
}

/** `YYYY-MM-DD HH:MM:SS` (UTC) for epoch seconds (whole ones: the fraction is dropped). */
function timestamp(seconds: number): string {
  const whole = Math.floor(seconds);
  const day = Math.floor(whole / 86400);
  let rest = whole - day * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  return `${dayPrefix(day)}${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[rest - minutes * 60]}`;
}

/** `YYYY-MM-DD 00:00:00`: the day of epoch seconds, as Olist writes dates. */
function midnight(seconds: number): string {
  return `${dayPrefix(Math.floor(seconds / 86400))}00:00:00`;
}

/** Cents as a two-decimal amount: 5890 → `58.90`. */
function money(cents: number): string {
  const rest = cents % 100;
  return `${Math.floor(cents / 100)}.${rest < 10 ? '0' : ''}${rest}`;
}

/**
 * Rows are gathered into chunks this big before they are written: a write costs a call into
 * the file system or zlib, and far fewer of them leave the time to making rows.
 */
const FLUSH_AT = 1 << 16;

/** Where a CSV file's bytes go. */
interface ChunkSink {
  /** Resolves once the sink can take more. */
  write(chunk: Buffer): Promise<void>;
  end(): Promise<void>;
  destroy(): void;
}

/** A file as a sink; its buffer holds a few chunks, so rows are made while the last ones are written. */
function fileSink(path: string): ChunkSink {
  const out = createWriteStream(path, { highWaterMark: 4 * FLUSH_AT });
  return {
    async write(chunk) {
      if (!out.write(chunk)) await once(out, 'drain');
    },
    async end() {
      out.end();
      await finished(out);
    },
    destroy: () => out.destroy(),
  };
}

/** One CSV file being written, with backpressure; a disabled one (no sink) counts rows and writes nothing. */
class CsvFileWriter {
  private buffer = '';
  private rows = 0;
  private bytes = 0;

  constructor(
    readonly name: string,
    private readonly out: ChunkSink | undefined,
  ) {}

  get enabled(): boolean {
    return this.out !== undefined;
  }

  /** Olist's headers quote every name, except the small translation file's. */
  header(quoted: boolean): void {
    const names = OLIST_HEADERS[this.name] ?? [];
    this.buffer += `${names.map((n) => (quoted ? `"${n}"` : n)).join(',')}\n`;
  }

  /** Adds a row; true when the caller should `await flush()`. */
  row(line: string): boolean {
    this.rows++;
    if (!this.out) return false;
    this.buffer += line;
    this.buffer += '\n';
    return this.buffer.length >= FLUSH_AT;
  }

  async flush(): Promise<void> {
    if (!this.out || this.buffer === '') return;
    const chunk = Buffer.from(this.buffer, 'utf8');
    this.buffer = '';
    this.bytes += chunk.length;
    await this.out.write(chunk);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.out?.end();
  }

  destroy(): void {
    this.out?.destroy();
  }

  result(): Omit<SampleFile, 'path'> {
    return { name: this.name, rows: this.rows, bytes: this.bytes };
  }
}

// ---------------------------------------------------------------------------------------
// Randomness: seeded streams and keyed ids

function seedWords(seed: string, stream: string): [number, number, number, number] {
  const h = createHash('sha256').update(`${seed}\u0000${stream}`).digest();
  return [h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)];
}

/** sfc32: small, fast, and the same numbers on every platform for a seed. */
class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: string, stream: string) {
    [this.a, this.b, this.c, this.d] = seedWords(seed, stream);
    for (let i = 0; i < 12; i++) this.next();
  }

  next(): number {
    const t0 = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    const t = (t0 + this.d) | 0;
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** In [0, 1). */
  float(): number {
    return this.next() / 4294967296;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.float();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }

  /** A log-normal value with the given median. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  pick<T>(table: Weighted<T>): T {
    return table.at(this.float());
  }
}

/** A table of values with weights, drawn by binary search over cumulative weights. */
class Weighted<T> {
  private readonly values: T[];
  private readonly cumulative: number[];

  constructor(entries: readonly (readonly [T, number])[]) {
    this.values = entries.map(([v]) => v);
    let sum = 0;
    this.cumulative = entries.map(([, w]) => (sum += w));
  }

  at(u: number): T {
    const target = u * (this.cumulative[this.cumulative.length - 1] ?? 0);
    let lo = 0;
    let hi = this.cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] ?? 0) > target) hi = mid;
      else lo = mid + 1;
    }
    return this.values[lo] as T;
  }
}

/** A bijective 32-bit mixer (lowbias32), so distinct indexes never share an id. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Eight lowercase hex digits of a 32-bit word. */
function hex8(x: number): string {
  return HEX_BYTES[x >>> 24]! + HEX_BYTES[(x >>> 16) & 255]! + HEX_BYTES[(x >>> 8) & 255]! + HEX_BYTES[x & 255]!;
}

/** 32-lowercase-hex ids (like Olist's md5-looking ones), a pure function of seed, kind and index. */
class IdMaker {
  private readonly keys: [number, number, number, number];

  constructor(seed: string, kind: string) {
    this.keys = seedWords(seed, `id:${kind}`);
  }

  id(index: number): string {
    const w0 = mix32((index + this.keys[0]) | 0);
    const w1 = mix32((w0 ^ this.keys[1]) | 0);
    const w2 = mix32((w1 ^ this.keys[2]) | 0);
    const w3 = mix32((w2 ^ this.keys[3]) | 0);
    return hex8(w0) + hex8(w1) + hex8(w2) + hex8(w3);
  }

  /** A number in [0, 1) that depends only on the index (per-product prices, sellers). */
  unit(index: number, lane: number): number {
    return mix32((index * 4 + lane + (this.keys[lane & 3] ?? 0)) | 0) / 4294967296;
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** A permutation of [0, n) without a table: i → (a·i + b) mod n with gcd(a, n) = 1. */
class AffinePermutation {
  private readonly a: number;
  private readonly b: number;

  constructor(
    private readonly n: number,
    rng: Random,
  ) {
    let a = Math.max(1, Math.floor(n * 0.6180339887)) + rng.int(0, 7);
    while (gcd(a, n) !== 1) a++;
    this.a = a % n || 1;
    this.b = rng.int(0, n - 1);
  }

  at(i: number): number {
    // Safe in doubles: a, i < n, and n stays far below 2^26 at any sensible scale.
    return (this.a * i + this.b) % this.n;
  }
}

/**
 * Hands out exactly `total` units over `slots` slots, at least one each, as a draw per slot
 * (geometric extras whose mean follows what is left), so counts stay exact at any scale
 * without knowing the slots in advance.
 */
class Allocator {
  constructor(
    private remaining: number,
    private slotsLeft: number,
    private readonly maxPerSlot: number,
  ) {}

  next(rng: Random): number {
    if (this.slotsLeft <= 0) return 0;
    const spare = this.remaining - this.slotsLeft;
    let extra = 0;
    if (this.slotsLeft === 1) {
      extra = spare;
    } else if (spare > 0) {
      const mean = spare / this.slotsLeft;
      const q = mean / (1 + mean);
      while (extra < spare && extra < this.maxPerSlot - 1 && rng.chance(q)) extra++;
    }
    this.remaining -= 1 + extra;
    this.slotsLeft--;
    return 1 + extra;
  }
}

// ---------------------------------------------------------------------------------------
// Reference data

interface City {
  name: string;
  state: string;
  zipFrom: number;
  zipTo: number;
  lat: number;
  lng: number;
}

function city(name: string, state: string, zipFrom: number, zipTo: number, lat: number, lng: number): City {
  return { name, state, zipFrom, zipTo, lat, lng };
}

const SAO_PAULO_ACCENTED = city('são paulo', 'SP', 1000, 5999, -23.55, -46.63);

// Weights roughly follow where Olist's customers live (São Paulo state holds ~42%). Both
// spellings occur, as they do across the real files; the accented and hyphenated ones are
// what title-casing has to get right.
const CITIES = new Weighted<City>([
  [city('sao paulo', 'SP', 1000, 5999, -23.55, -46.63), 15000],
  [SAO_PAULO_ACCENTED, 1500],
  [city('rio de janeiro', 'RJ', 20000, 23799, -22.91, -43.17), 6900],
  [city('belo horizonte', 'MG', 30000, 31999, -19.92, -43.94), 2800],
  [city('brasilia', 'DF', 70000, 72799, -15.79, -47.88), 1800],
  [city('brasília', 'DF', 70000, 72799, -15.79, -47.88), 350],
  [city('curitiba', 'PR', 80000, 82999, -25.43, -49.27), 1500],
  [city('campinas', 'SP', 13000, 13199, -22.91, -47.06), 1450],
  [city('porto alegre', 'RS', 90000, 91999, -30.03, -51.23), 1400],
  [city('salvador', 'BA', 40000, 42599, -12.97, -38.5), 1250],
  [city('guarulhos', 'SP', 7000, 7399, -23.45, -46.53), 1200],
  [city('sao bernardo do campo', 'SP', 9600, 9899, -23.69, -46.56), 940],
  [city('niteroi', 'RJ', 24000, 24399, -22.88, -43.1), 700],
  [city('niterói', 'RJ', 24000, 24399, -22.88, -43.1), 150],
  [city('santo andre', 'SP', 9000, 9299, -23.66, -46.53), 800],
  [city('osasco', 'SP', 6000, 6299, -23.53, -46.79), 750],
  [city('santos', 'SP', 11000, 11099, -23.96, -46.33), 710],
  [city('goiania', 'GO', 74000, 74899, -16.68, -49.25), 550],
  [city('goiânia', 'GO', 74000, 74899, -16.68, -49.25), 150],
  [city('sao jose dos campos', 'SP', 12200, 12248, -23.18, -45.88), 690],
  [city('fortaleza', 'CE', 60000, 61599, -3.73, -38.52), 650],
  [city('sorocaba', 'SP', 18000, 18109, -23.5, -47.45), 630],
  [city('recife', 'PE', 50000, 52999, -8.05, -34.9), 610],
  [city('florianopolis', 'SC', 88000, 88099, -27.6, -48.55), 450],
  [city('florianópolis', 'SC', 88000, 88099, -27.6, -48.55), 120],
  [city('jundiai', 'SP', 13200, 13219, -23.19, -46.88), 460],
  [city('jundiaí', 'SP', 13200, 13219, -23.19, -46.88), 100],
  [city('ribeirao preto', 'SP', 14000, 14114, -21.18, -47.81), 410],
  [city('ribeirão preto', 'SP', 14000, 14114, -21.18, -47.81), 100],
  [city('belém', 'PA', 66000, 66999, -1.46, -48.5), 440],
  [city('vitória', 'ES', 29000, 29099, -20.32, -40.34), 480],
  [city('vila velha', 'ES', 29100, 29129, -20.33, -40.29), 250],
  [city('manaus', 'AM', 69000, 69099, -3.12, -60.02), 200],
  [city('são luís', 'MA', 65000, 65109, -2.53, -44.3), 150],
  [city('maceió', 'AL', 57000, 57099, -9.67, -35.74), 120],
  [city('joão pessoa', 'PB', 58000, 58099, -7.12, -34.86), 120],
  [city('natal', 'RN', 59000, 59161, -5.79, -35.21), 150],
  [city('teresina', 'PI', 64000, 64099, -5.09, -42.8), 100],
  [city('cuiabá', 'MT', 78000, 78109, -15.6, -56.1), 100],
  [city('campo grande', 'MS', 79000, 79129, -20.45, -54.62), 150],
  [city('aracaju', 'SE', 49000, 49099, -10.91, -37.07), 100],
  [city('palmas', 'TO', 77000, 77270, -10.18, -48.33), 60],
  [city('porto velho', 'RO', 76800, 76834, -8.76, -63.9), 50],
  [city('macapá', 'AP', 68900, 68914, -0.03, -51.07), 40],
  [city('rio branco', 'AC', 69900, 69923, -9.97, -67.81), 40],
  [city('boa vista', 'RR', 69300, 69339, 2.82, -60.67), 30],
  [city('londrina', 'PR', 86000, 86099, -23.31, -51.16), 200],
  [city('joinville', 'SC', 89200, 89239, -26.3, -48.85), 200],
  [city('itajaí', 'SC', 88300, 88319, -26.91, -48.66), 100],
  [city('uberlândia', 'MG', 38400, 38415, -18.92, -48.28), 200],
  [city('juiz de fora', 'MG', 36000, 36099, -21.76, -43.35), 250],
  [city('contagem', 'MG', 32000, 32399, -19.93, -44.05), 300],
  [city('são joão del rei', 'MG', 36300, 36309, -21.13, -44.26), 60],
  [city('feira de santana', 'BA', 44000, 44099, -12.27, -38.97), 200],
  [city('caxias do sul', 'RS', 95000, 95099, -29.17, -51.18), 250],
  [city('pelotas', 'RS', 96000, 96099, -31.77, -52.34), 150],
  [city('xangri-lá', 'RS', 95588, 95588, -29.8, -50.04), 70],
  [city('xangri-la', 'RS', 95588, 95588, -29.8, -50.04), 25],
  [city('nova iguaçu', 'RJ', 26000, 26099, -22.76, -43.45), 300],
  [city('duque de caxias', 'RJ', 25000, 25299, -22.79, -43.31), 300],
  [city('petrópolis', 'RJ', 25600, 25799, -22.51, -43.18), 150],
  [city('sao goncalo', 'RJ', 24400, 24799, -22.83, -43.05), 350],
  [city('mogi das cruzes', 'SP', 8700, 8899, -23.52, -46.19), 380],
  [city('franca', 'SP', 14400, 14414, -20.54, -47.4), 200],
  [city('embu das artes', 'SP', 6800, 6849, -23.65, -46.85), 100],
  [city('santana de parnaíba', 'SP', 6500, 6549, -23.44, -46.92), 80],
  [city("santa bárbara d'oeste", 'SP', 13450, 13459, -22.75, -47.41), 60],
  [city("santa barbara d'oeste", 'SP', 13450, 13459, -22.75, -47.41), 80],
  [city("olho d'água das flores", 'AL', 57442, 57442, -9.54, -37.29), 10],
  [city('são pedro da água branca', 'MA', 65920, 65920, -5.08, -48.43), 60],
]);

/** Kaggle's `product_category_name_translation.csv`, typos included (`costruction_`, `fashio_`). */
const CATEGORY_TRANSLATIONS: readonly (readonly [string, string])[] = [
  ['beleza_saude', 'health_beauty'],
  ['informatica_acessorios', 'computers_accessories'],
  ['automotivo', 'auto'],
  ['cama_mesa_banho', 'bed_bath_table'],
  ['moveis_decoracao', 'furniture_decor'],
  ['esporte_lazer', 'sports_leisure'],
  ['perfumaria', 'perfumery'],
  ['utilidades_domesticas', 'housewares'],
  ['telefonia', 'telephony'],
  ['relogios_presentes', 'watches_gifts'],
  ['alimentos_bebidas', 'food_drink'],
  ['bebes', 'baby'],
  ['papelaria', 'stationery'],
  ['tablets_impressao_imagem', 'tablets_printing_image'],
  ['brinquedos', 'toys'],
  ['telefonia_fixa', 'fixed_telephony'],
  ['ferramentas_jardim', 'garden_tools'],
  ['fashion_bolsas_e_acessorios', 'fashion_bags_accessories'],
  ['eletroportateis', 'small_appliances'],
  ['consoles_games', 'consoles_games'],
  ['audio', 'audio'],
  ['fashion_calcados', 'fashion_shoes'],
  ['cool_stuff', 'cool_stuff'],
  ['malas_acessorios', 'luggage_accessories'],
  ['climatizacao', 'air_conditioning'],
  ['construcao_ferramentas_construcao', 'construction_tools_construction'],
  ['moveis_cozinha_area_de_servico_jantar_e_jardim', 'kitchen_dining_laundry_garden_furniture'],
  ['construcao_ferramentas_jardim', 'costruction_tools_garden'],
  ['fashion_roupa_masculina', 'fashion_male_clothing'],
  ['pet_shop', 'pet_shop'],
  ['moveis_escritorio', 'office_furniture'],
  ['market_place', 'market_place'],
  ['eletronicos', 'electronics'],
  ['eletrodomesticos', 'home_appliances'],
  ['artigos_de_festas', 'party_supplies'],
  ['casa_conforto', 'home_confort'],
  ['construcao_ferramentas_ferramentas', 'costruction_tools_tools'],
  ['agro_industria_e_comercio', 'agro_industry_and_commerce'],
  ['moveis_colchao_e_estofado', 'furniture_mattress_and_upholstery'],
  ['livros_tecnicos', 'books_technical'],
  ['casa_construcao', 'home_construction'],
  ['instrumentos_musicais', 'musical_instruments'],
  ['moveis_sala', 'furniture_living_room'],
  ['construcao_ferramentas_iluminacao', 'construction_tools_lights'],
  ['industria_comercio_e_negocios', 'industry_commerce_and_business'],
  ['alimentos', 'food'],
  ['artes', 'art'],
  ['moveis_quarto', 'furniture_bedroom'],
  ['livros_interesse_geral', 'books_general_interest'],
  ['construcao_ferramentas_seguranca', 'construction_tools_safety'],
  ['fashion_underwear_e_moda_praia', 'fashion_underwear_beach'],
  ['fashion_esporte', 'fashion_sport'],
  ['sinalizacao_e_seguranca', 'signaling_and_security'],
  ['pcs', 'computers'],
  ['artigos_de_natal', 'christmas_supplies'],
  ['fashion_roupa_feminina', 'fashio_female_clothing'],
  ['eletrodomesticos_2', 'home_appliances_2'],
  ['livros_importados', 'books_imported'],
  ['bebidas', 'drinks'],
  ['cine_foto', 'cine_photo'],
  ['la_cuisine', 'la_cuisine'],
  ['musica', 'music'],
  ['casa_conforto_2', 'home_comfort_2'],
  ['portateis_casa_forno_e_cafe', 'small_appliances_home_oven_and_coffee'],
  ['cds_dvds_musicais', 'cds_dvds_musicals'],
  ['dvds_blu_ray', 'dvds_blu_ray'],
  ['flores', 'flowers'],
  ['artes_e_artesanato', 'arts_and_craftmanship'],
  ['fraldas_higiene', 'diapers_and_hygiene'],
  ['fashion_roupa_infanto_juvenil', 'fashion_childrens_clothes'],
  ['seguros_e_servicos', 'security_and_services'],
];

// Products per category in the real data for the big ones; the long tail gets a small
// weight. Two categories used by products have no translation, as in the real files.
const CATEGORY_WEIGHTS: Readonly<Record<string, number>> = {
  cama_mesa_banho: 3029,
  esporte_lazer: 2867,
  moveis_decoracao: 2657,
  beleza_saude: 2444,
  utilidades_domesticas: 2335,
  automotivo: 1900,
  informatica_acessorios: 1639,
  brinquedos: 1411,
  relogios_presentes: 1329,
  telefonia: 1134,
  bebes: 919,
  perfumaria: 868,
  fashion_bolsas_e_acessorios: 849,
  papelaria: 849,
  cool_stuff: 789,
  ferramentas_jardim: 753,
  pet_shop: 719,
  eletronicos: 517,
  construcao_ferramentas_construcao: 400,
};
const CATEGORIES = new Weighted<string>([
  ...CATEGORY_TRANSLATIONS.map(([name]) => [name, CATEGORY_WEIGHTS[name] ?? 60] as const),
  ['pc_gamer', 3],
  ['portateis_cozinha_e_preparadores_de_alimentos', 10],
]);

type OrderStatus = 'delivered' | 'shipped' | 'canceled' | 'unavailable' | 'invoiced' | 'processing' | 'created' | 'approved';

// Real shares among orders that have items, and among the 775 that have none.
const STATUS_WITH_ITEMS = new Weighted<OrderStatus>([
  ['delivered', 96478],
  ['shipped', 1107],
  ['canceled', 461],
  ['invoiced', 311],
  ['processing', 301],
  ['unavailable', 6],
  ['approved', 2],
]);
const STATUS_WITHOUT_ITEMS = new Weighted<OrderStatus>([
  ['unavailable', 603],
  ['canceled', 164],
  ['created', 5],
  ['invoiced', 3],
]);

const PAYMENT_TYPES = new Weighted<string>([
  ['credit_card', 7680],
  ['boleto', 2000],
  ['voucher', 240],
  ['debit_card', 160],
]);
const INSTALLMENTS = new Weighted<number>([
  [1, 33],
  [2, 16],
  [3, 13],
  [4, 9],
  [5, 7],
  [6, 5],
  [7, 2],
  [8, 6],
  [10, 7],
  [12, 0.2],
  [24, 0.02],
]);
const REVIEW_SCORES = new Weighted<number>([
  [5, 578],
  [4, 193],
  [3, 82],
  [2, 32],
  [1, 115],
]);
const REVIEW_TITLES = new Weighted<string>([
  ['recomendo', 10],
  ['Recomendo', 8],
  ['Ótimo', 6],
  ['Excelente', 6],
  ['Muito bom', 6],
  ['Super recomendo', 4],
  ['Bom', 4],
  ['10', 3],
  ['nota 10', 3],
  ['Não recebi', 3],
  ['Péssimo', 2],
  ['Produto com defeito', 2],
  ['Entrega rápida', 2],
]);
const REVIEW_MESSAGES = new Weighted<string>([
  ['Recebi antes do prazo, tudo certo.', 10],
  ['Produto ótimo, chegou bem embalado e antes do prazo.', 8],
  ['Muito bom, recomendo a loja.', 8],
  ['Entrega rápida, produto conforme o anúncio', 6],
  ['Gostei muito, qualidade excelente, voltarei a comprar.', 5],
  ['Ainda não recebi o produto', 4],
  ['O produto veio com defeito, já pedi a troca.', 3],
  ['Comprei dois e só recebi um.', 3],
  ['A entrega atrasou mais de uma semana.\r\nMas o produto é bom.', 3],
  ['O "tamanho único" é bem menor do que parece nas fotos', 2],
  ['Loja nota 10', 3],
  ['10 dias de atraso, péssimo atendimento', 2],
  ['Bom custo-benefício;\r\nembalagem simples, mas tudo funcionando.\r\nRecomendo.', 2],
  ['não gostei', 2],
]);

/** Measurements of the few products that have none (all four empty, as in the real data). */
interface Measurements {
  weight: string;
  length: string;
  height: string;
  width: string;
}

// Purchases run from Olist's first order to its last delivered ones, denser over time.
const FIRST_PURCHASE = Date.UTC(2016, 8, 4, 21, 15, 19) / 1000;
const LAST_PURCHASE = Date.UTC(2018, 8, 3, 9, 6, 57) / 1000;
const HOUR = 3600;
const DAY = 86400;

// ---------------------------------------------------------------------------------------
// The files

/** What more than one file needs to agree on: ids and who sells/buys what. */
class SampleContext {
  readonly customerIds: IdMaker;
  readonly uniqueIds: IdMaker;
  readonly orderIds: IdMaker;
  readonly productIds: IdMaker;
  readonly sellerIds: IdMaker;
  readonly reviewIds: IdMaker;
  readonly productTraits: IdMaker;
  readonly customerOfOrder: AffinePermutation;
  readonly productOrder: AffinePermutation;

  constructor(
    readonly seed: string,
    readonly counts: SampleCounts,
  ) {
    this.customerIds = new IdMaker(seed, 'customer');
    this.uniqueIds = new IdMaker(seed, 'customer_unique');
    this.orderIds = new IdMaker(seed, 'order');
    this.productIds = new IdMaker(seed, 'product');
    this.sellerIds = new IdMaker(seed, 'seller');
    this.reviewIds = new IdMaker(seed, 'review');
    this.productTraits = new IdMaker(seed, 'product_traits');
    const rng = new Random(seed, 'permutations');
    this.customerOfOrder = new AffinePermutation(counts.customers, rng);
    this.productOrder = new AffinePermutation(counts.products, rng);
  }

  rng(stream: string): Random {
    return new Random(this.seed, stream);
  }

  /** Each product is mostly sold by one seller; a few sellers sell most products. */
  sellerOf(product: number): number {
    const u = this.productTraits.unit(product, 0);
    return Math.min(this.counts.sellers - 1, Math.floor(this.counts.sellers * u * u));
  }

  /** A product's price in cents, the same on every order, ending like shop prices do. */
  priceOf(product: number): number {
    const u1 = 1 - this.productTraits.unit(product, 1);
    const u2 = this.productTraits.unit(product, 2);
    const normal = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    const reais = Math.min(6735, Math.max(0.85, 75 * Math.exp(0.95 * normal)));
    const ending = this.productTraits.unit(product, 3);
    const cents = ending < 0.45 ? 90 : ending < 0.65 ? 99 : ending < 0.8 ? 0 : Math.floor(((ending - 0.8) / 0.2) * 100);
    return Math.max(85, Math.floor(reais) * 100 + cents);
  }
}

/** A zip prefix of the city, as a CSV field. */
function zipOf(rng: Random, c: City): string {
  return zipField(rng.int(c.zipFrom, c.zipTo));
}

async function writeCategoryTranslation(w: CsvFileWriter): Promise<void> {
  w.header(false);
  for (const [name, english] of CATEGORY_TRANSLATIONS) w.row(`${text(name)},${text(english)}`);
  await w.close();
}

async function writeSellers(ctx: SampleContext, w: CsvFileWriter): Promise<void> {
  const rng = ctx.rng('sellers');
  w.header(true);
  for (let s = 0; s < ctx.counts.sellers; s++) {
    const c = rng.pick(CITIES);
    const line = `${idField(ctx.sellerIds.id(s))},${zipOf(rng, c)},${memoText(c.name)},${c.state}`;
    if (w.row(line)) await w.flush();
  }
  await w.close();
}

function clampInt(value: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, Math.round(value)));
}

async function writeProducts(ctx: SampleContext, w: CsvFileWriter): Promise<void> {
  const rng = ctx.rng('products');
  const missingCategory = 610 / OLIST_ROW_COUNTS.products;
  const missingMeasurements = 2 / OLIST_ROW_COUNTS.products;
  w.header(true);
  for (let p = 0; p < ctx.counts.products; p++) {
    // The second and third products always show the two kinds of gaps, so every sample has them.
    const noCategory = p === 1 || rng.chance(missingCategory);
    const noMeasurements = p === 2 || rng.chance(missingMeasurements);
    let category = '';
    let nameLength = '';
    let descriptionLength = '';
    let photos = '';
    if (!noCategory) {
      category = rng.pick(CATEGORIES);
      nameLength = String(clampInt(48 + 10 * rng.normal(), 5, 76));
      descriptionLength = String(clampInt(rng.logNormal(600, 0.8), 4, 3992));
      const r = rng.float();
      photos = String(r < 0.5 ? 1 : r < 0.7 ? 2 : r < 0.81 ? 3 : r < 0.89 ? 4 : rng.int(5, 20));
    }
    const m: Measurements = noMeasurements
      ? { weight: '', length: '', height: '', width: '' }
      : {
          weight: String(rng.chance(0.0002) ? 0 : clampInt(rng.logNormal(700, 1.2), 2, 40425)),
          length: String(clampInt(rng.logNormal(25, 0.5), 7, 105)),
          height: String(clampInt(rng.logNormal(13, 0.7), 2, 105)),
          width: String(clampInt(rng.logNormal(20, 0.45), 6, 118)),
        };
    const line =
      `${idField(ctx.productIds.id(p))},${memoText(category)},${nameLength},${descriptionLength},${photos},` +
      `${m.weight},${m.length},${m.height},${m.width}`;
    if (w.row(line)) await w.flush();
  }
  await w.close();
}

async function writeCustomers(ctx: SampleContext, w: CsvFileWriter): Promise<void> {
  const rng = ctx.rng('customers');
  // ~3.4% of customer_ids belong to a person seen before (96,096 unique people in 99,441).
  const repeat = 1 - 96_096 / OLIST_ROW_COUNTS.customers;
  w.header(true);
  for (let c = 0; c < ctx.counts.customers; c++) {
    const unique = c > 0 && rng.chance(repeat) ? rng.int(0, c - 1) : c;
    // The first customer always lives in São Paulo: every sample has an accented city and a
    // zip prefix with a leading zero.
    const place = c === 0 ? SAO_PAULO_ACCENTED : rng.pick(CITIES);
    const line =
      `${idField(ctx.customerIds.id(c))},${idField(ctx.uniqueIds.id(unique))},${zipOf(rng, place)},` +
      `${memoText(place.name)},${place.state}`;
    if (w.row(line)) await w.flush();
  }
  await w.close();
}

interface OrderWriters {
  orders: CsvFileWriter;
  items: CsvFileWriter;
  payments: CsvFileWriter;
  reviews: CsvFileWriter;
}

/** Orders with their items, payments and reviews, made together so that they agree. */
async function writeOrders(ctx: SampleContext, version: number, w: OrderWriters): Promise<void> {
  const { counts } = ctx;
  const rng = ctx.rng('orders');
  const itemRng = ctx.rng('order_items');
  const payRng = ctx.rng('payments');
  const reviewRng = ctx.rng('reviews');
  const items = new Allocator(counts.orderItems, counts.orders - counts.ordersWithoutItems, 21);
  const payments = new Allocator(counts.payments, counts.orders, 29);
  let withoutItemsLeft = counts.ordersWithoutItems;
  let firstWithoutItems = true;
  let productDraws = 0;
  let productCursor = 0;
  let reviewCount = 0;
  let lastReviewId = '';

  // Every product is sold at least once (as in the real data): every third draw takes the
  // next product not yet sold, the others favour popular products.
  const drawProduct = (): number => {
    const draw = productDraws++;
    if (draw % 3 === 0 && productCursor < counts.products) return ctx.productOrder.at(productCursor++);
    const u = itemRng.float();
    return ctx.productOrder.at(Math.floor(counts.products * u * u));
  };

  for (const header of [w.orders, w.items, w.payments, w.reviews]) header.header(true);

  for (let o = 0; o < counts.orders; o++) {
    const orderField = idField(ctx.orderIds.id(o));
    const customerId = ctx.customerIds.id(ctx.customerOfOrder.at(o));
    // Selection sampling: exactly `ordersWithoutItems` orders, spread over the file.
    const hasItems = !(rng.float() * (counts.orders - o) < withoutItemsLeft);
    let status: OrderStatus;
    if (hasItems) {
      status = rng.pick(STATUS_WITH_ITEMS);
    } else {
      withoutItemsLeft--;
      status = firstWithoutItems ? 'canceled' : rng.pick(STATUS_WITHOUT_ITEMS);
      firstWithoutItems = false;
    }

    const purchase = Math.floor(FIRST_PURCHASE + (LAST_PURCHASE - FIRST_PURCHASE) * Math.sqrt(rng.float()));
    const approvedMissing =
      status === 'created' || (status === 'canceled' && rng.chance(0.25)) || rng.chance(0.00015);
    const approved = purchase + (rng.chance(0.6) ? rng.int(600, HOUR) : rng.int(HOUR, 2 * DAY));
    const carrierKnown = status === 'delivered' || status === 'shipped' || (status === 'canceled' && rng.chance(0.12));
    const carrier = approved + Math.floor(rng.logNormal(2.2 * DAY, 0.7));
    const delivered = carrier + Math.floor(rng.logNormal(7 * DAY, 0.6));
    const estimated = purchase + rng.int(10, 45) * DAY;
    const deliveredKnown = status === 'delivered';
    // A later version: some shipped orders have arrived. Decided without drawing from the
    // generators, so every other value and file stays the same.
    const arrived = version > 1 && status === 'shipped' && mix32(o * 7919 + version) % 3 !== 0;
    const orderLine =
      `${orderField},${idField(customerId)},${arrived ? 'delivered' : status},${timestamp(purchase)},` +
      `${approvedMissing ? '' : timestamp(approved)},${carrierKnown ? timestamp(carrier) : ''},` +
      `${deliveredKnown || arrived ? timestamp(delivered) : ''},${midnight(estimated)}`;
    if (w.orders.row(orderLine)) await w.orders.flush();

    let totalCents = 0;
    if (hasItems) {
      const n = items.next(itemRng);
      const shippingLimit = purchase + itemRng.int(2 * DAY, 7 * DAY);
      let product = -1;
      for (let i = 1; i <= n; i++) {
        if (product < 0 || !itemRng.chance(0.7)) product = drawProduct();
        const price = ctx.priceOf(product);
        const freight = itemRng.chance(0.003) ? 0 : clampInt(itemRng.logNormal(1600, 0.55), 1, 40968);
        totalCents += price + freight;
        const itemLine =
          `${orderField},${i},${idField(ctx.productIds.id(product))},${idField(ctx.sellerIds.id(ctx.sellerOf(product)))},` +
          `${timestamp(shippingLimit)},${money(price)},${money(freight)}`;
        if (w.items.row(itemLine)) await w.items.flush();
      }
    } else {
      totalCents = clampInt(payRng.logNormal(12000, 0.8), 500, 500000);
    }

    const m = payments.next(payRng);
    let left = totalCents;
    for (let seq = 1; seq <= m; seq++) {
      const last = seq === m;
      const type = m === 1 ? payRng.pick(PAYMENT_TYPES) : last && payRng.chance(0.5) ? 'credit_card' : 'voucher';
      const installments = type === 'credit_card' ? payRng.pick(INSTALLMENTS) : 1;
      const part = last ? left : Math.floor(left * payRng.float() * 0.6);
      left -= part;
      const payLine = `${orderField},${seq},${type},${installments},${money(part)}`;
      if (w.payments.row(payLine)) await w.payments.flush();
    }

    // Most orders have one review; a few none, a few two. Some review ids repeat across
    // orders, as in the real file (review_id is not a key there).
    const r = reviewRng.float();
    const reviews = r < 0.008 ? 0 : r < 0.0135 ? 2 : 1;
    for (let k = 0; k < reviews; k++) {
      const reviewId =
        lastReviewId !== '' && reviewRng.chance(0.008) ? lastReviewId : ctx.reviewIds.id(reviewCount++);
      lastReviewId = reviewId;
      const title = reviewRng.chance(0.117) ? reviewRng.pick(REVIEW_TITLES) : '';
      const message = reviewRng.chance(0.413) ? reviewRng.pick(REVIEW_MESSAGES) : '';
      const created = (deliveredKnown ? delivered : estimated) + reviewRng.int(0, 1) * DAY;
      const createdDay = Math.floor(created / DAY) * DAY;
      const answered = createdDay + reviewRng.int(2 * HOUR, 5 * DAY);
      const reviewLine =
        `${idField(reviewId)},${orderField},${reviewRng.pick(REVIEW_SCORES)},${memoText(title)},${memoText(message)},` +
        `${midnight(createdDay)},${timestamp(answered)}`;
      if (w.reviews.row(reviewLine)) await w.reviews.flush();
    }
  }
  await Promise.all([w.orders.close(), w.items.close(), w.payments.close(), w.reviews.close()]);
}

async function writeGeolocation(ctx: SampleContext, w: CsvFileWriter): Promise<void> {
  const rng = ctx.rng('geolocation');
  w.header(true);
  for (let g = 0; g < ctx.counts.geolocation; g++) {
    const c = rng.pick(CITIES);
    const lat = c.lat + (rng.float() - 0.5) * 0.3;
    const lng = c.lng + (rng.float() - 0.5) * 0.3;
    const line = `${zipOf(rng, c)},${lat},${lng},${memoText(c.name)},${c.state}`;
    if (w.row(line)) await w.flush();
  }
  await w.close();
}
