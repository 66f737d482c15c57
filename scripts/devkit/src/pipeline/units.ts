import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { createInterface } from 'node:readline';

import type { StageCommand } from './run-pair';
import { command, mergedConfig, readJsonObject, type Stage, type StageNumber, tableSpecs, writeJson } from './stages';

/**
 * A unit of work: one `tap | target` pair of a stage with a state of its own. When the tap's
 * config splits tables (tap-minio-csv's `unit_split`), the tap says what the units are
 * (`--list-units`) and runs one (`--unit`); otherwise each table (stage 2) or file (stage 1) is
 * a unit, selected by a config overlay.
 */
export interface Unit {
  stage: StageNumber;
  id: string;
  /** The table (stage 2) or stream (stage 1) the unit loads. */
  table: string;
  /** `tap`: run with the tap's `--unit <id>`; `selection`: run with `selection` over the tap's config. */
  mode: 'tap' | 'selection';
  /** Config keys that make the tap read only this unit (`files` or `tables`). */
  selection?: Record<string, unknown>;
  bytes?: number;
  objects?: number;
}

/** The stable id of a unit's state: `<pipeline>:stage<k>:<unit id>`. */
export function stateIdOf(pipelineName: string, unit: Pick<Unit, 'stage' | 'id'>): string {
  return `${pipelineName}:stage${unit.stage}:${unit.id}`;
}

/** The line `plan-units` prints for a unit. */
export function planLine(unit: Unit): string {
  return JSON.stringify({ stage: unit.stage, unit: unit.id, table: unit.table });
}

const GLOB = /[*?[\]{}!]/;

/** Whether the tap splits its work: its `--help` offers `--list-units` (the harness shows it only then). */
async function tapListsUnits(stage: Stage, env: NodeJS.ProcessEnv): Promise<boolean> {
  const child = spawn(process.execPath, [stage.tap.bin, '--help'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
  let help = '';
  child.stdout.on('data', (chunk: Buffer) => (help += chunk.toString()));
  const code = await new Promise<number>((resolve) => {
    child.on('error', () => resolve(127));
    child.on('close', (status) => resolve(status ?? 1));
  });
  if (code !== 0) throw new Error(`${stage.tap.name} --help exited with status ${code}`);
  return /--list-units\b/.test(help);
}

/** The tap's own units (`--list-units`): JSON lines `{"unit": …, "table"|"stream": …, "objects"?, "bytes"?}`. */
async function askTap(stage: Stage, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<Unit[]> {
  const cmd = command(stage.tap, ['--list-units']);
  const child = spawn(process.execPath, [cmd.bin, ...cmd.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const units: Unit[] = [];
  let wrong: string | undefined;
  let lastError: string | undefined;
  createInterface({ input: child.stderr }).on('line', (line) => {
    if (/^(ERROR|CRITICAL) /.test(line)) lastError = line.replace(/^(ERROR|CRITICAL) /, '');
    log(`[${stage.tap.name} --list-units] ${line}`);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (wrong !== undefined || line.trim() === '') return;
    let value: Record<string, unknown> | undefined;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      value = undefined;
    }
    if (!value || typeof value.unit !== 'string' || value.unit === '' || typeof value.type === 'string') {
      // Not a unit (a Singer message would mean the tap is syncing instead): stop it here.
      wrong = line;
      child.kill('SIGTERM');
      return;
    }
    const table = stage.stage === 1 ? value.stream : value.table;
    units.push({
      stage: stage.stage,
      id: value.unit,
      table: typeof table === 'string' ? table : value.unit,
      mode: 'tap',
      ...(typeof value.bytes === 'number' ? { bytes: value.bytes } : {}),
      ...(typeof value.objects === 'number' ? { objects: value.objects } : {}),
    });
  });
  const code = await new Promise<number>((resolve) => {
    child.on('error', (error) => {
      lastError = `cannot start ${stage.tap.name}: ${error.message}`;
      resolve(127);
    });
    child.on('close', (status) => resolve(status ?? 1));
  });
  if (wrong !== undefined) throw new Error(`${stage.tap.name} --list-units printed a line that is not a unit: ${wrong.slice(0, 120)}`);
  if (code !== 0) throw new Error(`${stage.tap.name} --list-units: ${lastError ?? `exited with status ${code}`}`);
  return units;
}

/** A `files` value as tap-kaggle reads it: a list, a JSON list string, or a comma-separated string. */
function fileList(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value)) return value.map(String);
  const text = String(value).trim();
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      return Array.isArray(parsed) ? parsed.map(String) : undefined;
    } catch {
      return undefined;
    }
  }
  return text.split(',').map((part) => part.trim()).filter((part) => part !== '');
}

function streamNames(value: unknown): Record<string, string> {
  if (typeof value === 'object' && value !== null) return value as Record<string, string>;
  if (typeof value === 'string') {
    try {
      const parsed: unknown = JSON.parse(value);
      if (typeof parsed === 'object' && parsed !== null) return parsed as Record<string, string>;
    } catch {
      // tap-kaggle reports it
    }
  }
  return {};
}

/**
 * The units of a tap that cannot list them: stage 2, one per configured table (a config with
 * only that table); stage 1, one per file named in `files` (a config with only that file),
 * or a single unit `all` when `files` is left out or holds globs (only the archive knows
 * which files they match).
 */
async function unitsFromConfig(stage: Stage): Promise<Unit[]> {
  const config = await mergedConfig(stage.tap);
  if (stage.stage === 2) {
    return tableSpecs(config).map((table) => ({
      stage: 2,
      id: String(table.table_name),
      table: String(table.table_name),
      mode: 'selection',
      selection: { tables: [table] },
    }));
  }
  const files = fileList(config.files);
  if (files === undefined || files.length === 0 || files.some((f) => GLOB.test(f))) {
    return [{ stage: 1, id: 'all', table: '*', mode: 'selection', selection: {} }];
  }
  const names = streamNames(config.stream_names);
  return files.map((file) => ({
    stage: 1,
    id: file,
    table: names[file] ?? names[posix.basename(file)] ?? posix.basename(file).replace(/\.csv$/i, ''),
    mode: 'selection',
    selection: { files: [file] },
  }));
}

/**
 * Whether the tap must say what the units are: only when its config splits tables
 * (`unit_split`, which only a listing of the objects can resolve) and it can list units. Without
 * a split, the config names the units (a table, a file) with no request to S3 or Kaggle, so
 * planning needs no service and stage 1 downloads nothing to plan.
 */
async function splitByTap(stage: Stage, env: NodeJS.ProcessEnv): Promise<boolean> {
  if (stage.stage !== 2) return false;
  const split = (await mergedConfig(stage.tap)).unit_split;
  if (split === undefined || split === null || split === '' || split === 'none') return false;
  if (await tapListsUnits(stage, env)) return true;
  throw new Error(`${stage.tap.name} does not list units, but its config sets unit_split ${JSON.stringify(split)}`);
}

/** The units of a stage, in the order `plan-units` prints them and `run-unit --index` counts them. */
export async function listUnits(stage: Stage, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<Unit[]> {
  return (await splitByTap(stage, env)) ? askTap(stage, env, log) : unitsFromConfig(stage);
}

/** A file-name-safe folder for a unit's files. */
export function unitDir(runDir: string, unit: Pick<Unit, 'stage' | 'id'>): string {
  return join(runDir, 'units', `stage${unit.stage}`, encodeURIComponent(unit.id));
}

export interface UnitFiles {
  /** The catalog of the whole stage (stage 2). */
  catalog?: string;
  /** The state the unit starts from (its JSON text), if any. */
  state?: string;
}

/**
 * The unit's pair: the tap with the unit's selection (its `--unit`, or a config overlay and
 * a catalog of its table only) and state; the target as configured.
 */
export async function unitCommands(stage: Stage, unit: Unit, dir: string, files: UnitFiles): Promise<{ tap: StageCommand; target: StageCommand }> {
  await mkdir(dir, { recursive: true });
  const args: string[] = [];
  const overlays: string[] = [];
  if (unit.mode === 'tap') {
    args.push('--unit', unit.id);
    if (files.catalog) args.push('--catalog', files.catalog);
  } else {
    if (unit.selection && Object.keys(unit.selection).length > 0) overlays.push(await writeJson(join(dir, 'selection.json'), unit.selection));
    if (files.catalog) {
      const catalog = await readJsonObject(files.catalog);
      const streams = Array.isArray(catalog.streams) ? (catalog.streams as { tap_stream_id?: unknown; stream?: unknown }[]) : [];
      const own = streams.filter((s) => s.tap_stream_id === unit.table || (s.tap_stream_id === undefined && s.stream === unit.table));
      args.push('--catalog', await writeJson(join(dir, 'catalog.json'), { ...catalog, streams: own }));
    }
  }
  if (files.state !== undefined) {
    const statePath = join(dir, 'state.json');
    await writeFile(statePath, `${files.state}\n`);
    args.push('--state', statePath);
  }
  return { tap: command(stage.tap, args, overlays), target: command(stage.target) };
}
