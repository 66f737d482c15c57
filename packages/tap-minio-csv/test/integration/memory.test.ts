/**
 * Streaming, not buffering: the real executable reads an object of a few hundred thousand rows
 * while its reader stalls, and its peak memory stays far below what holding the object's
 * records or output would take. Linux only (peak RSS from /proc). Needs
 * `npx tsc -b packages/tap-minio-csv` first.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTestBucket } from '../support/s3';

const BIN = join(__dirname, '..', '..', 'bin', 'tap-minio-csv.js');
const ROWS = 600_000;

function peakRssMb(pid: number): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const linux = existsSync('/proc/self/status');

/** Runs the tap on `config` while polling its peak RSS; stalls reading its output once. */
async function runMeasured(config: string, stallAfter: number): Promise<{ code: number | null; stderr: string; records: number; stalled: boolean; peak: number }> {
  const child = spawn(process.execPath, [BIN, '-c', config], {
    env: { ...process.env, LOG_LEVEL: 'warning' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let peak = 0;
  const poll = setInterval(() => {
    peak = Math.max(peak, peakRssMb(child.pid ?? -1) ?? 0);
  }, 50);
  let records = 0;
  let stalled = false;
  let partial = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    for (const line of parts) if (line.startsWith('{"type":"RECORD"')) records += 1;
    if (!stalled && records > stallAfter) {
      // A slow consumer: the tap must wait for it, not queue the rest in memory.
      stalled = true;
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 1500);
    }
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearInterval(poll);
  return { code, stderr, records, stalled, peak };
}

(linux ? describe : describe.skip)('tap-minio-csv memory', () => {
  it('streams a large object to a stalling reader without holding it', async () => {
    const bucket = await createTestBucket('memory');
    const lines = ['order_id,order_item_id,price,shipping_limit_date,note'];
    for (let i = 0; i < ROWS; i += 1) {
      lines.push(`${(i * 7919).toString(16).padStart(32, 'a')},${(i % 5) + 1},${(i % 997) + 0.5},2017-09-19 09:45:35,"some text, quoted"`);
    }
    const body = Buffer.from(`${lines.join('\n')}\n`);
    lines.length = 0;
    await bucket.put('big/items.csv', body);
    await bucket.put('small/items.csv', 'order_id,order_item_id\nabc,1\n');
    const dir = await mkdtemp(join(tmpdir(), 'tap-minio-csv-memory-'));
    const configFor = async (prefix: string): Promise<string> => {
      const path = join(dir, `${prefix}.json`);
      await writeFile(path, JSON.stringify(bucket.config({ tables: [{ table_name: 'items', search_prefix: `${prefix}/`, search_pattern: 'csv' }] })));
      return path;
    };

    const small = await runMeasured(await configFor('small'), 0);
    const big = await runMeasured(await configFor('big'), ROWS / 4);
    await rm(dir, { recursive: true, force: true });
    expect({ code: big.code, stderr: big.code === 0 ? '' : big.stderr }).toEqual({ code: 0, stderr: '' });
    expect(big.records).toBe(ROWS);
    expect(big.stalled).toBe(true);
    expect(small.peak).toBeGreaterThan(0);
    // The object is ~48 MB and its Singer output ~170 MB. Holding the body, its records or the
    // output would add at least the object's size on top of the garbage collector's slack
    // (~30 MB at this allocation rate), which is all streaming adds.
    expect(body.length).toBeGreaterThan(45 * 1024 * 1024);
    expect(big.peak - small.peak).toBeLessThan(body.length / 1024 / 1024);
    expect(big.peak).toBeLessThan(150);
  });
});
