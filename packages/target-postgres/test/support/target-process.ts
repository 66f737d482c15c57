import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { BIN } from '../integration/helpers';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * The real `target-postgres` executable, fed one line at a time, with what it printed so far.
 * Nothing here waits on a timer: callers wait for "the input so far reached the pipe", "the
 * target printed n states" or "the process ended".
 */
export class TargetProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  /** State values printed so far, parsed. */
  readonly printed: unknown[] = [];
  private stderrText = '';
  private partialLine = '';
  private written: Promise<void> = Promise.resolve();
  private exit: Exit | undefined;
  private readonly exited: Promise<Exit>;
  private readonly waiters = new Set<() => void>();

  constructor(configPath: string) {
    this.child = spawn(process.execPath, [BIN, '-c', configPath], {
      stdio: ['pipe', 'pipe', 'pipe'],
      // Node 22+ keeps compiled code between the many short runs; older versions ignore it.
      env: { ...process.env, LOG_LEVEL: 'info', NODE_COMPILE_CACHE: join(tmpdir(), 'singer-ts-target-compile-cache') },
    });
    this.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (this.partialLine + chunk).split('\n');
      this.partialLine = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') this.printed.push(JSON.parse(line));
      this.notify();
    });
    this.child.stderr.setEncoding('utf8').on('data', (chunk: string) => (this.stderrText += chunk));
    // The target may die while input is still coming (a failure, or the kill this test sends).
    this.child.stdin.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        this.notify();
        resolve(this.exit);
      });
    });
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** The process's exit, once it ended. */
  get ended(): Exit | undefined {
    return this.exit;
  }

  /** The line a failure left on stderr (the first ERROR line), or its last line. */
  get errorLine(): string {
    const lines = this.stderrText.split('\n').filter((line) => line.trim() !== '');
    return lines.find((line) => line.startsWith('ERROR')) ?? lines.at(-1) ?? '(nothing on stderr)';
  }

  send(line: string): void {
    if (this.exit !== undefined || this.child.stdin.destroyed) return;
    this.written = new Promise((resolve) => this.child.stdin.write(`${line}\n`, () => resolve()));
  }

  /** Resolves once `count` state values were printed, or the process ended. */
  printedAtLeast(count: number): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.printed.length >= count || this.exit !== undefined) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  /** End of input; resolves with the exit. */
  async end(): Promise<Exit> {
    if (this.exit === undefined) this.child.stdin.end();
    return this.exited;
  }

  /** `kill -9` once everything sent so far was handed to the pipe; resolves with the exit. */
  async kill(): Promise<Exit> {
    await this.written;
    this.child.kill('SIGKILL');
    return this.exited;
  }

  /** `kill -9` now, whatever is still on its way (cleanup after a failure). */
  async abort(): Promise<Exit> {
    this.child.kill('SIGKILL');
    return this.exited;
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
