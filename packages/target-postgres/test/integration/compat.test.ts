import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { isLosslessNumber, parseExactJson } from '@singer-ts/singer';
import type { Client } from 'pg';

import { columnTypes, connect, errorLines, FIXTURES, runTarget, select, uniqueSchema } from './helpers';

/**
 * Streams shaped the way widely used taps write them (tap-postgres, tap-mysql, singer-python,
 * the Meltano SDK), each in `test/fixtures/compat/<name>.singer` with the tables the target must
 * leave behind in `<name>.expected.json`. Every fixture is loaded into a schema of its own, then
 * loaded again: a re-run of the same input must leave exactly the same tables. A scenario that
 * needs an earlier tap run (a key that changed since, a row the new table version drops) has it
 * in `<name>.earlier-run.singer`, loaded first.
 */
const COMPAT = join(FIXTURES, 'compat');
const EARLIER_RUN = '.earlier-run.singer';

/** A value the target sets itself (a load time): only whether it is set can be expected. */
interface SetByTarget {
  set: boolean;
}

type ExpectedValue = string | null | SetByTarget;

interface ExpectedTable {
  /** Column name → `format_type`. */
  columns: Record<string, string>;
  /** The primary key's columns in order; empty for none. */
  primary_key: string[];
  /** Every row, ordered by the primary key (or by every column), values as PostgreSQL's text. */
  rows: Record<string, ExpectedValue>[];
}

interface Expected {
  scenario: string;
  based_on: { repo: string; path: string; note?: string }[];
  /** Target config beyond the connection and `default_target_schema`. */
  config?: Record<string, unknown>;
  /** The state values the target prints, in order. */
  state_values: unknown[];
  /** Warning lines each run must print: `count` lines match `pattern`. */
  warnings?: { pattern: string; count: number }[];
  /** Every table of the schema, by name. */
  tables: Record<string, ExpectedTable>;
}

const scenarios = readdirSync(COMPAT)
  .filter((file) => file.endsWith('.singer') && !file.endsWith(EARLIER_RUN))
  .map((file) => file.slice(0, -'.singer'.length))
  .sort();

function load(name: string): { input: string; earlierRun?: string; expected: Expected } {
  const earlier = join(COMPAT, `${name}${EARLIER_RUN}`);
  return {
    input: readFileSync(join(COMPAT, `${name}.singer`), 'utf8'),
    earlierRun: existsSync(earlier) ? readFileSync(earlier, 'utf8') : undefined,
    expected: parseExactJson(readFileSync(join(COMPAT, `${name}.expected.json`), 'utf8')) as Expected,
  };
}

/** State values with exact numbers made comparable (`LosslessNumber` → its digits). */
function comparable(value: unknown): unknown {
  if (isLosslessNumber(value)) return { exactNumber: value.toString() };
  if (Array.isArray(value)) return value.map(comparable);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, comparable(item)]));
  }
  return value;
}

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

async function tablesOf(schema: string): Promise<string[]> {
  const rows = await select(
    client,
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
  return rows.map((row) => row.relname as string);
}

async function primaryKey(schema: string, table: string): Promise<string[]> {
  const rows = await select(
    client,
    `SELECT a.attname FROM pg_index i
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary
      ORDER BY array_position(i.indkey::int2[], a.attnum)`,
    [`${quote(schema)}.${quote(table)}`],
  );
  return rows.map((row) => row.attname as string);
}

/** The table's rows as text; numeric values without trailing zeros, so the value is compared, not its scale. */
async function rowsOf(schema: string, table: string, expected: ExpectedTable): Promise<Record<string, ExpectedValue>[]> {
  const columns = Object.keys(expected.columns);
  const list = columns
    .map((column) => (expected.columns[column] === 'numeric' ? `trim_scale(${quote(column)}) AS ${quote(column)}` : quote(column)))
    .join(', ');
  const order = (expected.primary_key.length > 0 ? expected.primary_key : columns).map(quote).join(', ');
  const rows: Record<string, ExpectedValue>[] = await select(
    client,
    `SELECT ${list} FROM ${quote(schema)}.${quote(table)} ORDER BY ${order}`,
  );
  // A value the target sets at load time is compared as set or not.
  return rows.map((row, index) => {
    const wanted = expected.rows[index];
    const out: Record<string, ExpectedValue> = { ...row };
    for (const [column, value] of Object.entries(wanted ?? {})) {
      if (typeof value === 'object' && value !== null) out[column] = { set: row[column] !== null };
    }
    return out;
  });
}

async function expectTables(schema: string, expected: Expected): Promise<void> {
  expect(await tablesOf(schema)).toEqual(Object.keys(expected.tables).sort());
  for (const [table, wanted] of Object.entries(expected.tables)) {
    expect({ table, columns: await columnTypes(client, schema, table) }).toEqual({ table, columns: wanted.columns });
    expect({ table, primaryKey: await primaryKey(schema, table) }).toEqual({ table, primaryKey: wanted.primary_key });
    expect({ table, rows: await rowsOf(schema, table, wanted) }).toEqual({ table, rows: wanted.rows });
  }
}

/** Loads the scenario's earlier tap run, when it has one: it must load without an error. */
async function loadEarlierRun(name: string, schema: string): Promise<void> {
  const { earlierRun, expected } = load(name);
  if (earlierRun === undefined) return;
  const result = await runTarget(earlierRun, { ...expected.config, default_target_schema: schema });
  expect({ earlierRun: errorLines(result.logs) }).toEqual({ earlierRun: [] });
  expect(result.exitCode).toBe(0);
}

async function loadOnce(name: string, schema: string): Promise<void> {
  const { input, expected } = load(name);
  const result = await runTarget(input, { ...expected.config, default_target_schema: schema });
  expect(errorLines(result.logs)).toEqual([]);
  expect(result.exitCode).toBe(0);
  expect(comparable(result.stateValues)).toEqual(comparable(expected.state_values));
  const warnings = result.logs.split('\n').filter((line) => line.startsWith('WARNING'));
  for (const { pattern, count } of expected.warnings ?? []) {
    const matching = warnings.filter((line) => new RegExp(pattern).test(line));
    expect({ pattern, matching: matching.length }).toEqual({ pattern, matching: count });
  }
}

describe('target-postgres with streams shaped like widely used taps', () => {
  it('has an expected result for every compat fixture', () => {
    const files = readdirSync(COMPAT);
    const sidecars = files.filter((file) => file.endsWith('.expected.json'));
    expect(sidecars.map((file) => file.slice(0, -'.expected.json'.length)).sort()).toEqual(scenarios);
    const earlier = files.filter((file) => file.endsWith(EARLIER_RUN)).map((file) => file.slice(0, -EARLIER_RUN.length));
    expect(earlier.filter((name) => !scenarios.includes(name))).toEqual([]);
  });

  describe.each(scenarios)('%s', (name) => {
    it('loads the stream into exactly the expected tables and prints the expected states', async () => {
      const schema = uniqueSchema('compat');
      await loadEarlierRun(name, schema);
      await loadOnce(name, schema);
      await expectTables(schema, load(name).expected);
    });

    it('leaves the same tables, without duplicates, when the same input is loaded again', async () => {
      const schema = uniqueSchema('compat_rerun');
      await loadEarlierRun(name, schema);
      await loadOnce(name, schema);
      await loadOnce(name, schema);
      await expectTables(schema, load(name).expected);
    });
  });
});
