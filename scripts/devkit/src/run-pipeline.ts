import './supported-node';

import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { Client } from 'pg';

import { type KaggleStandIn, startKaggleStandIn } from './kaggle-stand-in';
import { startFailureLine } from './local-postgres';
import type { PostgresService, S3Service } from './local-services';
import { DEFAULT_DATA_DIR, exitWith, LOCAL_PG_PASSWORD, startLocalPostgres, startLocalS3 } from './pipeline/environment';
import { loadInputsFingerprint, s3ClientFromEnv, savedFingerprint, saveFingerprint } from './pipeline/load-inputs';
import { PhaseClock } from './pipeline/phase-clock';
import { runPair, runToFile } from './pipeline/run-pair';
import { describeRecords, discoverCatalog, runStageUnits, type StageResult, unitLine } from './pipeline/run-units';
import { cachedSampleZip, servedDatasetVersion } from './pipeline/sample-cache';
import { command, DEFAULT_CONFIG_DIR, pipelineName, type PipelineStages, pipelineStages, type StageNumber } from './pipeline/stages';
import { openStateBackend, type StateBackend } from './pipeline/state';
import { listUnits } from './pipeline/units';

const DATASET = 'olistbr/brazilian-ecommerce';
const STAND_IN_USER = 'local';
const STAND_IN_KEY = 'local-stand-in-key';
/** The sample zip's deflate level: 0 stores the entries (see the README's timings). */
const SAMPLE_ZIP_LEVEL = 0;

/** A stopping error: one line naming the stage and what to fix. */
class StageError extends Error {
  constructor(
    readonly stage: string,
    message: string,
  ) {
    super(message);
  }
}

function say(line: string): void {
  process.stderr.write(`${line}\n`);
}

interface Services {
  env: NodeJS.ProcessEnv;
  postgres?: PostgresService;
  s3?: S3Service;
  kaggle?: KaggleStandIn;
  /** Shown in the summary. */
  postgresUrlForUsers: string;
  s3Location: string;
  stop(): Promise<void>;
}

interface Options {
  dataDir: string;
  scale: number;
  sampleVersion: number;
  quiet: boolean;
  /** Overrides singer-config's target schema. */
  schema?: string;
  /** Overrides singer-config's bucket (processor and tap-minio-csv alike). */
  bucket?: string;
  /** Run the units of each stage, this many pairs at a time; undefined: one pair per stage, as always. */
  parallel?: number;
  /** Where the units' states are kept (a Meltano state backend URI). */
  stateBackend?: string;
  /** Print the time of each phase at the end. */
  timings: boolean;
}

/** `--parallel` alone takes the machine's cores: give parseArgs that value. */
function withParallelValue(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    out.push(arg);
    if (arg === '--parallel' && (argv[i + 1] === undefined || argv[i + 1]!.startsWith('-'))) out.push(String(availableParallelism()));
  }
  return out;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: withParallelValue(argv),
    options: {
      'data-dir': { type: 'string' },
      scale: { type: 'string' },
      'sample-version': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      schema: { type: 'string' },
      bucket: { type: 'string' },
      parallel: { type: 'string' },
      'state-backend': { type: 'string' },
      timings: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    say(`npm start [-- --scale N] [--sample-version N] [--data-dir DIR] [--quiet] [--parallel [N]] [--state-backend URI]

Runs the Olist pipeline: tap-kaggle | processor (Kaggle → cleaned CSV objects in S3),
then tap-minio-csv | target-postgres (S3 → PostgreSQL), with the configs in singer-config/.

With nothing configured it starts its own PostgreSQL and S3 servers on loopback ports (data in
.data/) and serves a generated Olist-shaped sample through a local stand-in of Kaggle's API.
Set KAGGLE_USERNAME+KAGGLE_KEY (or KAGGLE_API_TOKEN) for the real Kaggle, AWS_ENDPOINT_URL_S3 +
AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY for your S3/MinIO, PGHOST (PGPORT, PGUSER, PGPASSWORD,
PGDATABASE) for your PostgreSQL.

  --scale N           sample size: 1 = the real row counts (default 1)
  --sample-version N  serve the sample as dataset version N (a new version has changed rows)
  --data-dir DIR      where local servers keep data and state (default .data/)
  --schema NAME       load into this PostgreSQL schema instead of singer-config's
  --bucket NAME       use this bucket instead of singer-config's
  --quiet             only the summary and errors
  --timings           at the end, print when each phase (server start, sample, stages) began and ended
  --parallel [N]      run each stage as units (one pair per file, table or split of the tap's),
                      up to N pairs at once (default: the machine's ${availableParallelism()} cores); each unit
                      keeps its own state in the state backend
  --state-backend URI with --parallel: where the units' states are kept, as Meltano's
                      state_backend.uri: file:///dir (default: <data dir>/state), s3://bucket/prefix,
                      postgresql://user:password@host:port/database/schema (else STATE_BACKEND_URI)
`);
    process.exit(0);
  }
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  const sampleVersion = values['sample-version'] === undefined ? 1 : Number(values['sample-version']);
  if (!(scale > 0)) throw new StageError('options', `--scale must be a positive number, not ${values.scale}`);
  if (!Number.isInteger(sampleVersion) || sampleVersion < 1) throw new StageError('options', '--sample-version must be a whole number from 1');
  const parallel = values.parallel === undefined ? undefined : Number(values.parallel);
  if (parallel !== undefined && !(Number.isInteger(parallel) && parallel >= 1)) throw new StageError('options', `--parallel takes a whole number of pairs from 1, not ${values.parallel}`);
  if (values['state-backend'] !== undefined && parallel === undefined) {
    throw new StageError('options', '--state-backend keeps one state per unit: use it with --parallel N (--parallel 1 runs the units one at a time)');
  }
  return {
    dataDir: values['data-dir'] ?? process.env.PIPELINE_DATA_DIR ?? DEFAULT_DATA_DIR,
    scale,
    sampleVersion,
    quiet: values.quiet ?? false,
    schema: values.schema,
    bucket: values.bucket,
    parallel,
    stateBackend: values['state-backend'],
    timings: values.timings ?? false,
  };
}

/**
 * Starts what is not configured: PostgreSQL, the S3 server and the sample with its Kaggle
 * stand-in, side by side (PostgreSQL's start-up runs in its own processes while the sample is
 * made here). If one fails, the others are stopped once they are up.
 */
async function startServices(options: Options, clock: PhaseClock): Promise<Services> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  const started: { stop(): Promise<void> }[] = [];
  const services: Services = {
    env,
    postgresUrlForUsers: '',
    s3Location: '',
    async stop() {
      await Promise.allSettled(started.map((service) => service.stop()));
    },
  };
  const starting: Promise<void>[] = [];
  if (!env.PGHOST) {
    say('starting a local PostgreSQL server…');
    starting.push(
      clock.time('PostgreSQL start', startLocalPostgres(options.dataDir, say)).then(
        (postgres) => {
          started.push(postgres);
          services.postgres = postgres;
          Object.assign(env, { PGHOST: postgres.host, PGPORT: String(postgres.port), PGUSER: postgres.user, PGPASSWORD: postgres.password, PGDATABASE: postgres.database });
          services.postgresUrlForUsers = `postgres://${postgres.user}:${LOCAL_PG_PASSWORD}@${postgres.host}:${postgres.port}/${postgres.database}`;
        },
        (error: unknown) => {
          throw new StageError('local PostgreSQL', `${startFailureLine(error)}; or set PGHOST (PGPORT, PGUSER, PGPASSWORD, PGDATABASE) to use a server of your own`);
        },
      ),
    );
  } else {
    services.postgresUrlForUsers = `postgres://${env.PGUSER ?? 'postgres'}@${env.PGHOST ?? 'localhost'}:${env.PGPORT ?? '5432'}/${env.PGDATABASE ?? env.PGUSER ?? 'postgres'}`;
  }
  if (!env.AWS_ENDPOINT_URL_S3 && !env.AWS_ENDPOINT_URL) {
    say('starting a local S3 server…');
    starting.push(
      clock.time('S3 server start', startLocalS3(options.dataDir)).then(
        (s3) => {
          started.push(s3);
          services.s3 = s3;
          Object.assign(env, { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: s3.region });
        },
        (error: unknown) => {
          throw new StageError('local S3', `${startFailureLine(error)}; or set AWS_ENDPOINT_URL_S3 (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) to use a server of your own`);
        },
      ),
    );
  }
  if (!env.KAGGLE_USERNAME && !env.KAGGLE_API_TOKEN) {
    starting.push(
      (async () => {
        const sample = await clock.time(
          'sample',
          cachedSampleZip({
            dataDir: options.dataDir,
            scale: options.scale,
            version: options.sampleVersion,
            level: SAMPLE_ZIP_LEVEL,
            onGenerate: () => say(`generating the Olist-shaped sample (scale ${options.scale}, version ${options.sampleVersion})…`),
          }),
        );
        if (!sample.generated) clock.note('sample', 'reused');
        const served = await servedDatasetVersion({ dataDir: options.dataDir, scale: options.scale, version: options.sampleVersion });
        if (served.displaced !== undefined) {
          const { scale, sample_version: version } = served.displaced;
          say(
            `serving the sample (scale ${options.scale}, version ${options.sampleVersion}) as dataset version ${served.version}: ` +
              `this data folder served other files (scale ${scale}, version ${version}) as version ${options.sampleVersion}, and a Kaggle version never changes`,
          );
        }
        const kaggle = await startKaggleStandIn({
          datasets: { [DATASET]: { versions: { [served.version]: sample.path }, currentVersion: served.version } },
          username: STAND_IN_USER,
          key: STAND_IN_KEY,
        });
        started.push(kaggle);
        services.kaggle = kaggle;
      })(),
    );
  }
  const outcomes = await Promise.allSettled(starting);
  const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) {
    await services.stop();
    throw failed.reason;
  }
  return services;
}

/** node-postgres settings from the children's environment (not this process's). */
function pgSettings(env: NodeJS.ProcessEnv) {
  return {
    host: env.PGHOST,
    port: env.PGPORT ? Number(env.PGPORT) : undefined,
    user: env.PGUSER,
    password: env.PGPASSWORD,
    database: env.PGDATABASE,
    connectionTimeoutMillis: 10_000,
  };
}

async function checkPostgres(env: NodeJS.ProcessEnv): Promise<void> {
  const client = new Client(pgSettings(env));
  try {
    await client.connect();
    await client.query('SELECT 1');
  } catch (error) {
    throw new StageError('postgres', `cannot connect to PostgreSQL at ${env.PGHOST}:${env.PGPORT ?? 5432}: ${(error as Error).message}. Check PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkS3(env: NodeJS.ProcessEnv, bucket: string): Promise<void> {
  const client = s3ClientFromEnv(env);
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status === 404) return; // the processor creates it
    const reason = status === 403 ? 'access denied (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy)' : (error as Error).message || (error as Error).name;
    throw new StageError('s3', `cannot use bucket ${JSON.stringify(bucket)} at ${env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL}: ${reason}`);
  } finally {
    client.destroy();
  }
}

async function tableCounts(env: NodeJS.ProcessEnv, schema: string, tables: string[]): Promise<Record<string, number | undefined>> {
  const client = new Client(pgSettings(env));
  const counts: Record<string, number | undefined> = {};
  try {
    await client.connect();
    for (const table of tables) {
      const exists = await client.query('SELECT to_regclass($1) AS t', [`"${schema}"."${table}"`]);
      if (!exists.rows[0]?.t) continue;
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}"."${table}"`);
      counts[table] = Number(rows[0]?.n ?? 0);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
  return counts;
}

/** What a stage did, one pair or many units. */
interface StageOutcome {
  records: Record<string, number>;
  seconds: number;
}

function formatPair(title: string, result: StageOutcome): string {
  return `  ${title}: ${describeRecords(result.records, result.seconds)}`;
}

/** Both stages as today: one `tap | target` pair each, states in `<data dir>/state/`. */
async function runSequential(pipeline: PipelineStages, env: NodeJS.ProcessEnv, stateDir: string, log: (line: string) => void, signal: AbortSignal, clock: PhaseClock): Promise<[StageOutcome, StageOutcome]> {
  const { 1: extractStage, 2: loadStage } = pipeline.stages;
  // Stage 1: Kaggle → cleaned CSV objects.
  const kaggleState = join(stateDir, 'tap-kaggle.json');
  const stateBefore = await readFile(kaggleState, 'utf8').catch(() => undefined);
  const extract = command(extractStage.tap, stateBefore !== undefined ? ['--state', kaggleState] : []);
  say('stage 1/2: tap-kaggle | processor');
  const first = await clock.time('stage 1', runPair({ tap: extract, target: command(extractStage.target), env, stateFile: kaggleState, log, signal }));
  if (!first.ok) throw new StageError(`tap-kaggle | processor (${first.failedStage})`, first.error ?? 'failed');

  // Stage 2: objects → PostgreSQL, discovering the tables' types from the objects. Left out
  // when it has nothing to do: stage 1 wrote nothing (no record went through the processor,
  // which writes no object for a stream without one, and its state is the one it started
  // from), and the bucket's objects, stage 2's configs and state and the target's address are
  // what they were after stage 2 last succeeded.
  const minioState = join(stateDir, 'tap-minio-csv.json');
  const inputsFile = join(stateDir, 'tap-minio-csv.inputs');
  const wroteNothing = stateBefore !== undefined && Object.values(first.records).every((n) => n === 0) && (await readFile(kaggleState, 'utf8').catch(() => undefined)) === stateBefore;
  if (wroteNothing) {
    const [now, saved] = await clock.time('stage 2 inputs check', Promise.all([loadInputsFingerprint(pipeline, env, minioState), savedFingerprint(inputsFile)]));
    if (now !== undefined && now === saved) {
      say('stage 2/2: tap-minio-csv | target-postgres: left out, no object, config or state changed since it last ran');
      return [first, { records: {}, seconds: 0 }];
    }
  }
  const catalog = join(pipeline.runDir, 'tap-minio-csv.catalog.json');
  const discover = await clock.time('stage 2 discovery', runToFile(command(loadStage.tap, ['--discover']), env, catalog, log));
  if (!discover.ok) throw new StageError('tap-minio-csv --discover', discover.error ?? 'failed');
  const read = command(loadStage.tap, ['--catalog', catalog, ...(existsSync(minioState) ? ['--state', minioState] : [])]);
  say('stage 2/2: tap-minio-csv | target-postgres');
  const second = await clock.time('stage 2', runPair({ tap: read, target: command(loadStage.target), env, stateFile: minioState, log, signal }));
  if (!second.ok) throw new StageError(`tap-minio-csv | target-postgres (${second.failedStage})`, second.error ?? 'failed');
  const after = await loadInputsFingerprint(pipeline, env, minioState);
  if (after !== undefined) await saveFingerprint(inputsFile, after);
  return [first, second];
}

interface UnitsRun {
  parallel: number;
  backend: StateBackend;
  name: string;
  units: Record<StageNumber, number>;
}

/**
 * Both stages as units (`--parallel N`): each stage's units as up to N concurrent pairs, each
 * with its own state in the backend; stage 2 starts once every unit of stage 1 succeeded.
 */
async function runParallel(pipeline: PipelineStages, env: NodeJS.ProcessEnv, run: UnitsRun, log: (line: string) => void, signal: AbortSignal): Promise<[StageOutcome, StageOutcome]> {
  const outcomes: StageResult[] = [];
    for (const stage of [pipeline.stages[1], pipeline.stages[2]]) {
      let catalog: string | undefined;
      if (stage.stage === 2) {
        catalog = join(pipeline.runDir, 'tap-minio-csv.catalog.json');
        const discover = await discoverCatalog(stage, env, catalog, log);
        if (!discover.ok) throw new StageError('tap-minio-csv --discover', discover.error ?? 'failed');
      }
      let units;
      try {
        units = await listUnits(stage, env, log);
      } catch (error) {
        throw new StageError(`${stage.title}, listing units`, (error as Error).message);
      }
      run.units[stage.stage] = units.length;
      const at = Math.min(run.parallel, Math.max(units.length, 1));
      if (stage.stage === 1 && at > 1 && units.some((u) => u.mode === 'selection')) {
        // Each unit's tap-kaggle would download a new dataset version into the shared cache
        // itself, all at once: one discovery fetches it first (a current cache costs a
        // version check).
        const fetched = await runToFile(command(stage.tap, ['--discover']), env, join(pipeline.runDir, 'tap-kaggle.catalog.json'), log);
        if (!fetched.ok) throw new StageError('tap-kaggle --discover', fetched.error ?? 'failed');
      }
      say(`stage ${stage.stage}/2: ${stage.title}, ${units.length} unit${units.length === 1 ? '' : 's'}, ${at} at a time`);
      const result = await runStageUnits(units, {
        pipeline,
        name: run.name,
        backend: run.backend,
        env,
        log,
        catalog,
        signal,
        parallel: run.parallel,
        onUnitDone: (unit, done, total) => log(`  ${unitLine(unit, done, total)}`),
      });
      if (!result.ok) {
        const failure = result.failure;
        if (!failure) throw new StageError(stage.title, 'stopped before every unit ran');
        throw new StageError(`${stage.title}, unit ${failure.unit.id} (${failure.failedStage})`, failure.error ?? 'failed');
      }
      outcomes.push(result);
  }
  return [outcomes[0]!, outcomes[1]!];
}

async function main(): Promise<void> {
  const clock = new PhaseClock();
  const options = parseOptions(process.argv.slice(2));
  const log = options.quiet ? () => undefined : say;
  const started = Date.now();
  const stateDir = join(options.dataDir, 'state');
  const runDir = join(options.dataDir, 'run');
  await mkdir(runDir, { recursive: true });

  // SIGINT/SIGTERM, from here on: the running pairs stop as a failed tap does (nothing
  // uncommitted is kept), the servers this run started stop too (a PostgreSQL server would
  // otherwise outlive it), and the exit status says which signal.
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    say(`${signal}: stopping the running pairs and the local servers; what the pairs committed is kept`);
    interruptedBy ??= signal;
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const services = await startServices(options, clock);
  let backend: StateBackend | undefined;
  try {
    const { env } = services;
    const kaggle: Record<string, unknown> = services.kaggle
      ? { api_base_url: services.kaggle.baseUrl.rpc, username: STAND_IN_USER, key: STAND_IN_KEY, cache_dir: join(options.dataDir, 'kaggle-cache') }
      : { cache_dir: join(options.dataDir, 'kaggle-cache') };
    // Overrides go in small config files passed after singer-config's (later files win).
    const pipeline = await pipelineStages({ configDir: DEFAULT_CONFIG_DIR, runDir, bucket: options.bucket, schema: options.schema, kaggle });
    const { bucket, tables } = pipeline;
    await clock.time('connection checks', Promise.all([checkPostgres(env), checkS3(env, bucket)]));

    let units: UnitsRun | undefined;
    if (options.parallel !== undefined) {
      const uri = options.stateBackend ?? process.env.STATE_BACKEND_URI ?? `file://${stateDir}`;
      try {
        backend = await openStateBackend(uri, env);
      } catch (error) {
        throw new StageError('state backend', (error as Error).message);
      }
      units = { parallel: options.parallel, backend, name: pipelineName(process.env), units: { 1: 0, 2: 0 } };
    }
    const [first, second] = await (units ? runParallel(pipeline, env, units, log, controller.signal) : runSequential(pipeline, env, stateDir, log, controller.signal, clock));

    // Summary.
    const schema = pipeline.schema;
    const counts = await clock.time('summary', tableCounts(env, schema, tables));
    const loaded = Object.values(second.records).reduce((a, b) => a + b, 0);
    const lines = [
      '',
      `pipeline finished in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      formatPair('stage 1, tap-kaggle | processor', first),
      formatPair('stage 2, tap-minio-csv | target-postgres', second),
      units ? `  units: ${units.units[1]} in stage 1, ${units.units[2]} in stage 2, up to ${units.parallel} pairs at a time` : '',
      loaded === 0 && Object.values(first.records).every((n) => n === 0)
        ? '  nothing changed since the last run: nothing was downloaded, rewritten or loaded'
        : '',
      `  objects: s3://${bucket}/ at ${env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL}`,
      `  tables in schema "${schema}" (rows now · loaded this run):`,
      ...tables.map((t) => `    ${t.padEnd(12)} ${String(counts[t] ?? 'missing').padStart(9)} · ${second.records[t] ?? 0}`),
      `  query them: psql "${services.postgresUrlForUsers}"`,
      services.postgres ? '  the local PostgreSQL stops with this command; start it again with: npm run db' : '',
      units ? `  state for the next run, one per unit: ${units.backend.location}` : `  state for the next run: ${stateDir}/`,
    ].filter((line) => line !== '');
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    await backend?.close().catch(() => undefined);
    await clock.time('servers stop', services.stop());
  }
  if (options.timings) say(clock.lines().join('\n'));
}

/** The signal that stopped the run, if one did: the exit status says which (130, 143). */
let interruptedBy: NodeJS.Signals | undefined;
const signalStatus = (signal: NodeJS.Signals): number => (signal === 'SIGINT' ? 130 : 143);

main().then(
  () => {
    if (interruptedBy) exitWith(signalStatus(interruptedBy));
  },
  (error: unknown) => {
    if (interruptedBy) {
      say(`interrupted by ${interruptedBy}`);
      exitWith(signalStatus(interruptedBy));
      return;
    }
    if (error instanceof StageError) say(`ERROR stage ${error.stage}: ${error.message}`);
    else say(`ERROR ${(error as Error).stack ?? String(error)}`);
    exitWith(1);
  },
);
