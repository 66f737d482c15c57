import type { Client } from 'pg';

import { columnTypes, select } from '../integration/helpers';
import { type Cell, type DatabaseModel, SDC_SEQUENCE, SET_BY_TARGET, type TableModel } from './target-model';

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Differences beyond this many rows are summarised. */
const SHOWN = 4;

/**
 * How PostgreSQL's schema differs from the model: tables, column types, primary keys, every
 * row (as a multiset of exact text values) and, where asked, the order of `_sdc_sequence`.
 * An empty list means equal.
 */
export async function databaseDifferences(
  client: Client,
  schema: string,
  model: DatabaseModel,
  options: { sequenceOrder: boolean },
): Promise<string[]> {
  const found = await select(
    client,
    `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
  const actual = new Set(found.map((row) => row.relname as string));
  const differences: string[] = [];
  for (const name of actual) if (!model.tables.has(name)) differences.push(`table ${quoteIdent(name)} exists, but no committed SCHEMA made it`);
  for (const [name, table] of model.tables) {
    if (!actual.has(name)) {
      differences.push(`table ${quoteIdent(name)} is missing`);
      continue;
    }
    differences.push(...(await tableDifferences(client, schema, name, table, options)).map((d) => `table ${quoteIdent(name)}: ${d}`));
  }
  return differences;
}

async function tableDifferences(
  client: Client,
  schema: string,
  name: string,
  table: TableModel,
  options: { sequenceOrder: boolean },
): Promise<string[]> {
  const qualified = `${quoteIdent(schema)}.${quoteIdent(name)}`;
  const differences: string[] = [];
  const types = await columnTypes(client, schema, name);
  for (const [column, { type }] of table.columns) {
    if (types[column] === undefined) differences.push(`column ${quoteIdent(column)} is missing`);
    else if (types[column] !== type) differences.push(`column ${quoteIdent(column)} is ${types[column]}, expected ${type}`);
  }
  if (differences.length > 0) return differences;

  const keyRows = await select(
    client,
    `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
      WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY a.attname COLLATE "C"`,
    [qualified],
  );
  const primaryKey = keyRows.map((row) => row.attname as string);
  const expectedKey = [...(table.primaryKey ?? [])].sort();
  if (primaryKey.join(',') !== expectedKey.join(',')) {
    differences.push(
      `primary key is (${primaryKey.join(', ') || 'none'}), expected (${expectedKey.join(', ') || 'none'})`,
    );
  }

  const columns = [...table.columns.keys()];
  const rows = await select(client, `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${qualified}`);
  const written = writtenValues(table);
  const canonical = (cells: (column: string) => Cell): string =>
    JSON.stringify(Object.fromEntries(columns.map((column) => [column, cells(column)])));
  const actualRows = rows.map((row) =>
    canonical((column) => {
      const value = row[column] ?? null;
      const setByTarget = table.columns.get(column)?.setByTarget === true;
      return setByTarget && value !== null && !written.get(column)?.has(value) ? SET_BY_TARGET : value;
    }),
  );
  const expectedRows = table.rows.map((row) => canonical((column) => row.cells.get(column) ?? null));
  const missing = multisetMinus(expectedRows, actualRows);
  const extra = multisetMinus(actualRows, expectedRows);
  if (missing.length > 0 || extra.length > 0) {
    differences.push(
      `${rows.length} rows, expected ${table.rows.length}; ` +
        `missing ${missing.length}${listed(missing)}; unexpected ${extra.length}${listed(extra)}`,
    );
  }

  if (options.sequenceOrder && table.primaryKey && table.columns.has(SDC_SEQUENCE) && differences.length === 0) {
    const keys = table.primaryKey;
    const bySequence = await select(
      client,
      `SELECT ${keys.map(quoteIdent).join(', ')}, ${quoteIdent(SDC_SEQUENCE)} AS "sequence "
         FROM ${qualified} ORDER BY ${quoteIdent(SDC_SEQUENCE)}`,
    );
    const keyOf = (cells: (column: string) => Cell): string => keys.map((key) => cells(key)).join('|');
    const sequences = bySequence.map((row) => row['sequence '] ?? '');
    const repeated = sequences.find((sequence, i) => i > 0 && sequence === sequences[i - 1]);
    if (repeated !== undefined) differences.push(`two rows have ${SDC_SEQUENCE} ${repeated}`);
    const actualOrder = bySequence.map((row) => keyOf((key) => row[key] ?? null));
    const expectedOrder = [...table.rows].sort((a, b) => a.written - b.written).map((row) => keyOf((key) => row.cells.get(key) ?? null));
    if (actualOrder.join('\n') !== expectedOrder.join('\n')) {
      differences.push(
        `rows by ${SDC_SEQUENCE} are keyed [${actualOrder.join(', ')}], but were written in the order [${expectedOrder.join(', ')}]`,
      );
    }
  }
  return differences;
}

/** Values the model wrote into each column, so a target-made value is told from a written one. */
function writtenValues(table: TableModel): Map<string, Set<string>> {
  const values = new Map<string, Set<string>>();
  for (const row of table.rows) {
    for (const [column, cell] of row.cells) {
      if (cell === null || cell === SET_BY_TARGET) continue;
      let set = values.get(column);
      if (!set) values.set(column, (set = new Set()));
      set.add(cell);
    }
  }
  return values;
}

function multisetMinus(from: string[], remove: string[]): string[] {
  const counts = new Map<string, number>();
  for (const item of remove) counts.set(item, (counts.get(item) ?? 0) + 1);
  const left: string[] = [];
  for (const item of from) {
    const n = counts.get(item) ?? 0;
    if (n > 0) counts.set(item, n - 1);
    else left.push(item);
  }
  return left.sort();
}

function listed(rows: string[]): string {
  if (rows.length === 0) return '';
  const shown = rows.slice(0, SHOWN).join(' ');
  return ` ${shown}${rows.length > SHOWN ? ` … (${rows.length - SHOWN} more)` : ''}`;
}
