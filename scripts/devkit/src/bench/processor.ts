/**
 * `npm run bench:processor [-- --rows N] [--runs N] [--root DIR] [--keep]`: the processor against its
 * floor. `--root` runs the processor of another checkout (built), to compare two versions.
 *
 * An order_items-shaped Singer stream of N records (default 1,000,000), as tap-kaggle emits it,
 * is written to a file, then:
 *  (b) `processor < file` with the Olist rules (`singer-config/processor.json`) into a local
 *      S3 server: parse, validate, clean, CSV, multipart upload, copy into place;
 *  (a) floor: the same CSV bytes (the object (b) wrote, downloaded to disk) uploaded with
 *      lib-storage's `Upload` from a file stream, 5 MiB parts, 4 at once (a child process).
 * Both talk to the same S3 server and read files the page cache holds. A first processor run
 * warms the server up and makes the CSV (checked line by line); then the floor and the
 * processor run alternately `--runs` times (default 3); ratios are taken within each run and
 * the medians reported. Each child reports its peak RSS and CPU time through a `--require`d
 * probe, so the figures are the real executables'. Goals: (b) ≤ 2× (a); < 150 MB, the same at
 * any N.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';

import { startS3 } from '../local-services';
import {
  type ChildRun,
  ChildRunner,
  format,
  loadAverage,
  MB,
  median,
  ORDER_ITEMS_SCHEMA_MESSAGE,
  orderItemRecord,
  orderItemRows,
  parseBenchOptions,
  s3Client,
  spread,
  writeProbe,
} from './support';

const ROOT = resolve(__dirname, '../../../..');
const OLIST_CONFIG = join(ROOT, 'singer-config/processor.json');
const BUCKET = 'bench-processor';
const FLOOR_KEY = 'floor/order_items.csv';
const PART_SIZE = 5 * 1024 * 1024;
const QUEUE_SIZE = 4;

/** Writes the Singer stream tap-kaggle emits for Olist's order_items file. */
async function writeOrderItemsStream(path: string, rows: number): Promise<void> {
  const out = createWriteStream(path);
  const extracted = '2024-03-07T05:04:03.000000Z';
  let chunk = `${JSON.stringify(ORDER_ITEMS_SCHEMA_MESSAGE)}\n`;
  for (const row of orderItemRows(rows)) {
    chunk += orderItemRecord(row, extracted);
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  chunk += `${JSON.stringify({ type: 'STATE', value: { bookmarks: { 'olistbr/brazilian-ecommerce': { version: 1 } } } })}\n`;
  out.end(chunk);
  await once(out, 'finish');
}

/** (a) in the child: the CSV file uploaded with lib-storage's `Upload` at its defaults, the plain way to stream a file to S3. */
async function floor(path: string): Promise<void> {
  const client = s3Client({ endpoint: process.env.AWS_ENDPOINT_URL_S3, region: process.env.AWS_REGION, accessKeyId: process.env.AWS_ACCESS_KEY_ID, secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY });
  await new Upload({
    client,
    params: { Bucket: BUCKET, Key: FLOOR_KEY, Body: createReadStream(path), ContentType: 'text/csv; charset=utf-8' },
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
  }).done();
  client.destroy();
}

async function main(): Promise<void> {
  const floorAt = process.argv.indexOf('--floor');
  if (floorAt >= 0) return floor(process.argv[floorAt + 1] ?? '');
  const options = parseBenchOptions(process.argv.slice(2), ['root']);
  const root = resolve(options.values.get('root') ?? ROOT);
  const PROCESSOR_BIN = join(root, 'packages/processor/bin/processor.js');
  const work = await mkdtemp(join(tmpdir(), 'bench-processor-'));
  const log = (text: string): void => void process.stderr.write(`${text}\n`);
  log(`bench:processor: ${options.rows.toLocaleString('en')} records, ${options.runs} run(s), work dir ${work}`);
  const loadBefore = loadAverage();
  const s3 = await startS3();
  try {
    const runner = new ChildRunner(work, await writeProbe(work), {
      ...process.env,
      LOG_LEVEL: 'warning',
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    });

    const singerPath = join(work, 'order_items.singer');
    await writeOrderItemsStream(singerPath, options.rows);
    const singerSize = (await stat(singerPath)).size;
    log(`generated ${format(singerSize / MB, 1)} MB of Singer messages`);

    const { rules } = JSON.parse(await readFile(OLIST_CONFIG, 'utf8')) as { rules: unknown };
    const config = join(work, 'processor.json');
    // Only the stream the input has, so the run warns of no other.
    const ruleSet = { order_items: (rules as Record<string, unknown>).order_items };
    await writeFile(config, JSON.stringify({ bucket: BUCKET, key_template: '{stream}/{stream}.csv', rules: ruleSet }));

    const runProcessor = async (): Promise<ChildRun> => {
      const input = await open(singerPath, 'r');
      try {
        const run = await runner.run('processor', (env) => [
          [spawn(process.execPath, [PROCESSOR_BIN, '-c', config], { env: env('processor'), stdio: [input.fd, 'pipe', 'inherit'] }), 'processor'],
        ]);
        if (!run.output.includes('"version":1')) throw new Error(`processor printed no state: ${run.output}`);
        return run;
      } finally {
        await input.close();
      }
    };
    const csvPath = join(work, 'order_items.csv');
    const runFloor = (): Promise<ChildRun> =>
      runner.run('floor', (env) => [
        [spawn(process.execPath, [__filename, '--floor', csvPath], { env: env('floor'), stdio: ['ignore', 'pipe', 'inherit'] }), 'floor'],
      ]);

    log("warm-up: processor < order_items.singer (untimed; its object is the floor's input)");
    await runProcessor();
    const fetcher = s3Client(s3);
    const object = await fetcher.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'order_items/order_items.csv' }));
    await pipeline(object.Body as Readable, createWriteStream(csvPath));
    fetcher.destroy();
    const csvSize = (await stat(csvPath)).size;
    const lines = await countLines(csvPath);
    if (lines !== options.rows + 1) throw new Error(`object has ${lines} lines, expected ${options.rows + 1}`);
    log(`processor wrote ${format(csvSize / MB, 1)} MB of CSV`);

    const floors: ChildRun[] = [];
    const processors: ChildRun[] = [];
    for (let i = 1; i <= options.runs; i += 1) {
      log(`run ${i}/${options.runs}: (a) floor, lib-storage Upload of the same CSV bytes`);
      floors.push(await runFloor());
      log(`run ${i}/${options.runs}: (b) processor < order_items.singer`);
      processors.push(await runProcessor());
    }

    const cpu = (runs: ChildRun[], label: string): number[] => runs.map((r) => r.figures[label]?.cpuSeconds ?? Number.NaN);
    const peak = (runs: ChildRun[], label: string): string =>
      format(Math.max(...runs.map((r) => r.figures[label]?.rssMb ?? Number.NaN)), 0);
    const perMillion = (seconds: number[]): string => format((median(seconds) / options.rows) * 1e6);
    const wall = (runs: ChildRun[]): number[] => runs.map((r) => r.seconds);
    const ratio = processors.map((run, i) => run.seconds / floors[i]!.seconds);
    const table = [
      `records: ${options.rows.toLocaleString('en')} (${format(singerSize / MB, 1)} MB Singer in, ${format(csvSize / MB, 1)} MB CSV out); ${options.runs} run(s), median (min–max); Node ${process.version}${root === ROOT ? '' : `; processor of ${root}`}`,
      `load average before ${loadBefore}, after ${loadAverage()}`,
      '',
      '| run | wall s | CPU s (per 1M records) | ratio to (a) | goal | peak RSS MB |',
      '| --- | ---: | ---: | ---: | --- | ---: |',
      `| (a) lib-storage Upload of the CSV file (floor) | ${spread(wall(floors))} | ${spread(cpu(floors, 'floor'))} | 1.00 | | ${peak(floors, 'floor')} |`,
      `| (b) processor < Singer file | ${spread(wall(processors))} | ${spread(cpu(processors, 'processor'))} (${perMillion(cpu(processors, 'processor'))}) | ${spread(ratio)} | ≤ 2.0, < 150 MB | ${peak(processors, 'processor')} |`,
    ];
    process.stdout.write(`${table.join('\n')}\n`);
  } finally {
    await s3.stop().catch(() => undefined);
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
}

async function countLines(path: string): Promise<number> {
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    const buffer = chunk as Buffer;
    for (let i = buffer.indexOf(10); i >= 0; i = buffer.indexOf(10, i + 1)) lines += 1;
  }
  return lines;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:processor failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
