import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Client } from 'pg';

import { type PipelineRun, runPipeline as runShared } from './support/pipes';

const SCALE = '0.01';
const TABLES = ['customers', 'order_items', 'orders', 'products'];

/** Runs `npm start`'s runner on the sample at this test's scale. */
const runPipeline = (dataDir: string, schema: string, bucket: string, extra: string[] = []): Promise<PipelineRun> =>
  runShared(SCALE, dataDir, schema, bucket, extra);

describe('npm start -- --parallel N: the units of both stages as concurrent pairs', () => {
  const run = process.pid;
  const sequential = { schema: `parallel_seq_${run}`, bucket: `parallel-seq-${run}` };
  const parallel = { schema: `parallel_par_${run}`, bucket: `parallel-par-${run}` };
  let parallelDir: string;
  let client: Client;

  beforeAll(async () => {
    parallelDir = await mkdtemp(join(tmpdir(), 'pipeline-parallel-'));
    client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
  });

  afterAll(async () => {
    await client.query(`DROP SCHEMA IF EXISTS "${sequential.schema}" CASCADE; DROP SCHEMA IF EXISTS "${parallel.schema}" CASCADE`);
    await client.end();
  });

  /** The table's columns the data defines (the `_sdc_` ones name the bucket and the run). */
  async function dataColumns(schema: string, table: string): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name NOT LIKE '\\_sdc\\_%' ORDER BY column_name",
      [schema, table],
    );
    return rows.map((r) => r.name);
  }

  it('loads exactly the tables the sequential run loads, with a line per unit and the summary per table', async () => {
    const one = await runPipeline(await mkdtemp(join(tmpdir(), 'pipeline-sequential-')), sequential.schema, sequential.bucket);
    expect(one.stderr).not.toMatch(/^ERROR/m);
    expect(one.code).toBe(0);
    const many = await runPipeline(parallelDir, parallel.schema, parallel.bucket, ['--parallel', '4']);
    expect(many.stderr).not.toMatch(/^ERROR/m);
    expect(many.code).toBe(0);

    expect(many.stderr).toMatch(/^stage 1\/2: tap-kaggle \| processor, 4 units, 4 at a time$/m);
    expect(many.stderr).toMatch(/^stage 2\/2: tap-minio-csv \| target-postgres, 4 units, 4 at a time$/m);
    for (const table of TABLES) {
      expect(many.stderr).toMatch(new RegExp(`^  stage 1 · unit [1-4]/4 olist_${table}_dataset\\.csv \\(${table}\\): \\d+ records in`, 'm'));
      expect(many.stderr).toMatch(new RegExp(`^  stage 2 · unit [1-4]/4 ${table}: \\d+ records in`, 'm'));
    }
    expect(many.stdout).toMatch(/units: 4 in stage 1, 4 in stage 2, up to 4 pairs at a time/);

    for (const table of TABLES) {
      const columns = await dataColumns(sequential.schema, table);
      expect(await dataColumns(parallel.schema, table)).toEqual(columns);
      const list = columns.map((c) => `"${c}"`).join(', ');
      const a = `SELECT ${list} FROM "${sequential.schema}"."${table}"`;
      const b = `SELECT ${list} FROM "${parallel.schema}"."${table}"`;
      const { rows } = await client.query<{ missing: string; unexpected: string; n: string }>(
        `SELECT (SELECT count(*) FROM (${a} EXCEPT ALL ${b}) m) AS missing, (SELECT count(*) FROM (${b} EXCEPT ALL ${a}) u) AS unexpected, (SELECT count(*) FROM (${b}) n) AS n`,
      );
      const n = Number(rows[0]!.n);
      expect({ table, missing: Number(rows[0]!.missing), unexpected: Number(rows[0]!.unexpected) }).toEqual({ table, missing: 0, unexpected: 0 });
      expect(n).toBeGreaterThan(100);
      expect(one.stdout).toMatch(new RegExp(`${table}\\s+${n} · ${n}\\b`));
      expect(many.stdout).toMatch(new RegExp(`${table}\\s+${n} · ${n}\\b`));
    }

    // One state per unit, in Meltano's layout, in the data folder's state/.
    for (const table of TABLES) {
      const record = JSON.parse(await readFile(join(parallelDir, 'state', `olist:stage2:${table}`, 'state.json'), 'utf8')) as {
        completed: { singer_state: { bookmarks: Record<string, unknown> } };
        partial: unknown;
      };
      expect(Object.keys(record.completed.singer_state.bookmarks)).toContain(table);
      expect(record.partial).toEqual({});
      await readFile(join(parallelDir, 'state', `olist:stage1:olist_${table}_dataset.csv`, 'state.json'), 'utf8');
    }
  });

  it('reads and loads nothing on a second run with nothing new', async () => {
    const again = await runPipeline(parallelDir, parallel.schema, parallel.bucket, ['--parallel', '4']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/nothing changed since the last run/);
    for (const table of TABLES) expect(again.stdout).toMatch(new RegExp(`${table}\\s+\\d+ · 0\\b`));
  });

  it('takes --state-backend only with --parallel, and says why', async () => {
    const refused = await runPipeline(parallelDir, parallel.schema, parallel.bucket, ['--state-backend', 'file:///tmp/x']);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n').at(-1)).toBe(
      'ERROR stage options: --state-backend keeps one state per unit: use it with --parallel N (--parallel 1 runs the units one at a time)',
    );
  });
});
