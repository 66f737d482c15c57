import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

/** One executable of a pair. */
export interface StageCommand {
  /** Shown in logs and errors: `tap-kaggle`. */
  name: string;
  /** Path to the executable's launcher (a `bin/*.js` file). */
  bin: string;
  args: string[];
}

export interface PairOptions {
  tap: StageCommand;
  target: StageCommand;
  env: NodeJS.ProcessEnv;
  /** Where the target's last printed state value is kept between runs. */
  stateFile: string;
  /** Receives every stderr line of both processes, prefixed with their names. */
  log: (line: string) => void;
}

export interface PairResult {
  ok: boolean;
  /** Records the target counted per stream (from its METRIC lines). */
  records: Record<string, number>;
  seconds: number;
  /** Whether the target printed a new state value. */
  stateChanged: boolean;
  /** The failing process's own error line, when `ok` is false. */
  error?: string;
  failedStage?: string;
}

interface Watched {
  exitCode: Promise<number>;
  lastError: () => string | undefined;
}

const METRIC = /METRIC: (\{.*\})$/;
const KILL_AFTER_MS = 30_000;

/** Forwards a child's stderr line by line and remembers its last ERROR line. */
function watch(child: ChildProcess, name: string, log: (line: string) => void, onMetric?: (metric: Record<string, unknown>) => void): Watched {
  let lastError: string | undefined;
  if (child.stderr) {
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (/^(ERROR|CRITICAL) /.test(line)) lastError = line.replace(/^(ERROR|CRITICAL) /, '');
      const metric = METRIC.exec(line);
      if (metric && onMetric) {
        try {
          onMetric(JSON.parse(metric[1]!) as Record<string, unknown>);
        } catch {
          // a malformed metric is only a log line
        }
      }
      log(`[${name}] ${line}`);
    });
  }
  const exitCode = new Promise<number>((resolve) => {
    child.on('error', (error) => {
      lastError = `cannot start ${name}: ${error.message}`;
      resolve(127);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
  return { exitCode, lastError: () => lastError };
}

/**
 * Runs `tap | target` as a shell pipe would, with one difference that matters: when the tap
 * fails, the target is sent SIGTERM before its input is closed, so it rolls back the tail it
 * has not committed instead of committing a failed tap's partial output (target-postgres
 * commits what follows the last STATE at end of input). The target's stdout is a stream of
 * state values; the last one is written to `stateFile` (atomically) whether or not the run
 * succeeded, since every printed state is durable.
 */
export async function runPair(options: PairOptions): Promise<PairResult> {
  const started = Date.now();
  const { tap, target, env, log } = options;
  const targetProcess = spawn(process.execPath, [target.bin, ...target.args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const tapProcess = spawn(process.execPath, [tap.bin, ...tap.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });

  const records: Record<string, number> = {};
  const targetWatch = watch(targetProcess, target.name, log, (metric) => {
    const stream = (metric.tags as { stream?: unknown } | undefined)?.stream;
    if (metric.metric === 'record_count' && typeof stream === 'string' && typeof metric.value === 'number') {
      records[stream] = (records[stream] ?? 0) + metric.value;
    }
  });
  const tapWatch = watch(tapProcess, tap.name, log);

  let lastState: string | undefined;
  createInterface({ input: targetProcess.stdout }).on('line', (line) => {
    if (line.trim() !== '') lastState = line;
  });

  // The target may exit early (bad config); then the tap's writes fail with EPIPE, which is
  // the target's error to report, not the tap's.
  targetProcess.stdin.on('error', () => undefined);
  tapProcess.stdout.pipe(targetProcess.stdin, { end: false });

  const tapCode = await tapWatch.exitCode;
  tapProcess.stdout.unpipe(targetProcess.stdin);
  if (tapCode === 0) {
    targetProcess.stdin.end();
  } else {
    // NOTE: the input stays open: closing it too would race the signal, and a target that
    // saw end of input first would commit the failed tap's tail. The target ends its own
    // input on SIGTERM; one that ignores it is killed.
    targetProcess.kill('SIGTERM');
    const killer = setTimeout(() => targetProcess.kill('SIGKILL'), KILL_AFTER_MS);
    void targetWatch.exitCode.then(() => clearTimeout(killer));
  }
  const targetCode = await targetWatch.exitCode;

  let stateChanged = false;
  if (lastState !== undefined) {
    await mkdir(dirname(options.stateFile), { recursive: true });
    const temporary = `${options.stateFile}.tmp`;
    await writeFile(temporary, `${lastState}\n`);
    await rename(temporary, options.stateFile);
    stateChanged = true;
  }
  const seconds = (Date.now() - started) / 1000;
  if (tapCode !== 0) {
    return { ok: false, records, seconds, stateChanged, failedStage: tap.name, error: tapWatch.lastError() ?? `${tap.name} exited with status ${tapCode}` };
  }
  if (targetCode !== 0) {
    return {
      ok: false,
      records,
      seconds,
      stateChanged,
      failedStage: target.name,
      error: targetWatch.lastError() ?? `${target.name} exited with status ${targetCode}`,
    };
  }
  return { ok: true, records, seconds, stateChanged };
}

/** Runs one executable to completion and returns its stdout (discovery, say). */
export async function runToFile(command: StageCommand, env: NodeJS.ProcessEnv, outFile: string, log: (line: string) => void): Promise<{ ok: boolean; error?: string }> {
  const child = spawn(process.execPath, [command.bin, ...command.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const watched = watch(child, command.name, log);
  const code = await watched.exitCode;
  if (code !== 0) return { ok: false, error: watched.lastError() ?? `${command.name} exited with status ${code}` };
  await mkdir(dirname(outFile), { recursive: true });
  await writeFile(outFile, Buffer.concat(chunks));
  return { ok: true };
}
