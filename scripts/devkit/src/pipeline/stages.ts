import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { REPO_ROOT } from './environment';
import type { StageCommand } from './run-pair';

/** The pipeline's two stages, numbered as in state ids (`<pipeline>:stage<k>:<unit>`). */
export type StageNumber = 1 | 2;

/** One executable of a stage and the config files it is given (`-c`, later ones win). */
export interface StageProgram {
  name: string;
  bin: string;
  configs: string[];
}

/** A stage: `tap-kaggle | processor` (Kaggle → cleaned CSV objects) or `tap-minio-csv | target-postgres`. */
export interface Stage {
  stage: StageNumber;
  /** `tap-kaggle | processor` */
  title: string;
  tap: StageProgram;
  target: StageProgram;
}

/** The two stages as configured, with the small config files that override singer-config's. */
export interface PipelineStages {
  configDir: string;
  /** Where per-run files go: overlays, catalogs, the units' configs and states. */
  runDir: string;
  bucket: string;
  /** The PostgreSQL schema the tables are loaded into. */
  schema: string;
  /** Table names of tap-minio-csv's config, in order (the summary's rows). */
  tables: string[];
  stages: Record<StageNumber, Stage>;
}

export interface PipelineSettings {
  /** singer-config: tap-kaggle.json, processor.json, tap-minio-csv.json, target-postgres.json. */
  configDir: string;
  runDir: string;
  /** Overrides the configs' bucket (processor and tap-minio-csv alike). */
  bucket?: string;
  /** Overrides target-postgres's `default_target_schema`. */
  schema?: string;
  /** Keys over tap-kaggle.json: the local Kaggle stand-in, `cache_dir`. */
  kaggle?: Record<string, unknown>;
}

/** The pipeline's name in state ids (`olist:stage2:orders`) unless `PIPELINE_NAME` gives another. */
export const DEFAULT_PIPELINE_NAME = 'olist';

export function pipelineName(env: NodeJS.ProcessEnv, given?: string): string {
  return given || env.PIPELINE_NAME || DEFAULT_PIPELINE_NAME;
}

/** The repository's singer-config folder. */
export const DEFAULT_CONFIG_DIR = join(REPO_ROOT, 'singer-config');

/** The launcher of a package's executable. */
export const bin = (pkg: string, name: string = pkg): string => join(REPO_ROOT, 'packages', pkg, 'bin', `${name}.js`);

export async function readJsonObject(path: string): Promise<Record<string, unknown>> {
  const value: unknown = JSON.parse(await readFile(path, 'utf8'));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path} does not hold a JSON object`);
  return value as Record<string, unknown>;
}

/** A connector's config as it reads its `-c` files: merged left to right, later keys winning. */
export async function mergedConfig(program: StageProgram): Promise<Record<string, unknown>> {
  let merged: Record<string, unknown> = {};
  for (const path of program.configs) merged = { ...merged, ...(await readJsonObject(path)) };
  return merged;
}

export async function writeJson(path: string, value: unknown): Promise<string> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/**
 * The pipeline's stages from a config folder, writing the overrides (bucket, schema, Kaggle
 * settings) as small config files in `runDir` that follow singer-config's on the command line.
 */
export async function pipelineStages(settings: PipelineSettings): Promise<PipelineStages> {
  const { configDir, runDir } = settings;
  const file = (name: string): string => join(configDir, name);
  const processorConfig = await readJsonObject(file('processor.json'));
  const tapMinioConfig = await readJsonObject(file('tap-minio-csv.json'));
  const targetConfig = await readJsonObject(file('target-postgres.json'));
  const bucket = settings.bucket ?? (tapMinioConfig.bucket as string | undefined) ?? (processorConfig.bucket as string | undefined) ?? 'olist';
  const schema = settings.schema ?? (targetConfig.default_target_schema as string | undefined) ?? 'public';
  const bucketOverlay = await writeJson(join(runDir, 'bucket.local.json'), { bucket });
  const targetOverlay = await writeJson(join(runDir, 'target-postgres.local.json'), settings.schema ? { default_target_schema: settings.schema } : {});
  const kaggleOverlay = await writeJson(join(runDir, 'tap-kaggle.local.json'), settings.kaggle ?? {});
  return {
    configDir,
    runDir,
    bucket,
    schema,
    tables: tableSpecs(tapMinioConfig).map((t) => String(t.table_name)),
    stages: {
      1: {
        stage: 1,
        title: 'tap-kaggle | processor',
        tap: { name: 'tap-kaggle', bin: bin('tap-kaggle'), configs: [file('tap-kaggle.json'), kaggleOverlay] },
        target: { name: 'processor', bin: bin('processor'), configs: [file('processor.json'), bucketOverlay] },
      },
      2: {
        stage: 2,
        title: 'tap-minio-csv | target-postgres',
        tap: { name: 'tap-minio-csv', bin: bin('tap-minio-csv'), configs: [file('tap-minio-csv.json'), bucketOverlay] },
        target: { name: 'target-postgres', bin: bin('target-postgres'), configs: [file('target-postgres.json'), targetOverlay] },
      },
    },
  };
}

/** tap-minio-csv's `tables`: a list, or a JSON string holding the list (as the tap reads it). */
export function tableSpecs(config: Record<string, unknown>): Record<string, unknown>[] {
  let tables = config.tables;
  if (typeof tables === 'string') {
    try {
      tables = JSON.parse(tables);
    } catch {
      return [];
    }
  }
  return Array.isArray(tables) ? tables.filter((t): t is Record<string, unknown> => typeof t === 'object' && t !== null && typeof (t as { table_name?: unknown }).table_name === 'string') : [];
}

/** `-c` arguments for a program's config files, then `extra` ones. */
export function configArgs(program: StageProgram, extra: string[] = []): string[] {
  return [...program.configs, ...extra].flatMap((path) => ['-c', path]);
}

/** A stage program as a command: its configs, then `args`. */
export function command(program: StageProgram, args: string[] = [], extraConfigs: string[] = []): StageCommand {
  return { name: program.name, bin: program.bin, args: [...configArgs(program, extraConfigs), ...args] };
}
