/** What the benchmarks share: seeded data, the peak-RSS probe, output formatting. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

import { S3Client } from '@aws-sdk/client-s3';

export const MB = 1024 * 1024;

/** A small deterministic PRNG (mulberry32), so every run processes the same bytes. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hex32(next: () => number): string {
  let out = '';
  for (let i = 0; i < 4; i += 1) out += Math.floor(next() * 0x100000000).toString(16).padStart(8, '0');
  return out;
}

/**
 * A `--require`d probe: each child appends its peak RSS (kB) to a file as it exits. On Linux that
 * is VmHWM, the high-water mark of the process's own memory: getrusage's maxRSS keeps the mark
 * across exec, so a child would report its forking parent's size when that was larger.
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
    fs.appendFileSync(process.env.BENCH_RSS_FILE, JSON.stringify({ label: process.env.BENCH_LABEL, maxRss: kb }) + '\\n');
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
