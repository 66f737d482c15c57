import { LoadError, type Logger, SingerError } from '@singer-ts/singer';

import { qualifiedName, quoteIdent } from './identifiers';
import type { Queryable } from './pg-session';
import { latticeTypeOf, type PgType, SQL_TYPE, widenType, widenUsing } from './type-mapping';

/** A column the stream needs. */
export interface ColumnSpec {
  /** The column name (already through `safeIdentifier`). */
  readonly column: string;
  readonly type: PgType;
}

export interface TableSpec {
  /** The stream the table is for, for errors. */
  readonly stream: string;
  readonly schema: string;
  readonly table: string;
  readonly columns: readonly ColumnSpec[];
  /** Columns that identify a row (already through `safeIdentifier`). */
  readonly keyColumns: readonly string[];
  /** Whether the key must be enforced (upsert needs it for ON CONFLICT; append-only creates none). */
  readonly enforceKey: boolean;
}

/** A column as it exists in the database. */
export interface ExistingColumn {
  /** `format_type()`: `bigint`, `numeric(10,2)`, `timestamp with time zone`, ... */
  readonly formatted: string;
  /** Its place in the widening lattice; `undefined` for a type this target did not create. */
  readonly lattice: PgType | undefined;
  readonly notNull: boolean;
}

export interface TableState {
  readonly columns: ReadonlyMap<string, ExistingColumn>;
  /** Column sets of the primary key and every plain unique index. */
  readonly uniqueKeys: readonly (readonly string[])[];
  readonly primaryKey: readonly string[] | undefined;
}

/** Whether two column lists hold the same columns, in any order. */
function sameColumns(columns: readonly string[], wanted: readonly string[]): boolean {
  return columns.length === wanted.length && wanted.every((column) => columns.includes(column));
}

/**
 * The ALTER TABLE clauses that make `existing` fit the spec: new columns, widened types, and
 * columns the stream no longer sends made nullable. Pure.
 */
export function columnChanges(existing: TableState, spec: TableSpec): string[] {
  const changes: string[] = [];
  const wanted = new Set<string>();
  for (const { column: name, type } of spec.columns) {
    wanted.add(name);
    const column = existing.columns.get(name);
    const quoted = quoteIdent(name);
    if (!column) {
      changes.push(`ADD COLUMN ${quoted} ${SQL_TYPE[type]}`);
      continue;
    }
    // A type this target did not create is the user's choice: PostgreSQL casts into it.
    if (column.lattice === undefined) continue;
    const widened = widenType(column.lattice, type);
    if (widened !== column.lattice) changes.push(`ALTER COLUMN ${quoted} TYPE ${SQL_TYPE[widened]} USING ${widenUsing(quoted, widened)}`);
  }
  const primary = new Set(existing.primaryKey ?? []);
  for (const [column, info] of existing.columns) {
    if (!wanted.has(column) && info.notNull && !primary.has(column)) changes.push(`ALTER COLUMN ${quoteIdent(column)} DROP NOT NULL`);
  }
  return changes;
}

/**
 * Takes the transaction-level advisory lock that every loader of this project takes before it
 * changes `schema.table` (or, with an empty table, creates `schema`): concurrent loaders then
 * change a table one at a time, each after the other's commit.
 */
async function lockForChange(db: Queryable, schema: string, table: string): Promise<void> {
  const name = table === '' ? quoteIdent(schema) : qualifiedName(schema, table);
  await db.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`singer-ts:${name}`]);
}

/**
 * Every schema/table/column change goes through here; identifiers only via `quoteIdent`. Each
 * method runs inside a unit of work of the session (`db`), so what it reads stays true while it
 * changes the table.
 */
export class TableManager {
  private readonly knownSchemas = new Set<string>();

  constructor(private readonly logger?: Logger) {}

  /** Forget what was learnt inside a transaction that was rolled back. */
  reset(): void {
    this.knownSchemas.clear();
  }

  /**
   * Creates the schema unless it exists (checked first: CREATE needs a privilege the user may
   * lack), under a lock so that two loaders never race to create it.
   */
  async ensureSchema(db: Queryable, schema: string): Promise<void> {
    if (this.knownSchemas.has(schema)) return;
    const exists = async (): Promise<boolean> =>
      (await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rows.length > 0;
    if (!(await exists())) {
      await lockForChange(db, schema, '');
      if (!(await exists())) await db.query(`CREATE SCHEMA ${quoteIdent(schema)}`);
    }
    this.knownSchemas.add(schema);
  }

  /** The table's columns and unique keys, or `undefined` when it does not exist. */
  async describe(db: Queryable, schema: string, table: string): Promise<TableState | undefined> {
    const { rows: found } = await db.query<{ oid: number; relkind: string }>(
      `SELECT c.oid::int8 AS oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, table],
    );
    const relation = found[0];
    if (!relation) return undefined;
    if (relation.relkind !== 'r' && relation.relkind !== 'p') {
      throw new LoadError(`${qualifiedName(schema, table)} exists but is not a table`, {
        code: 'PG_NOT_A_TABLE',
        hint: 'Drop or rename it, or load the stream into another schema (default_target_schema)',
      });
    }
    const { rows: attributes } = await db.query<{ name: string; formatted: string; not_null: boolean }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS formatted, attnotnull AS not_null
         FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [relation.oid],
    );
    const { rows: indexes } = await db.query<{ primary: boolean; columns: string[] }>(
      `SELECT i.indisprimary AS primary,
              array(SELECT a.attname FROM unnest(i.indkey) k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k)::text[] AS columns
         FROM pg_index i
        WHERE i.indrelid = $1::oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL`,
      [relation.oid],
    );
    const columns = new Map<string, ExistingColumn>();
    for (const row of attributes) {
      columns.set(row.name, { formatted: row.formatted, lattice: latticeTypeOf(row.formatted), notNull: row.not_null });
    }
    return {
      columns,
      uniqueKeys: indexes.map((index) => index.columns),
      primaryKey: indexes.find((index) => index.primary)?.columns,
    };
  }

  /**
   * Makes the table fit the spec without losing data: creates it, adds missing columns, widens
   * columns in place (`ALTER ... TYPE ... USING`), lets columns the stream no longer sends take
   * nulls, and enforces the key. Returns the table as it now is.
   *
   * Several loaders may work on one table at once: a change is made only under the table's
   * lock (held to the end of the transaction), and the table is read again once the lock is
   * held, so a column another loader added or widened meanwhile is taken as it now is.
   */
  async ensureTable(db: Queryable, spec: TableSpec): Promise<TableState> {
    await this.ensureSchema(db, spec.schema);
    const seen = await this.describe(db, spec.schema, spec.table);
    if (seen && !this.needsChange(seen, spec)) return seen;
    await lockForChange(db, spec.schema, spec.table);
    const existing = await this.describe(db, spec.schema, spec.table);
    const name = qualifiedName(spec.schema, spec.table);
    if (!existing) {
      const definitions = spec.columns.map((c) => `${quoteIdent(c.column)} ${SQL_TYPE[c.type]}`);
      if (spec.enforceKey && spec.keyColumns.length > 0) {
        definitions.push(`PRIMARY KEY (${spec.keyColumns.map(quoteIdent).join(', ')})`);
      }
      await db.query(`CREATE TABLE ${name} (${definitions.join(', ')})`);
      return (await this.describe(db, spec.schema, spec.table)) as TableState;
    }
    const changes = columnChanges(existing, spec);
    if (changes.length > 0) await db.query(`ALTER TABLE ${name} ${changes.join(', ')}`);
    if (spec.enforceKey && spec.keyColumns.length > 0) await this.ensureKey(db, spec, existing);
    return (await this.describe(db, spec.schema, spec.table)) as TableState;
  }

  /** Whether the table lacks something the spec needs (a column, a wider type, the key). */
  private needsChange(existing: TableState, spec: TableSpec): boolean {
    if (columnChanges(existing, spec).length > 0) return true;
    return spec.enforceKey && spec.keyColumns.length > 0 && !existing.uniqueKeys.some((columns) => sameColumns(columns, spec.keyColumns));
  }

  /**
   * ON CONFLICT needs a unique index on exactly the key columns. A table without one gets a
   * primary key; a primary key on other columns (the stream's `key_properties` changed) is
   * replaced, which PostgreSQL refuses when rows would break the new key.
   */
  private async ensureKey(db: Queryable, spec: TableSpec, existing: TableState): Promise<void> {
    if (existing.uniqueKeys.some((columns) => sameColumns(columns, spec.keyColumns))) return;
    const primary = existing.primaryKey;
    const name = qualifiedName(spec.schema, spec.table);
    const keys = spec.keyColumns.map(quoteIdent).join(', ');
    try {
      if (primary === undefined) {
        await db.query(`ALTER TABLE ${name} ADD PRIMARY KEY (${keys})`);
      } else {
        const { rows } = await db.query<{ conname: string }>(
          `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
          [name],
        );
        const constraint = rows[0]?.conname as string;
        await db.query(`ALTER TABLE ${name} DROP CONSTRAINT ${quoteIdent(constraint)}, ADD PRIMARY KEY (${keys})`);
        this.logger?.info(`key_properties changed from (${primary.join(', ')}) to (${spec.keyColumns.join(', ')}): the primary key of ${name} now follows them`);
      }
    } catch (cause) {
      if (cause instanceof SingerError) throw cause;
      const reason = (cause as Error).message;
      if (primary !== undefined) {
        throw new LoadError(
          `key_properties changed from (${primary.join(', ')}) to (${spec.keyColumns.join(', ')}), and the rows of ${name} do not allow the new primary key: ${reason}`,
          {
            code: 'PG_KEY_CHANGE_REFUSED',
            stream: spec.stream,
            cause,
            hint: 'Fill or deduplicate the new key columns in the table (or drop the table to reload it), then re-run from the last state',
          },
        );
      }
      throw new LoadError(`cannot make the key properties (${spec.keyColumns.join(', ')}) a unique key of ${name}: ${reason}`, {
        code: 'PG_KEY_CONFLICT',
        stream: spec.stream,
        cause,
        hint: 'The table holds duplicate or null keys; clean it up, or use load_method "append-only"',
      });
    }
  }

  /** Widens one column in place, inside the open transaction, under the table's lock. */
  async widenColumn(db: Queryable, schema: string, table: string, column: string, to: PgType): Promise<void> {
    await lockForChange(db, schema, table);
    const quoted = quoteIdent(column);
    await db.query(
      `ALTER TABLE ${qualifiedName(schema, table)} ALTER COLUMN ${quoted} TYPE ${SQL_TYPE[to]} USING ${widenUsing(quoted, to)}`,
    );
  }
}
