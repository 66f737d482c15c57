/** What the benchmarks share: seeded data, the peak-RSS probe, output formatting. */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

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

/** A `--require`d probe: each child appends its peak RSS to a file as it exits. */
export async function writeProbe(dir: string): Promise<string> {
  const path = join(dir, 'rss-probe.js');
  await writeFile(
    path,
    `process.on('exit', () => {
  try {
    require('fs').appendFileSync(process.env.BENCH_RSS_FILE,
      JSON.stringify({ label: process.env.BENCH_LABEL, maxRss: process.resourceUsage().maxRSS }) + '\\n');
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
