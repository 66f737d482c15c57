/**
 * Streaming, not buffering: the real executable, run as a user runs it, reads an object of
 * 150,000 rows and one of 1,200,000 (~96 MB) while its reader stalls, and its peak memory does not
 * grow with the object. Peak RSS is the kernel's own high-water mark (VmHWM), which a
 * `--require`d probe reads as the process exits: no sampling that a busy machine could miss.
 * Needs `npx tsc -b packages/tap-minio-csv` first.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { createTestBucket } from '../support/s3';

const BIN = join(__dirname, '..', '..', 'bin', 'tap-minio-csv.js');
const SMALL_ROWS = 150_000;
const BIG_ROWS = 1_200_000;
const MB = 1024 * 1024;

/**
 * The peak-RSS probe: as the process exits, appends the kernel's high-water mark of its resident
 * memory (kB) to PEAK_RSS_FILE. VmHWM, not `process.resourceUsage().maxRSS`: getrusage keeps the
 * high-water mark across exec, so it would report the forking jest worker's size too.
 */
const PROBE = `process.on('exit', () => {
  const status = require('fs').readFileSync('/proc/self/status', 'utf8');
  require('fs').appendFileSync(process.env.PEAK_RSS_FILE, /VmHWM:\\s+(\\d+)/.exec(status)[1] + '\\n');
});
`;

interface Measured {
  code: number | null;
  stderr: string;
  records: number;
  stalled: boolean;
  /** Peak RSS in MB. */
  peak: number;
}

/** Runs the tap on `config`; once `stallAfter` records came, stops reading its output until it waits. */
async function runMeasured(dir: string, config: string, stallAfter: number): Promise<Measured> {
  const probe = join(dir, 'probe.js');
  const rssFile = join(dir, `rss-${stallAfter}.txt`);
  await writeFile(probe, PROBE);
  const child = spawn(process.execPath, [BIN, '-c', config], {
    env: { ...process.env, LOG_LEVEL: 'warning', NODE_OPTIONS: `--require ${probe}`, PEAK_RSS_FILE: rssFile },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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
  const [code] = (await once(child, 'close')) as [number | null];
  const kb = Number((await readFile(rssFile, 'utf8').catch(() => '0')).trim());
  return { code, stderr, records, stalled, peak: kb / 1024 };
}

// Linux only: VmHWM comes from /proc.
(existsSync('/proc/self/status') ? describe : describe.skip)('tap-minio-csv memory', () => {
  it('streams objects to a stalling reader in the same memory whatever their size', async () => {
    const bucket = await createTestBucket('memory');
    const objectOf = (rows: number): Buffer => {
      const lines = ['order_id,order_item_id,price,shipping_limit_date,note'];
      for (let i = 0; i < rows; i += 1) {
        lines.push(`${(i * 7919).toString(16).padStart(32, 'a')},${(i % 5) + 1},${(i % 997) + 0.5},2017-09-19 09:45:35,"some text, quoted"`);
      }
      return Buffer.from(`${lines.join('\n')}\n`);
    };
    const small = objectOf(SMALL_ROWS);
    const big = objectOf(BIG_ROWS);
    await bucket.put('small/items.csv', small);
    await bucket.put('big/items.csv', big);
    const dir = await mkdtemp(join(tmpdir(), 'tap-minio-csv-memory-'));
    try {
      const configFor = async (prefix: string): Promise<string> => {
        const path = join(dir, `${prefix}.json`);
        await writeFile(path, JSON.stringify(bucket.config({ tables: [{ table_name: 'items', search_prefix: `${prefix}/`, search_pattern: 'csv' }] })));
        return path;
      };
      const smallRun = await runMeasured(dir, await configFor('small'), SMALL_ROWS / 2);
      const bigRun = await runMeasured(dir, await configFor('big'), BIG_ROWS / 4);
      for (const run of [smallRun, bigRun]) {
        expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr }).toEqual({ code: 0, stderr: '' });
        expect(run.stalled).toBe(true);
      }
      expect([smallRun.records, bigRun.records]).toEqual([SMALL_ROWS, BIG_ROWS]);
      // 84 MB more object (and ~300 MB more Singer output) must not show: holding the body, its
      // records or the output would add at least that. What streaming adds does not depend on
      // the size (the young generation is capped by the launcher on every Node.js line), but
      // native memory outside the JS heap steps up by 20 to 30 MB in some runs and not in others
      // on Node 24 and 26, whatever the size (6 to 33 MB apart measured here). So the larger
      // object is eight times the smaller, and the bound is two thirds of the 85 MB that holding
      // its bytes alone would add: clear of that step either way.
      expect(big.length - small.length).toBeGreaterThan(80 * MB);
      expect(bigRun.peak - smallRun.peak).toBeLessThan(((big.length - small.length) / MB) * (2 / 3));
      expect(bigRun.peak).toBeLessThan(150);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
