import './supported-node';

import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from 'pg';

import { type KaggleStandIn, startKaggleStandIn } from './kaggle-stand-in';
import { startFailureLine } from './local-postgres';
import type { PostgresService, S3Service } from './local-services';
import { DEFAULT_DATA_DIR, LOCAL_PG_PASSWORD, REPO_ROOT, startLocalPostgres, startLocalS3 } from './pipeline/environment';
import { type PairResult, runPair, runToFile, type StageCommand } from './pipeline/run-pair';
import { generateSample, writeKaggleZip } from './sample-dataset';

const DATASET = 'olistbr/brazilian-ecommerce';
const STAND_IN_USER = 'local';
const STAND_IN_KEY = 'local-stand-in-key';

const bin = (pkg: string, name: string): string => join(REPO_ROOT, 'packages', pkg, 'bin', `${name}.js`);
const configFile = (name: string): string => join(REPO_ROOT, 'singer-config', name);

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
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      'data-dir': { type: 'string' },
      scale: { type: 'string' },
      'sample-version': { type: 'string' },
      quiet: { type: 'boolean', default: false },
      schema: { type: 'string' },
      bucket: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    say(`npm start [-- --scale N] [--sample-version N] [--data-dir DIR] [--quiet]

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
`);
    process.exit(0);
  }
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  const sampleVersion = values['sample-version'] === undefined ? 1 : Number(values['sample-version']);
  if (!(scale > 0)) throw new StageError('options', `--scale must be a positive number, not ${values.scale}`);
  if (!Number.isInteger(sampleVersion) || sampleVersion < 1) throw new StageError('options', '--sample-version must be a whole number from 1');
  return {
    dataDir: values['data-dir'] ?? process.env.PIPELINE_DATA_DIR ?? DEFAULT_DATA_DIR,
    scale,
    sampleVersion,
    quiet: values.quiet ?? false,
    schema: values.schema,
    bucket: values.bucket,
  };
}

/** The sample for a version: version 1 is seed 1; later versions change some rows of it. */
async function sampleZip(options: Options): Promise<string> {
  const dir = join(options.dataDir, 'sample', `scale-${options.scale}-v${options.sampleVersion}`);
  const zip = `${dir}.zip`;
  if (!existsSync(zip)) {
    say(`generating the Olist-shaped sample (scale ${options.scale}, version ${options.sampleVersion})…`);
    const result = await generateSample({ scale: options.scale, seed: 1, outDir: dir, version: options.sampleVersion });
    await writeKaggleZip(result.files, zip);
  }
  return zip;
}

async function startServices(options: Options): Promise<Services> {
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
  try {
    if (!env.PGHOST) {
      say('starting a local PostgreSQL server…');
      const postgres = await startLocalPostgres(options.dataDir, say).catch((error: unknown) => {
        throw new StageError('local PostgreSQL', `${startFailureLine(error)}; or set PGHOST (PGPORT, PGUSER, PGPASSWORD, PGDATABASE) to use a server of your own`);
      });
      started.push(postgres);
      services.postgres = postgres;
      Object.assign(env, { PGHOST: postgres.host, PGPORT: String(postgres.port), PGUSER: postgres.user, PGPASSWORD: postgres.password, PGDATABASE: postgres.database });
      services.postgresUrlForUsers = `postgres://${postgres.user}:${LOCAL_PG_PASSWORD}@${postgres.host}:${postgres.port}/${postgres.database}`;
    } else {
      services.postgresUrlForUsers = `postgres://${env.PGUSER ?? 'postgres'}@${env.PGHOST ?? 'localhost'}:${env.PGPORT ?? '5432'}/${env.PGDATABASE ?? env.PGUSER ?? 'postgres'}`;
    }
    if (!env.AWS_ENDPOINT_URL_S3 && !env.AWS_ENDPOINT_URL) {
      say('starting a local S3 server…');
      const s3 = await startLocalS3(options.dataDir).catch((error: unknown) => {
        throw new StageError('local S3', `${startFailureLine(error)}; or set AWS_ENDPOINT_URL_S3 (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) to use a server of your own`);
      });
      started.push(s3);
      services.s3 = s3;
      Object.assign(env, { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey, AWS_REGION: s3.region });
    }
    if (!env.KAGGLE_USERNAME && !env.KAGGLE_API_TOKEN) {
      const zip = await sampleZip(options);
      const kaggle = await startKaggleStandIn({
        datasets: { [DATASET]: { versions: { [options.sampleVersion]: zip }, currentVersion: options.sampleVersion } },
        username: STAND_IN_USER,
        key: STAND_IN_KEY,
      });
      started.push(kaggle);
      services.kaggle = kaggle;
    }
  } catch (error) {
    await services.stop();
    throw error;
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
  const client = new S3Client({
    endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 2,
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
        ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY }
        : undefined,
  });
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

function formatPair(title: string, result: PairResult): string {
  const total = Object.values(result.records).reduce((a, b) => a + b, 0);
  const rate = result.seconds > 0 ? Math.round(total / result.seconds) : total;
  return `  ${title}: ${total} records in ${result.seconds.toFixed(1)} s (${rate}/s)`;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const log = options.quiet ? () => undefined : say;
  const started = Date.now();
  const stateDir = join(options.dataDir, 'state');
  const runDir = join(options.dataDir, 'run');
  await mkdir(runDir, { recursive: true });

  const processorConfig = JSON.parse(await readFile(configFile('processor.json'), 'utf8')) as { bucket?: string; key_template?: string };
  const tapMinioConfig = JSON.parse(await readFile(configFile('tap-minio-csv.json'), 'utf8')) as { bucket?: string; tables?: { table_name: string }[] };
  const targetConfig = JSON.parse(await readFile(configFile('target-postgres.json'), 'utf8')) as { default_target_schema?: string };
  const bucket = options.bucket ?? tapMinioConfig.bucket ?? processorConfig.bucket ?? 'olist';
  const tables = (tapMinioConfig.tables ?? []).map((t) => t.table_name);
  // Overrides go in small config files passed after singer-config's (later files win).
  const bucketOverlay = join(runDir, 'bucket.local.json');
  await writeFile(bucketOverlay, `${JSON.stringify({ bucket })}\n`);
  const targetOverlay = join(runDir, 'target-postgres.local.json');
  await writeFile(targetOverlay, `${JSON.stringify(options.schema ? { default_target_schema: options.schema } : {})}\n`);

  const services = await startServices(options);
  // Stopped by a signal: the servers this run started stop too (a PostgreSQL server would
  // otherwise outlive it), and the exit status says which signal.
  for (const [signal, status] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    process.once(signal, () => {
      say(`interrupted by ${signal}: stopping the local servers`);
      void services.stop().finally(() => process.exit(status));
    });
  }
  try {
    const { env } = services;
    await Promise.all([checkPostgres(env), checkS3(env, bucket)]);

    // Stage 1: Kaggle → cleaned CSV objects.
    const kaggleOverlay = join(runDir, 'tap-kaggle.local.json');
    const overlay: Record<string, unknown> = services.kaggle
      ? { api_base_url: services.kaggle.baseUrl.rpc, username: STAND_IN_USER, key: STAND_IN_KEY, cache_dir: join(options.dataDir, 'kaggle-cache') }
      : { cache_dir: join(options.dataDir, 'kaggle-cache') };
    await writeFile(kaggleOverlay, `${JSON.stringify(overlay, null, 2)}\n`);
    const kaggleState = join(stateDir, 'tap-kaggle.json');
    const extract: StageCommand = {
      name: 'tap-kaggle',
      bin: bin('tap-kaggle', 'tap-kaggle'),
      args: ['-c', configFile('tap-kaggle.json'), '-c', kaggleOverlay, ...(existsSync(kaggleState) ? ['--state', kaggleState] : [])],
    };
    const clean: StageCommand = { name: 'processor', bin: bin('processor', 'processor'), args: ['-c', configFile('processor.json'), '-c', bucketOverlay] };
    say('stage 1/2: tap-kaggle | processor');
    const first = await runPair({ tap: extract, target: clean, env, stateFile: kaggleState, log });
    if (!first.ok) throw new StageError(`tap-kaggle | processor (${first.failedStage})`, first.error ?? 'failed');

    // Stage 2: objects → PostgreSQL, discovering the tables' types from the objects.
    const catalog = join(runDir, 'tap-minio-csv.catalog.json');
    const minioState = join(stateDir, 'tap-minio-csv.json');
    const discover = await runToFile({ name: 'tap-minio-csv', bin: bin('tap-minio-csv', 'tap-minio-csv'), args: ['-c', configFile('tap-minio-csv.json'), '-c', bucketOverlay, '--discover'] }, env, catalog, log);
    if (!discover.ok) throw new StageError('tap-minio-csv --discover', discover.error ?? 'failed');
    const read: StageCommand = {
      name: 'tap-minio-csv',
      bin: bin('tap-minio-csv', 'tap-minio-csv'),
      args: ['-c', configFile('tap-minio-csv.json'), '-c', bucketOverlay, '--catalog', catalog, ...(existsSync(minioState) ? ['--state', minioState] : [])],
    };
    const load: StageCommand = {
      name: 'target-postgres',
      bin: bin('target-postgres', 'target-postgres'),
      args: ['-c', configFile('target-postgres.json'), '-c', targetOverlay],
    };
    say('stage 2/2: tap-minio-csv | target-postgres');
    const second = await runPair({ tap: read, target: load, env, stateFile: minioState, log });
    if (!second.ok) throw new StageError(`tap-minio-csv | target-postgres (${second.failedStage})`, second.error ?? 'failed');

    // Summary.
    const schema = options.schema ?? targetConfig.default_target_schema ?? 'public';
    const counts = await tableCounts(env, schema, tables);
    const loaded = Object.values(second.records).reduce((a, b) => a + b, 0);
    const lines = [
      '',
      `pipeline finished in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      formatPair('stage 1, tap-kaggle | processor', first),
      formatPair('stage 2, tap-minio-csv | target-postgres', second),
      loaded === 0 && Object.values(first.records).every((n) => n === 0)
        ? '  nothing changed since the last run: nothing was downloaded, rewritten or loaded'
        : '',
      `  objects: s3://${bucket}/ at ${env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL}`,
      `  tables in schema "${schema}" (rows now · loaded this run):`,
      ...tables.map((t) => `    ${t.padEnd(12)} ${String(counts[t] ?? 'missing').padStart(9)} · ${second.records[t] ?? 0}`),
      `  query them: psql "${services.postgresUrlForUsers}"`,
      services.postgres ? '  the local PostgreSQL stops with this command; start it again with: npm run db' : '',
      `  state for the next run: ${stateDir}/`,
    ].filter((line) => line !== '');
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await services.stop();
  }
}

main().catch((error: unknown) => {
  if (error instanceof StageError) say(`ERROR stage ${error.stage}: ${error.message}`);
  else say(`ERROR ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
});
