/**
 * `npm run bench:parallel [-- --scale N] [--pairs 1,2,4] [--keep]`: stage 2 of the pipeline
 * (`tap-minio-csv | target-postgres`) as one pair and as units run 1, 2 and 4 pairs at a time.
 *
 * The Olist-shaped sample at `--scale` (default 10: ten times the real row counts, about 3.4
 * million rows in the four tables) goes through stage 1 once, as units, into a local S3 server
 * (setup, not measured). Then, each into a fresh schema of a local PostgreSQL and with no
 * state, so every run loads every row:
 *  (a) sequential: one pair for all tables, as `npm start` runs stage 2;
 *  (b) the stage's units (one per table unless tap-minio-csv splits them) with 1, 2 and 4 pairs
 *      at a time, as `npm start -- --parallel N` runs them.
 * Wall time is from the first spawn to the last exit of the stage (discovery excluded: it is
 * done once before). Each child reports its peak RSS through a `--require`d probe. The ratio
 * is each run's wall time to (a)'s. The machine's load average is printed with the table:
 * the runs share the cores with the S3 server, PostgreSQL and whatever else runs.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join, resolve } from 'node:path';

import { Client } from 'pg';

import { startPostgres, startS3 } from '../local-services';
import { runPair } from '../pipeline/run-pair';
import { discoverCatalog, runStageUnits } from '../pipeline/run-units';
import { command, DEFAULT_CONFIG_DIR, type PipelineStages, pipelineStages } from '../pipeline/stages';
import { FileStateBackend } from '../pipeline/state';
import { listUnits } from '../pipeline/units';
import { generateSample, sampleCounts, writeKaggleZip } from '../sample-dataset';
import { format, readRss, writeProbe } from './support';

const ROOT = resolve(__dirname, '../../../..');
const WORK = join(ROOT, '.bench/parallel');
const BUCKET = 'bench-parallel';
const TABLES = ['customers', 'order_items', 'orders', 'products'];

interface Options {
  scale: number;
  pairs: number[];
  keep: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = { scale: 10, pairs: [1, 2, 4], keep: false };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    const [name, inline] = arg?.startsWith('--') && arg.includes('=') ? arg.split('=', 2) : [arg, undefined];
    if (name === '--scale') options.scale = Number(inline ?? argv[++i]);
    else if (name === '--pairs') options.pairs = String(inline ?? argv[++i]).split(',').map(Number);
    else if (name === '--keep') options.keep = true;
  }
  if (!(options.scale > 0)) throw new Error('--scale needs a positive number');
  if (options.pairs.some((n) => !Number.isInteger(n) || n < 1)) throw new Error('--pairs needs whole numbers from 1, comma-separated');
  return options;
}

interface Measured {
  label: string;
  pairs: number;
  seconds: number;
  rows: number;
  /** Peak RSS in MB per process, by label (`tap:<unit>`, `target:<unit>`). */
  rss: Record<string, number>;
}

const log = (text: string): void => void process.stderr.write(`${text}\n`);
const quiet = (): void => undefined;

async function rowsIn(url: string, schema: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    let total = 0;
    for (const table of TABLES) {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${table}"`);
      total += Number(rows[0]?.n ?? 0);
    }
    return total;
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  await mkdir(WORK, { recursive: true });
  const work = await mkdtemp(join(WORK, 'run-'));
  const counts = sampleCounts(options.scale);
  const expected = counts.customers + counts.orders + counts.orderItems + counts.products;
  log(`bench:parallel: scale ${options.scale} (${expected.toLocaleString('en')} rows in ${TABLES.length} tables), pairs ${options.pairs.join(', ')}, ${availableParallelism()} cores, work dir ${work}`);

  // The sample is the same bytes at the same scale: kept between runs of the benchmark.
  const sampleDir = join(WORK, `sample-scale-${options.scale}`);
  const zip = `${sampleDir}.zip`;
  if (!existsSync(zip)) {
    log(`generating the sample (scale ${options.scale})…`);
    const sample = await generateSample({ scale: options.scale, outDir: sampleDir, extras: false });
    await writeKaggleZip(sample.files, zip);
    await rm(sampleDir, { recursive: true, force: true });
  }

  // Both servers keep their data in temp folders of their own (PostgreSQL's user must reach its own).
  const [s3, pg] = await Promise.all([startS3(), startPostgres()]);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LOG_LEVEL: 'warning',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_REGION: s3.region,
    PGHOST: pg.host,
    PGPORT: String(pg.port),
    PGUSER: pg.user,
    PGPASSWORD: pg.password,
    PGDATABASE: pg.database,
  };
  delete env.STATE_BACKEND_URI;
  const probe = await writeProbe(work);
  const probed = (rssFile: string, label: string): NodeJS.ProcessEnv => ({
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${probe}`.trim(),
    BENCH_RSS_FILE: rssFile,
    BENCH_LABEL: label,
  });
  const stagesFor = async (name: string): Promise<PipelineStages> => {
    const runDir = join(work, name);
    await mkdir(runDir, { recursive: true });
    return pipelineStages({ configDir: DEFAULT_CONFIG_DIR, runDir, bucket: BUCKET, schema: `bench_${name}`, kaggle: { archive_path: zip } });
  };

  try {
    // Setup: stage 1 as units, 4 at a time, into the bucket.
    const setup = await stagesFor('setup');
    log('stage 1 (setup): tap-kaggle | processor, as units');
    const extractUnits = await listUnits(setup.stages[1], env, quiet);
    const extracted = await runStageUnits(extractUnits, {
      pipeline: setup,
      name: 'bench',
      backend: new FileStateBackend(join(work, 'setup-state')),
      env,
      log: quiet,
      parallel: 4,
    });
    if (!extracted.ok) throw new Error(`stage 1 failed: ${extracted.failure?.error ?? 'stopped'}`);
    log(`  ${extractUnits.length} units done in ${format(extracted.seconds, 1)} s`);
    const catalog = join(work, 'catalog.json');
    const discovered = await discoverCatalog(setup.stages[2], env, catalog, log);
    if (!discovered.ok) throw new Error(`discovery failed: ${discovered.error}`);

    const results: Measured[] = [];

    // (a) one pair for the whole stage.
    {
      const stages = await stagesFor('sequential');
      const rssFile = join(work, 'sequential.rss');
      log('(a) sequential: one tap-minio-csv | target-postgres');
      const began = process.hrtime.bigint();
      const result = await runPair({
        tap: { ...command(stages.stages[2].tap, ['--catalog', catalog]), env: probed(rssFile, 'tap') },
        target: { ...command(stages.stages[2].target), env: probed(rssFile, 'target') },
        env,
        stateSink: { save: async () => undefined },
        log,
      });
      const seconds = Number(process.hrtime.bigint() - began) / 1e9;
      if (!result.ok) throw new Error(`sequential run failed in ${result.failedStage}: ${result.error}`);
      results.push({ label: '(a) sequential, one pair', pairs: 1, seconds, rows: await rowsIn(pg.url, 'bench_sequential'), rss: await readRss(rssFile) });
    }

    // (b) the units, N pairs at a time.
    for (const pairs of options.pairs) {
      const name = `units_${pairs}`;
      const stages = await stagesFor(name);
      const units = await listUnits(stages.stages[2], env, quiet);
      const rssFile = join(work, `${name}.rss`);
      log(`(b) ${units.length} units, ${pairs} pair${pairs === 1 ? '' : 's'} at a time`);
      const began = process.hrtime.bigint();
      const result = await runStageUnits(units, {
        pipeline: stages,
        name: 'bench',
        backend: new FileStateBackend(join(work, `${name}-state`)),
        env,
        log,
        catalog,
        parallel: pairs,
        processEnv: (unit, role) => probed(rssFile, `${role}:${unit.id}`),
      });
      const seconds = Number(process.hrtime.bigint() - began) / 1e9;
      if (!result.ok) throw new Error(`units with ${pairs} pairs failed: ${result.failure?.error ?? 'stopped'}`);
      results.push({ label: `(b) ${units.length} units, ${pairs} at a time`, pairs, seconds, rows: await rowsIn(pg.url, `bench_${name}`), rss: await readRss(rssFile) });
    }

    for (const r of results) if (r.rows !== expected) throw new Error(`${r.label} loaded ${r.rows} rows, expected ${expected}`);
    const base = results[0]!.seconds;
    const peak = (r: Measured, role: string): string => {
      const values = Object.entries(r.rss).filter(([label]) => label === role || label.startsWith(`${role}:`)).map(([, mb]) => mb);
      return values.length === 0 ? '?' : `${format(Math.max(...values), 0)}${values.length > 1 ? ` (max of ${values.length})` : ''}`;
    };
    const [one, five, fifteen] = loadavg();
    const lines = [
      `stage 2 of the Olist pipeline, sample scale ${options.scale}: ${expected.toLocaleString('en')} rows (${TABLES.join(', ')}), upsert into an empty schema, no state`,
      `machine: ${availableParallelism()} cores; load average ${format(one!)} / ${format(five!)} / ${format(fifteen!)} (1/5/15 min) at the end, S3 server and PostgreSQL on the same cores`,
      '',
      '| run | wall s | rows/s | time vs (a) | speed-up | peak RSS MB, tap | peak RSS MB, target |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...results.map(
        (r) => `| ${r.label} | ${format(r.seconds, 1)} | ${Math.round(r.rows / r.seconds).toLocaleString('en')} | ${format(r.seconds / base)}× | ${format(base / r.seconds)}× | ${peak(r, 'tap')} | ${peak(r, 'target')} |`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await Promise.allSettled([s3.stop(), pg.stop()]);
    if (!options.keep) await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:parallel failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
