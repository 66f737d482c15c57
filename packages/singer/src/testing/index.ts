import { readFile } from 'node:fs/promises';
import { PassThrough, Readable } from 'node:stream';

import { type ConnectorSpec, executeConnector } from '../cli';
import type { RunContext } from '../context';
import { parseExactJson } from '../exact-json';
import type { Message, RecordMessage, SchemaMessage, StateMessage } from '../messages';
import type { Tap } from '../tap';
import type { Target } from '../target';

/** What an in-process run printed, parsed. */
export interface RunResult {
  exitCode: number;
  /** stdout lines, parsed as JSON (exactly: big numbers stay LosslessNumber). */
  output: unknown[];
  /** stderr text. */
  logs: string;
}

export interface TapRunResult extends RunResult {
  messages: Message[];
  schemas: SchemaMessage[];
  records: RecordMessage[];
  states: StateMessage[];
}

export interface TargetRunResult extends RunResult {
  /** The state values the target printed, in order. */
  stateValues: unknown[];
}

export interface RunOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Aborts the run as SIGTERM would. */
  signal?: AbortSignal;
}

async function collect(stream: PassThrough): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

async function execute<C>(
  kind: 'tap' | 'target',
  spec: ConnectorSpec<C>,
  create: (config: C, context: RunContext) => Tap<C> | Target<C>,
  stdin: Readable,
  options: RunOptions,
): Promise<RunResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const outText = collect(stdout);
  const errText = collect(stderr);
  const exitCode = await executeConnector(kind, spec, create, {
    argv: options.args ?? [],
    stdin,
    stdout,
    stderr,
    env: options.env ?? { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'info' },
    signal: options.signal,
  });
  stdout.end();
  stderr.end();
  const text = await outText;
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  let output: unknown[];
  try {
    output = lines.map((line) => parseExactJson(line));
  } catch {
    try {
      // --about and --discover print one pretty-printed document.
      output = [parseExactJson(text)];
    } catch {
      // --about markdown, --help, --version: plain text.
      output = [text];
    }
  }
  return { exitCode, output, logs: await errText };
}

/** Runs a tap in-process with the given CLI args (`['-c', file, '--catalog', file]`). */
export async function runTapInProcess<C>(
  spec: ConnectorSpec<C>,
  create: (config: C, context: RunContext) => Tap<C>,
  options: RunOptions = {},
): Promise<TapRunResult> {
  const result = await execute('tap', spec, create, Readable.from([]), options);
  const messages = result.output.filter(
    (m): m is Message => typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string',
  );
  return {
    ...result,
    messages,
    schemas: messages.filter((m): m is SchemaMessage => m.type === 'SCHEMA'),
    records: messages.filter((m): m is RecordMessage => m.type === 'RECORD'),
    states: messages.filter((m): m is StateMessage => m.type === 'STATE'),
  };
}

/** Runs a target in-process on the given input (JSONL text, lines, or a stream). */
export async function runTargetInProcess<C>(
  spec: ConnectorSpec<C>,
  create: (config: C, context: RunContext) => Target<C>,
  input: string | string[] | Readable,
  options: RunOptions = {},
): Promise<TargetRunResult> {
  const stdin =
    typeof input === 'string'
      ? Readable.from([input])
      : Array.isArray(input)
        ? Readable.from([input.map((line) => `${line}\n`).join('')])
        : input;
  const result = await execute('target', spec, create, stdin, options);
  return { ...result, stateValues: result.output };
}

/** Reads a `.singer` fixture: one message per line. */
export async function readSingerFile(path: string): Promise<string> {
  return readFile(path, 'utf8');
}

/** Serialises messages as a Singer stream (JSONL). */
export function toSingerLines(messages: object[]): string {
  return messages.map((message) => JSON.stringify(message)).join('\n') + '\n';
}
