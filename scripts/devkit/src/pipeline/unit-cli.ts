import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';

import { DEFAULT_DATA_DIR } from './environment';
import { DEFAULT_CONFIG_DIR, pipelineName, type PipelineStages, pipelineStages, type StageNumber } from './stages';

/** A usage or setup problem: one line, exit status 2. */
export class UsageError extends Error {}

/** What plan-units and run-unit share: where the configs are and what overrides them. */
export interface UnitCliOptions {
  stage: StageNumber;
  configDir: string;
  dataDir: string;
  bucket?: string;
  schema?: string;
  pipelineName: string;
  quiet: boolean;
  help: boolean;
  values: Record<string, string | boolean | undefined>;
}

const SHARED = {
  stage: { type: 'string' },
  'config-dir': { type: 'string' },
  'data-dir': { type: 'string' },
  bucket: { type: 'string' },
  schema: { type: 'string' },
  'pipeline-name': { type: 'string' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const SHARED_USAGE = `  --stage 1|2           1: tap-kaggle | processor; 2: tap-minio-csv | target-postgres
  --config-dir DIR      the pipeline's configs (default singer-config/, else PIPELINE_CONFIG_DIR)
  --data-dir DIR        keeps tap-kaggle's download cache and the default state folder
                        (default .data/, else PIPELINE_DATA_DIR)
  --bucket NAME         use this bucket instead of the configs'
  --schema NAME         load into this PostgreSQL schema instead of target-postgres.json's
  --pipeline-name NAME  the first part of state ids (default olist, else PIPELINE_NAME)
  --quiet               no log lines of the connectors`;

/** Reads the shared options and those given in `extra`. */
export function parseUnitCli(argv: string[], extra: NonNullable<ParseArgsConfig['options']>, env: NodeJS.ProcessEnv): UnitCliOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({ args: argv, options: { ...SHARED, ...extra }, strict: true, allowPositionals: false }) as { values: Record<string, string | boolean | undefined> });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const help = values.help === true;
  const stage = Number(values.stage);
  if (!help && stage !== 1 && stage !== 2) throw new UsageError(`--stage must be 1 or 2${values.stage === undefined ? '' : `, not ${String(values.stage)}`}`);
  return {
    stage: stage as StageNumber,
    configDir: resolve(String(values['config-dir'] ?? env.PIPELINE_CONFIG_DIR ?? DEFAULT_CONFIG_DIR)),
    dataDir: resolve(String(values['data-dir'] ?? env.PIPELINE_DATA_DIR ?? DEFAULT_DATA_DIR)),
    bucket: values.bucket as string | undefined,
    schema: values.schema as string | undefined,
    pipelineName: pipelineName(env, values['pipeline-name'] as string | undefined),
    quiet: values.quiet === true,
    help,
    values,
  };
}

/**
 * The pipeline's stages for one command, its per-run files in a temporary folder that
 * `cleanup()` removes.
 */
export async function unitPipeline(options: UnitCliOptions): Promise<{ pipeline: PipelineStages; cleanup: () => Promise<void> }> {
  const runDir = await mkdtemp(join(tmpdir(), `singer-ts-stage${options.stage}-`));
  try {
    const pipeline = await pipelineStages({
      configDir: options.configDir,
      runDir,
      bucket: options.bucket,
      schema: options.schema,
      kaggle: { cache_dir: join(options.dataDir, 'kaggle-cache') },
    });
    return { pipeline, cleanup: () => rm(runDir, { recursive: true, force: true }) };
  } catch (error) {
    await rm(runDir, { recursive: true, force: true });
    throw new UsageError(`cannot read the pipeline's configs in ${options.configDir}: ${(error as Error).message}`);
  }
}

/** The environment the connectors get: this process's, without the AWS SDK's Node-version notice. */
export function childEnv(): NodeJS.ProcessEnv {
  return { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ?? 'true' };
}
