import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';

import { pick, random } from '@singer-ts/devkit/testing';
import type { Client } from 'pg';

import { BIN, connect, select, uniqueSchema, writeConfig } from './helpers';

/**
 * Several target-postgres processes loading one table at once, as units of work of one table
 * run side by side: overlapping keys, one loader adding a column, one widening a column (an
 * integer beyond bigint), all racing to create the schema and the table, one killed with
 * SIGKILL after its first commit and re-run from its last printed state. Every record of a key
 * is the same in every loader, so the table must equal the union of the inputs, whatever the
 * order of commits. Seeded: SEED=<n> replays a round.
 */

const ROUNDS = Number(process.env.CONCURRENT_ROUNDS ?? 4);
const FIRST_SEED = Number(process.env.SEED ?? 20261206);
const LOADERS = 4;
const HUGE = 10n ** 20n;

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});


const BASE_PROPERTIES = { id: { type: 'integer' }, amount: { type: ['null', 'integer'] }, name: { type: ['null', 'string'] } };

/** The one record every loader sends for `id`: the same everywhere, so commit order cannot matter. */
function recordLine(id: number, withExtra: boolean): string {
  // Every 37th key holds an integer beyond bigint: whoever loads it first widens the column.
  const amount = id % 37 === 5 ? `${HUGE + BigInt(id)}` : String(id * 1000);
  const extra = withExtra ? `,"extra":"x${id}"` : '';
  return `{"type":"RECORD","stream":"events","record":{"id":${id},"amount":${amount},"name":"n${id}"${extra}}}`;
}

interface LoaderInput {
  /** Input lines; `states[i]` is the index of the line of the i-th STATE. */
  lines: string[];
  /** SCHEMA lines, which a re-run sends again before the rest. */
  schemaLines: string[];
  keys: number[];
  withExtra: boolean;
}

function loaderInput(next: () => number, loader: number): LoaderInput {
  const withExtra = loader === 2;
  const drawn = Array.from({ length: 60 + Math.floor(next() * 120) }, () => Math.floor(next() * 300));
  // Loader 3 always has a key beyond bigint, so the column always widens during the round.
  const keys = [...new Set(loader === 3 ? [...drawn, 42] : drawn)];
  const schemaLines = [JSON.stringify({ type: 'SCHEMA', stream: 'events', schema: { type: 'object', properties: BASE_PROPERTIES }, key_properties: ['id'] })];
  const lines = [...schemaLines];
  keys.forEach((id, index) => {
    if (withExtra && index === Math.floor(keys.length / 2)) {
      // A later SCHEMA of this loader adds a column the others never send.
      const widened = { ...BASE_PROPERTIES, extra: { type: ['null', 'string'] } };
      const line = JSON.stringify({ type: 'SCHEMA', stream: 'events', schema: { type: 'object', properties: widened }, key_properties: ['id'] });
      lines.push(line);
      schemaLines.push(line);
    }
    lines.push(recordLine(id, withExtra && index >= Math.floor(keys.length / 2)));
    if (next() < 0.08) lines.push(JSON.stringify({ type: 'STATE', value: { loader, at: index } }));
  });
  lines.push(JSON.stringify({ type: 'STATE', value: { loader, at: 'end' } }));
  return { lines, schemaLines, keys, withExtra };
}

interface Outcome {
  code: number | null;
  states: string[];
  stderr: string;
}

/** Runs one loader; with `killAfterFirstState`, SIGKILLs it once it has printed a state. */
async function load(input: string[], config: string, killAfterFirstState = false): Promise<Outcome> {
  const child: ChildProcess = spawn(process.execPath, [BIN, '-c', config], { stdio: ['pipe', 'pipe', 'pipe'] });
  const states: string[] = [];
  let stderr = '';
  let buffered = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) >= 0) {
      states.push(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
      if (killAfterFirstState) child.kill('SIGKILL');
    }
  });
  child.stdin?.on('error', () => undefined);
  const closed = once(child, 'close') as Promise<[number | null]>;
  // Written in one go: the pipe's backpressure paces the target, and a kill ends the write.
  child.stdin?.end(`${input.join('\n')}\n`);
  const [code] = await closed;
  return { code, states, stderr };
}

/** The lines a re-run from the last printed state sends: the SCHEMAs, then what came after that STATE. */
function remainder(input: LoaderInput, states: string[]): string[] {
  const last = states.at(-1);
  if (last === undefined) return input.lines;
  const at = input.lines.findIndex((line) => line.includes('"STATE"') && JSON.stringify((JSON.parse(line) as { value: unknown }).value) === last);
  return [...input.schemaLines, ...input.lines.slice(at + 1)];
}

/** Loads until the loader's input is all committed: deadlocks and the kill are re-run from the last state. */
async function loadToEnd(input: LoaderInput, config: string, kill: boolean): Promise<number> {
  let lines = input.lines;
  let states: string[] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const outcome = await load(lines, config, kill && attempt === 0);
    states = [...states, ...outcome.states];
    if (outcome.code === 0) return attempt;
    if (!(kill && attempt === 0)) {
      // Only a concurrency failure may end a run, and it must say to re-run from the last state.
      expect(outcome.stderr).toMatch(/re-run from that state.*\[PG_CONCURRENT_UPDATE\]/);
    }
    lines = remainder(input, states);
  }
  throw new Error('a loader did not finish in 5 attempts');
}

describe('concurrent target-postgres loaders on one table', () => {
  for (let round = 0; round < ROUNDS; round++) {
    const seed = FIRST_SEED + round;
    it(`leaves exactly the union of the inputs (seed ${seed})`, async () => {
      const next = random(seed);
      const schema = uniqueSchema('concurrent');
      const inputs = Array.from({ length: LOADERS }, (_, loader) => loaderInput(next, loader));
      const killed = Math.floor(next() * LOADERS);
      const configs = inputs.map(() =>
        writeConfig({ default_target_schema: schema, batch_size_rows: pick(next, [3, 10, 25, 1000]) }),
      );
      await Promise.all(inputs.map((input, loader) => loadToEnd(input, configs[loader] as string, loader === killed)));

      const expected = new Map<number, { amount: string; extra: string | null }>();
      for (const input of inputs) {
        const extraFrom = input.withExtra ? Math.floor(input.keys.length / 2) : Infinity;
        input.keys.forEach((id, index) => {
          const amount = id % 37 === 5 ? `${HUGE + BigInt(id)}` : String(id * 1000);
          const previous = expected.get(id);
          expected.set(id, { amount, extra: index >= extraFrom ? `x${id}` : (previous?.extra ?? null) });
        });
      }
      const rows = await select(client, `SELECT id, amount, name, extra FROM "${schema}".events ORDER BY id`);
      expect(rows).toEqual(
        [...expected.keys()].sort((a, b) => a - b).map((id) => ({ id: String(id), amount: expected.get(id)?.amount, name: `n${id}`, extra: expected.get(id)?.extra })),
      );
      const types = await select(
        client,
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'amount'`,
        [`"${schema}".events`],
      );
      expect(types).toEqual([{ type: 'numeric' }]);
    });
  }
});
