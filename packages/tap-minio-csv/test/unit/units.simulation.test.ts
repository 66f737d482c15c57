/**
 * Generated runs of the whole tap over an in-memory store: objects arrive between and during
 * syncs, units fail halfway, and the split changes now and then (through `--merge-states`).
 * Whatever happens, every row is read exactly once: the rows a target would have committed
 * (those before each run's last STATE) never repeat, and once the writes stop and every unit
 * has run again, every row of every object has been read.
 */
import { pick, random } from '@singer-ts/devkit/testing';
import type { TapRunResult } from '@singer-ts/singer/testing';

import { MemoryObjectStore, mergeStates, runOnStore } from '../support/memory-store';

const SPLITS = ['whole', 'none', 'prefix:1', 'prefix:2', 'prefix:3', 'hash:1', 'hash:3', 'hash:5'] as const;
type Mode = (typeof SPLITS)[number];

const TABLE = { table_name: 't', search_prefix: 't/', search_pattern: '\\.csv$' };
const CATALOG_FREE_CONFIG = { tables: [TABLE] };

/** The rows a target would have committed: every RECORD before the run's last STATE. */
function committedRows(result: TapRunResult): string[] {
  const rows: string[] = [];
  let pending: string[] = [];
  for (const message of result.messages) {
    if (message.type === 'RECORD') pending.push(`${String(message.record._sdc_source_file)}#${String(message.record._sdc_source_lineno)}`);
    if (message.type === 'STATE') {
      rows.push(...pending);
      pending = [];
    }
  }
  return rows;
}

function lastState(result: TapRunResult): unknown {
  return result.states[result.states.length - 1]?.value;
}

async function simulate(seed: number): Promise<void> {
  const next = random(seed);
  const store = new MemoryObjectStore(new Date('2024-05-01T00:00:00Z'));
  const expected: string[] = [];
  const read = new Map<string, number>();
  let counter = 0;
  const putRandom = (): void => {
    counter += 1;
    const levels = Array.from({ length: pick(next, [0, 1, 2, 3, 3, 3]) }, (_, i) => pick(next, [['2017', '2018'], ['01', '10'], ['02', '03']][i]!));
    const key = `t/${levels.map((level) => `${level}/`).join('')}f${counter}.csv`;
    const rows = 1 + Math.floor(next() * 3);
    let body = 'id,n\n';
    for (let row = 1; row <= rows; row += 1) {
      body += `${counter},${row}\n`;
      expected.push(`${key}#${row + 1}`);
    }
    store.put(key, body);
    // Several objects often share a second, as they do in S3.
    if (next() < 0.4) store.tick();
  };
  const record = (rows: string[], context: string): void => {
    for (const row of rows) {
      const times = (read.get(row) ?? 0) + 1;
      if (times > 1) throw new Error(`seed ${seed}: ${row} read twice (${context})`);
      read.set(row, times);
    }
  };

  let mode: Mode = pick(next, SPLITS);
  let wholeState: unknown = undefined;
  let unitStates = new Map<string, unknown>();
  /** What a unit without a state of its own starts from: the state merged at the last change. */
  let base: unknown = undefined;

  const configFor = (m: Mode): Record<string, unknown> =>
    m === 'whole' ? CATALOG_FREE_CONFIG : { ...CATALOG_FREE_CONFIG, unit_split: m };

  /** One run of the tap (`args` name the unit), maybe failing or with an object written halfway. */
  const runOne = async (args: string[], state: unknown, chaos: boolean, context: string): Promise<unknown> => {
    store.tick();
    const failAt = chaos && next() < 0.25 ? Math.floor(next() * 3) : -1;
    const writeAt = chaos && next() < 0.25 ? Math.floor(next() * 3) : -1;
    let reads = 0;
    store.beforeRead = () => {
      const n = reads;
      reads += 1;
      if (n === writeAt) putRandom();
      if (n === failAt) throw new Error('the network went away');
    };
    let remaining: number | undefined;
    if (!chaos && next() < 0.5) {
      const count = await runOnStore(store, configFor(mode), { args: ['--list-units', ...args], state });
      expect(count.exitCode).toBe(0);
      remaining = (count.output as { objects: number }[]).reduce((sum, line) => sum + line.objects, 0);
    }
    const result = await runOnStore(store, configFor(mode), { args, state });
    store.beforeRead = undefined;
    const failed = failAt >= 0 && failAt < reads;
    expect({ context, code: result.exitCode, logs: failed ? '' : result.logs }).toEqual({ context, code: failed ? 1 : 0, logs: '' });
    const rows = committedRows(result);
    record(rows, context);
    if (remaining !== undefined) expect(new Set(rows.map((row) => row.split('#')[0])).size).toBe(remaining);
    return lastState(result) ?? state;
  };

  const runRound = async (chaos: boolean, round: number): Promise<void> => {
    if (mode === 'whole') {
      wholeState = await runOne([], wholeState, chaos, `round ${round}, whole`);
      return;
    }
    const listing = await runOnStore(store, configFor(mode), { args: ['--list-units'] });
    expect(listing.exitCode).toBe(0);
    for (const line of listing.output as { unit: string }[]) {
      const state = await runOne(['--unit', line.unit], unitStates.get(line.unit) ?? base, chaos, `round ${round}, unit ${line.unit} of ${mode}`);
      if (state !== undefined) unitStates.set(line.unit, state);
    }
  };

  for (let round = 0; round < 7; round += 1) {
    const arrivals = Math.floor(next() * 7);
    for (let i = 0; i < arrivals; i += 1) putRandom();
    if (round > 0 && next() < 0.35) {
      const to = pick(next, SPLITS);
      if (to !== mode) {
        if (mode === 'whole') {
          base = wholeState;
        } else {
          const merged = await mergeStates([...unitStates.values()]);
          expect({ code: merged.exitCode, logs: merged.logs }).toEqual({ code: 0, logs: "" });
          base = merged.output[0];
        }
        if (to === 'whole') wholeState = base;
        unitStates = new Map();
        mode = to;
      }
    }
    await runRound(true, round);
  }
  // Writes stop; every unit runs until nothing is left (objects written during the last
  // round are read by the next one).
  await runRound(false, 98);
  await runRound(false, 99);
  const missing = expected.filter((row) => !read.has(row));
  expect({ seed, missing }).toEqual({ seed, missing: [] });
  expect(read.size).toBe(expected.length);
}

describe('units of work, generated', () => {
  const seeds = Array.from({ length: 12 }, (_, i) => 7919 * (i + 1));
  it.each(seeds)('reads every row exactly once across splits, failures and concurrent writes (seed %i)', async (seed) => {
    await simulate(seed);
  });
});
