import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';

import { BIN, writeConfig } from './helpers';

/** One generated source row, as the database must end up holding it. */
export interface SourceRow {
  id: string;
  name: string | null;
  amount: string;
  ts: string;
}

/** The i-th source row: awkward text now and then, exact decimals, UTC timestamps. */
export function sourceRow(i: number): SourceRow {
  const names = [`name ${i}`, `tab\t${i}`, `back\\slash ${i}`, '\\N', `line\nbreak ${i}`, '', null, `emoji 🚀 ${i}`];
  const cents = (i * 37) % 100;
  return {
    id: String(i),
    name: names[i % names.length] as string | null,
    amount: `${i}.${String(cents).padStart(2, '0')}`,
    ts: new Date(Date.UTC(2017, 0, 1) + i * 61_000).toISOString(),
  };
}

/** The amount as PostgreSQL's numeric prints what the JSON number means (trailing zeros go). */
export function numericText(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}

export interface SourceOptions {
  stream: string;
  keys: string[];
  /** First record id to send (resume point). */
  from: number;
  /** One past the last record id. */
  to: number;
  /** A STATE after every this many records: `{"bookmarks": {stream: {"next": id}}}`. */
  stateEvery: number;
  /** Records per chunk handed to the target, with a pause between chunks. */
  chunk?: number;
  pauseMs?: number;
}

/** The Singer lines of the generated stream from `from`, state values saying where to resume. */
export async function* sourceLines(options: SourceOptions): AsyncGenerator<string> {
  const { stream, keys, from, to, stateEvery } = options;
  const chunk = options.chunk ?? 500;
  yield `${JSON.stringify({
    type: 'SCHEMA',
    stream,
    schema: {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        name: { type: ['null', 'string'] },
        amount: { type: 'number' },
        ts: { type: 'string', format: 'date-time' },
      },
    },
    key_properties: keys,
  })}\n`;
  let text = '';
  for (let i = from; i < to; i++) {
    const row = sourceRow(i);
    text += `{"type":"RECORD","stream":${JSON.stringify(stream)},"record":{"id":${i},"name":${JSON.stringify(row.name)},"amount":${row.amount},"ts":"${row.ts}"}}\n`;
    if ((i + 1) % stateEvery === 0) text += `{"type":"STATE","value":{"bookmarks":{${JSON.stringify(stream)}:{"next":${i + 1}}}}}\n`;
    if ((i + 1 - from) % chunk === 0) {
      yield text;
      text = '';
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  }
  text += `{"type":"STATE","value":{"bookmarks":{${JSON.stringify(stream)}:{"next":${to}}}}}\n`;
  yield text;
}

export interface ChildRun {
  child: ChildProcessWithoutNullStreams;
  /** State values printed so far. */
  states: { bookmarks: Record<string, { next: number }> }[];
  stderr: () => string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when `n` state values have been printed (or the process ended). */
  statesSeen(n: number): Promise<void>;
}

/** Spawns the real executable fed by the generated stream. */
export function spawnTarget(config: Record<string, unknown>, source: SourceOptions): ChildRun {
  const child = spawn(process.execPath, [BIN, '-c', writeConfig(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  const states: ChildRun['states'] = [];
  let stderr = '';
  let rest = '';
  const waiters: { n: number; resolve: () => void }[] = [];
  const notify = (): void => {
    for (const waiter of [...waiters]) {
      if (states.length >= waiter.n) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') states.push(JSON.parse(line) as ChildRun['states'][number]);
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      for (const waiter of waiters.splice(0)) waiter.resolve();
      resolve({ code, signal });
    });
  });
  // The target may die mid-input (that is the point): a broken pipe here is expected.
  pipeline(Readable.from(sourceLines(source)), child.stdin).catch(() => undefined);
  return {
    child,
    states,
    stderr: () => stderr,
    exited,
    statesSeen: (n) =>
      new Promise<void>((resolve) => {
        if (states.length >= n || child.exitCode !== null) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}
