import type { Client } from 'pg';

import { connect, databaseUrl, select, uniqueSchema } from './helpers';
import { spawnTarget } from './source-stream';

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

describe('losing the connection', () => {
  it('exits non-zero with one clear line and leaves the database exactly as of the last printed state', async () => {
    const schema = uniqueSchema('lost');
    const application = `${schema}_app`;
    const url = new URL(databaseUrl());
    url.searchParams.set('application_name', application);
    const run = spawnTarget(
      { connection_string: url.toString(), default_target_schema: schema, batch_size_rows: 500 },
      { stream: 'lost', keys: ['id'], from: 0, to: 200_000, stateEvery: 1_000, chunk: 200, pauseMs: 3 },
    );
    await run.statesSeen(3);
    const terminated = await select(client, 'SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1', [
      application,
    ]);
    expect(terminated).toEqual([{ ok: 't' }]);
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();

    const stderr = run.stderr();
    const errors = stderr.split('\n').filter((line) => line.startsWith('ERROR'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/lost the connection to PostgreSQL.*re-run from that state.*\[PG_CONNECTION_LOST\]/);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stderr).not.toContain(decodeURIComponent(url.password));

    const last = run.states.at(-1) as { bookmarks: { lost: { next: number } } };
    const rows = await select(client, `SELECT count(*) AS n, min(id) AS lo, max(id) AS hi FROM "${schema}".lost`);
    expect(rows).toEqual([{ n: String(last.bookmarks.lost.next), lo: '0', hi: String(last.bookmarks.lost.next - 1) }]);
  });
});
