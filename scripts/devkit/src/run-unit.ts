import { join } from 'node:path';

import { exitWith } from './pipeline/environment';
import { discoverCatalog, runUnit, unitLine } from './pipeline/run-units';
import { openStateBackend, redactUri } from './pipeline/state';
import { childEnv, parseUnitCli, SHARED_USAGE, unitPipeline,UsageError } from './pipeline/unit-cli';
import { listUnits, stateIdOf } from './pipeline/units';

const USAGE = `Usage: node scripts/devkit/dist/run-unit.js --stage 1|2 (--unit ID | --index N) [--state-backend URI] [options]

Runs exactly one unit of a stage of the Olist pipeline: one tap-kaggle | processor or
tap-minio-csv | target-postgres pair, its state read from and written to the state backend
under <pipeline name>:stage<k>:<unit id> as the target prints it. For orchestrators: one
Kubernetes (Indexed) Job pod, Airflow task or compose service per unit.

  --unit ID             the unit, as plan-units prints it
  --index N             the N-th unit (from 0) in plan-units' order; without --unit and
                        --index, JOB_COMPLETION_INDEX (a Kubernetes Indexed Job's) is taken
  --state-backend URI   where the units' states are (else STATE_BACKEND_URI; default
                        file://<data dir>/state): file:///dir, s3://bucket/prefix (AWS_* for
                        endpoint and keys), postgresql://user:password@host:port/database/schema
  --catalog FILE        stage 2: tap-minio-csv's catalog (default: discovered now)
${SHARED_USAGE}

Services come from the environment, as the connectors read them: KAGGLE_USERNAME/KAGGLE_KEY
or KAGGLE_API_TOKEN; AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION; PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE.
Exit status 0 when the unit loaded, 1 (with one ERROR line) when it failed, 2 for bad usage.
`;

class UnitError extends Error {}

async function main(): Promise<void> {
  const options = parseUnitCli(
    process.argv.slice(2),
    { unit: { type: 'string' }, index: { type: 'string' }, 'state-backend': { type: 'string' }, catalog: { type: 'string' } },
    process.env,
  );
  if (options.help) {
    process.stdout.write(USAGE);
    return;
  }
  const wanted = options.values.unit as string | undefined;
  const indexText = (options.values.index as string | undefined) ?? (wanted === undefined ? process.env.JOB_COMPLETION_INDEX : undefined);
  if (wanted === undefined && indexText === undefined) throw new UsageError('name the unit: --unit ID, --index N, or JOB_COMPLETION_INDEX in the environment');
  if (wanted !== undefined && options.values.index !== undefined) throw new UsageError('--unit and --index name a unit each: give one');
  const index = indexText === undefined ? undefined : Number(indexText);
  if (index !== undefined && !(Number.isInteger(index) && index >= 0)) throw new UsageError(`the unit index must be a whole number from 0, not ${JSON.stringify(indexText)}`);

  const env = childEnv();
  const log = options.quiet ? () => undefined : (line: string) => void process.stderr.write(`${line}\n`);
  const { pipeline, cleanup } = await unitPipeline(options);
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals): void => {
    process.stderr.write(`${signal}: stopping the pair; what it committed is kept\n`);
    controller.abort();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const stage = pipeline.stages[options.stage];
    const units = await listUnits(stage, env, log).catch((error: Error) => {
      throw new UnitError(`listing the units: ${error.message}`);
    });
    const position = wanted !== undefined ? units.findIndex((u) => u.id === wanted) : index!;
    const unit = units[position];
    if (!unit) {
      const which = wanted !== undefined ? `no unit ${JSON.stringify(wanted)}` : `no unit at index ${index}`;
      throw new UnitError(`${which} in stage ${options.stage}, which has ${units.length} (${units.map((u) => u.id).join(', ') || 'none'}); see plan-units`);
    }
    let catalog = options.values.catalog as string | undefined;
    if (options.stage === 2 && catalog === undefined) {
      catalog = join(pipeline.runDir, 'tap-minio-csv.catalog.json');
      const discovered = await discoverCatalog(stage, env, catalog, log);
      if (!discovered.ok) throw new UnitError(`tap-minio-csv --discover: ${discovered.error ?? 'failed'}`);
    }
    const uri = (options.values['state-backend'] as string | undefined) ?? process.env.STATE_BACKEND_URI ?? `file://${join(options.dataDir, 'state')}`;
    const backend = await openStateBackend(uri, env).catch((error: Error) => {
      throw new UnitError(`state backend ${redactUri(uri)}: ${error.message}`);
    });
    try {
      const result = await runUnit(unit, { pipeline, name: options.pipelineName, backend, env, log, catalog, signal: controller.signal });
      if (!result.ok) throw new UnitError(`unit ${unit.id} (${result.failedStage}): ${result.error ?? 'failed'}`);
      process.stdout.write(`${unitLine(result, position + 1, units.length)}; state ${stateIdOf(options.pipelineName, unit)} in ${backend.location}\n`);
    } finally {
      await backend.close().catch(() => undefined);
    }
  } finally {
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
    await cleanup();
  }
}

main().catch((error: unknown) => {
  const stage = process.argv.includes('--stage') ? ` stage ${process.argv[process.argv.indexOf('--stage') + 1]}` : '';
  process.stderr.write(`ERROR run-unit${stage}: ${(error as Error).message}\n`);
  exitWith(error instanceof UsageError ? 2 : 1);
});
