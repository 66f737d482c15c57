import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';

import { replaceFile } from './replace-file';

/** One executable of a pair. */
export interface StageCommand {
  /** Shown in logs and errors: `tap-kaggle`. */
  name: string;
  /** Path to the executable's launcher (a `bin/*.js` file). */
  bin: string;
  args: string[];
  /** Variables for this process only, over the pair's `env`. */
  env?: NodeJS.ProcessEnv;
}

/** Where a pair's state values go as the target prints them. */
export interface StateSink {
  /** Keeps one state value (the JSON text the target printed); later calls supersede earlier ones. */
  save(value: string): Promise<void>;
}

export interface PairOptions {
  tap: StageCommand;
  target: StageCommand;
  env: NodeJS.ProcessEnv;
  /** Where the target's last printed state value is kept between runs (a file, written atomically). */
  stateFile?: string;
  /** Or any other place for the state values; one of `stateFile` and `stateSink` is needed. */
  stateSink?: StateSink;
  /** Receives every stderr line of both processes, prefixed with their names. */
  log: (line: string) => void;
  /** Aborting stops the pair as a failed tap does: the tap and then the target get SIGTERM. */
  signal?: AbortSignal;
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

/** A sink that keeps the last state value in a file, replaced atomically. */
export function stateFileSink(path: string): StateSink {
  return {
    save: (value) => replaceFile(path, `${value}\n`),
  };
}

/**
 * Saves state values one at a time, in order, skipping those a newer one superseded while a
 * save was under way (the latest is always saved). `flush()` waits for the last one and
 * reports the first save that failed.
 */
class StateSaver {
  private latest: string | undefined;
  private saved: string | undefined;
  private running: Promise<void> | undefined;
  private failure: Error | undefined;

  constructor(private readonly sink: StateSink) {}

  get hasState(): boolean {
    return this.latest !== undefined;
  }

  offer(value: string): void {
    this.latest = value;
    this.running ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.latest !== this.saved && this.failure === undefined) {
      const value = this.latest!;
      try {
        await this.sink.save(value);
        this.saved = value;
      } catch (error) {
        this.failure = error as Error;
      }
    }
    this.running = undefined;
  }

  async flush(): Promise<Error | undefined> {
    while (this.running) await this.running;
    return this.failure;
  }
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
 * state values; each is saved (to `stateFile` atomically, or to `stateSink`) as it comes,
 * whether or not the run succeeds, since every printed state is durable.
 */
export async function runPair(options: PairOptions): Promise<PairResult> {
  const started = Date.now();
  const { tap, target, env, log, signal } = options;
  const sink = options.stateSink ?? (options.stateFile !== undefined ? stateFileSink(options.stateFile) : undefined);
  if (!sink) throw new Error('runPair needs a stateFile or a stateSink');
  const saver = new StateSaver(sink);
  const targetProcess = spawn(process.execPath, [target.bin, ...target.args], { env: { ...env, ...target.env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const tapProcess = spawn(process.execPath, [tap.bin, ...tap.args], { env: { ...env, ...tap.env }, stdio: ['ignore', 'pipe', 'pipe'] });

  const records: Record<string, number> = {};
  const targetWatch = watch(targetProcess, target.name, log, (metric) => {
    const stream = (metric.tags as { stream?: unknown } | undefined)?.stream;
    if (metric.metric === 'record_count' && typeof stream === 'string' && typeof metric.value === 'number') {
      records[stream] = (records[stream] ?? 0) + metric.value;
    }
  });
  const tapWatch = watch(tapProcess, tap.name, log);

  // Every state value on the target's stdout, whole, before the target is known to have exited.
  const statesRead = new Promise<void>((resolve) => {
    const lines = createInterface({ input: targetProcess.stdout });
    lines.on('line', (line) => {
      if (line.trim() !== '') saver.offer(line);
    });
    lines.on('close', resolve);
  });

  // Stopping: the tap first, as if it had failed; a target still committing after the tap
  // ended is stopped too, and rolls back what it has not committed.
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    if (tapProcess.exitCode === null && tapProcess.signalCode === null) tapProcess.kill('SIGTERM');
    else if (targetProcess.exitCode === null && targetProcess.signalCode === null) targetProcess.kill('SIGTERM');
  };
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });

  // The target may exit early (bad config); then the tap's writes fail with EPIPE, which is
  // the target's error to report, not the tap's. Its output has nowhere to go: the tap is
  // stopped, as a shell pipe's SIGPIPE would stop it, and what it still prints is discarded
  // (a tap blocked on a full pipe would never end otherwise).
  targetProcess.stdin.on('error', () => undefined);
  tapProcess.stdout.pipe(targetProcess.stdin, { end: false });
  let targetEndedFirst = false;
  void targetWatch.exitCode.then(() => {
    if (tapProcess.exitCode !== null || tapProcess.signalCode !== null) return;
    targetEndedFirst = true;
    tapProcess.stdout.unpipe(targetProcess.stdin);
    tapProcess.stdout.resume();
    tapProcess.kill('SIGTERM');
    const killer = setTimeout(() => tapProcess.kill('SIGKILL'), KILL_AFTER_MS);
    void tapWatch.exitCode.then(() => clearTimeout(killer));
  });

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
  signal?.removeEventListener('abort', stop);
  await statesRead;
  const saveFailure = await saver.flush();
  if (saveFailure && (tapCode !== 0 || targetCode !== 0)) log(`[state] cannot save the state: ${saveFailure.message}`);

  const stateChanged = saver.hasState;
  const seconds = (Date.now() - started) / 1000;
  if (targetEndedFirst) {
    const error = targetCode !== 0 ? (targetWatch.lastError() ?? `${target.name} exited with status ${targetCode}`) : `${target.name} ended before its input did`;
    return { ok: false, records, seconds, stateChanged, failedStage: target.name, error };
  }
  if (stopped && tapCode !== 0) {
    return { ok: false, records, seconds, stateChanged, failedStage: tap.name, error: `stopped before ${tap.name} finished` };
  }
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
  if (saveFailure) {
    return { ok: false, records, seconds, stateChanged, failedStage: 'state', error: `cannot save the state: ${saveFailure.message}` };
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
