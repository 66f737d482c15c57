import type { Client } from 'pg';

import { connect, databaseUrl, select, uniqueSchema } from './helpers';
import { numericText, sourceRow, spawnTarget } from './source-stream';

const TOTAL = 60_000;
const STATE_EVERY = 1_500;

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

/** Kills the target with SIGKILL after it printed `afterStates` states (plus a short, varying delay). */
async function runAndKill(config: Record<string, unknown>, keys: string[], from: number, afterStates: number, delayMs: number): Promise<number> {
  const run = spawnTarget(config, { stream: 'crash', keys, from, to: TOTAL, stateEvery: STATE_EVERY, chunk: 300, pauseMs: 2 });
  await run.statesSeen(afterStates);
  await new Promise((resolve) => setTimeout(resolve, delayMs));
  run.child.kill('SIGKILL');
  const { signal } = await run.exited;
  expect(signal).toBe('SIGKILL');
  const last = run.states.at(-1);
  return last ? last.bookmarks.crash?.next ?? from : from;
}

async function expectTableEqualsSource(schema: string): Promise<void> {
  const rows = await select(client, `SELECT id, name, amount::text AS amount, ts FROM "${schema}".crash ORDER BY id`);
  expect(rows).toHaveLength(TOTAL);
  for (let i = 0; i < TOTAL; i++) {
    const expected = sourceRow(i);
    const row = rows[i];
    if (
      row?.id !== expected.id ||
      row.name !== expected.name ||
      row.amount !== numericText(expected.amount) ||
      new Date(row.ts as string).toISOString() !== expected.ts
    ) {
      expect(row).toEqual({ ...expected, amount: numericText(expected.amount) });
    }
  }
}

describe.each([
  ['with key properties (upsert)', ['id']],
  ['without key properties (append-only)', []],
])('crash safety %s', (_label, keys) => {
  it('re-running from the last printed state after kill -9 at several points leaves the table equal to the source', async () => {
    const schema = uniqueSchema(keys.length > 0 ? 'crashkeys' : 'crashappend');
    const config = { connection_string: databaseUrl(), default_target_schema: schema, batch_size_rows: 700 };
    let next = 0;
    const kills: [states: number, delayMs: number][] = [
      [1, 0],
      [3, 7],
      [2, 23],
      [4, 3],
    ];
    const resumePoints: number[] = [];
    for (const [states, delay] of kills) {
      next = await runAndKill(config, keys, next, states, delay);
      resumePoints.push(next);
    }
    // The kills really happened mid-stream: each run got further, none reached the end.
    expect(resumePoints[resumePoints.length - 1]).toBeLessThan(TOTAL);
    expect(resumePoints[resumePoints.length - 1]).toBeGreaterThan(0);
    const committed = await select(client, `SELECT count(*) AS n FROM "${schema}".crash`);
    // The database stands exactly at the last printed state.
    expect(committed).toEqual([{ n: String(next) }]);

    const final = spawnTarget(config, { stream: 'crash', keys, from: next, to: TOTAL, stateEvery: STATE_EVERY });
    const { code } = await final.exited;
    expect(final.stderr()).not.toMatch(/ERROR/);
    expect(code).toBe(0);
    expect(final.states.at(-1)).toEqual({ bookmarks: { crash: { next: TOTAL } } });
    await expectTableEqualsSource(schema);
  });
});
