import { runPool } from './pool';
import { type PairResult, runPair, runToFile } from './run-pair';
import { command, type PipelineStages, type Stage } from './stages';
import type { StateBackend } from './state';
import { stateIdOf, type Unit, unitCommands, unitDir } from './units';

export interface UnitResult extends PairResult {
  unit: Unit;
  stateId: string;
}

export interface UnitRunOptions {
  pipeline: PipelineStages;
  /** The pipeline's name in state ids. */
  name: string;
  backend: StateBackend;
  env: NodeJS.ProcessEnv;
  /** Receives the children's stderr lines. */
  log: (line: string) => void;
  /** The stage's catalog (stage 2: discovered once for all its units). */
  catalog?: string;
  signal?: AbortSignal;
  /** Variables for one process of a unit's pair only (a benchmark's probe, say). */
  processEnv?: (unit: Unit, role: 'tap' | 'target') => NodeJS.ProcessEnv;
}

/**
 * Runs one unit's pair with its state read from the backend and each new state written
 * back as the target prints it (under `<pipeline>:stage<k>:<unit id>`).
 */
export async function runUnit(unit: Unit, options: UnitRunOptions): Promise<UnitResult> {
  const stage = options.pipeline.stages[unit.stage];
  const stateId = stateIdOf(options.name, unit);
  const failed = (error: string, failedStage: string): UnitResult => ({ unit, stateId, ok: false, records: {}, seconds: 0, stateChanged: false, error, failedStage });
  let state: string | undefined;
  try {
    state = await options.backend.read(stateId);
  } catch (error) {
    return failed(`cannot read the state of ${stateId}: ${(error as Error).message}`, 'state');
  }
  const dir = unitDir(options.pipeline.runDir, unit);
  const { tap, target } = await unitCommands(stage, unit, dir, { catalog: options.catalog, state });
  const prefix = `[${unit.id}] `;
  const result = await runPair({
    tap: { ...tap, env: options.processEnv?.(unit, 'tap') },
    target: { ...target, env: options.processEnv?.(unit, 'target') },
    env: options.env,
    stateSink: { save: (value) => options.backend.write(stateId, value) },
    log: (line) => options.log(`${prefix}${line}`),
    signal: options.signal,
  });
  return { ...result, unit, stateId };
}

export interface StageRunOptions extends UnitRunOptions {
  /** At most this many pairs at once. */
  parallel: number;
  /** Called as each unit ends, in the order they end. */
  onUnitDone?: (result: UnitResult, done: number, total: number) => void;
}

export interface StageResult {
  ok: boolean;
  results: UnitResult[];
  /** The first failed unit. */
  failure?: UnitResult;
  /** Records loaded per stream, all units together. */
  records: Record<string, number>;
  /** Wall time of the stage. */
  seconds: number;
}

/**
 * Runs a stage's units as up to `parallel` concurrent pairs. A failed unit stops the start of
 * further units; the running ones finish (their states are kept), and the stage fails with
 * the first failure.
 */
export async function runStageUnits(units: readonly Unit[], options: StageRunOptions): Promise<StageResult> {
  const started = Date.now();
  let done = 0;
  const outcome = await runPool(
    units,
    options.parallel,
    async (unit) => {
      const result = await runUnit(unit, options);
      done += 1;
      options.onUnitDone?.(result, done, units.length);
      return result;
    },
    (result) => !result.ok,
  );
  const results = outcome.filter((r): r is UnitResult => r !== undefined);
  const records: Record<string, number> = {};
  for (const result of results) {
    for (const [stream, n] of Object.entries(result.records)) records[stream] = (records[stream] ?? 0) + n;
  }
  const failure = results.find((r) => !r.ok);
  return { ok: failure === undefined && results.length === units.length, results, failure, records, seconds: (Date.now() - started) / 1000 };
}

/** Discovers stage 2's catalog (`tap-minio-csv --discover`) into `outFile`. */
export async function discoverCatalog(stage: Stage, env: NodeJS.ProcessEnv, outFile: string, log: (line: string) => void): Promise<{ ok: boolean; error?: string }> {
  return runToFile(command(stage.tap, ['--discover']), env, outFile, log);
}

/** `1,234 records in 2.1 s (587/s)` */
export function describeRecords(records: Record<string, number>, seconds: number): string {
  const total = Object.values(records).reduce((a, b) => a + b, 0);
  const rate = seconds > 0 ? Math.round(total / seconds) : total;
  return `${total} records in ${seconds.toFixed(1)} s (${rate}/s)`;
}

/** A unit's progress line: `stage 2 · unit 3/4 orders: 9944 records in 2.1 s (4735/s)`, or its failure. */
export function unitLine(result: UnitResult, done: number, total: number): string {
  const name = result.unit.table === result.unit.id || result.unit.table === '*' ? result.unit.id : `${result.unit.id} (${result.unit.table})`;
  const head = `stage ${result.unit.stage} · unit ${done}/${total} ${name}`;
  if (!result.ok) return `${head}: FAILED in ${result.failedStage}: ${result.error}`;
  return `${head}: ${describeRecords(result.records, result.seconds)}`;
}
