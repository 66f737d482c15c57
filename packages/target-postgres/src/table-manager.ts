import { LoadError } from '@singer-ts/singer';

import { qualifiedName, quoteIdent, safeIdentifier } from './identifiers';
import { latticeTypeOf, type PgType, SQL_TYPE, widenType, widenUsing } from './type-mapping';

/** What the table manager needs of a connection: one query at a time, inside the open transaction. */
export interface Queryable {
  query<R extends Record<string, unknown> = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<{ rows: R[] }>;
}

/** A column the stream needs. */
export interface ColumnSpec {
  /** The column name (already through `safeIdentifier`). */
  readonly column: string;
  readonly type: PgType;
}

export interface TableSpec {
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

/** Every schema/table/column change goes through here; identifiers only via `quoteIdent`. */
export class TableManager {
  private readonly knownSchemas = new Set<string>();

  constructor(private readonly db: Queryable) {}

  /** Forget what was learnt inside a transaction that was rolled back. */
  reset(): void {
    this.knownSchemas.clear();
  }

  /** Creates the schema unless it exists (checked first: CREATE needs a privilege the user may lack). */
  async ensureSchema(schema: string): Promise<void> {
    if (this.knownSchemas.has(schema)) return;
    const { rows } = await this.db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (rows.length === 0) await this.db.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    this.knownSchemas.add(schema);
  }

  /** The table's columns and unique keys, or `undefined` when it does not exist. */
  async describe(schema: string, table: string): Promise<TableState | undefined> {
    const { rows: found } = await this.db.query<{ oid: number; relkind: string }>(
      `SELECT c.oid::int8 AS oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, table],
    );
    const relation = found[0];
    if (!relation) return undefined;
    if (relation.relkind !== 'r' && relation.relkind !== 'p') {
      throw new LoadError(`${qualifiedName(schema, table)} exists but is not a table`, {
        code: 'PG_NOT_A_TABLE',
        stream: table,
        hint: 'Drop or rename it, or load the stream into another schema (default_target_schema)',
      });
    }
    const { rows: attributes } = await this.db.query<{ name: string; formatted: string; not_null: boolean }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS formatted, attnotnull AS not_null
         FROM pg_attribute WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped ORDER BY attnum`,
      [relation.oid],
    );
    const { rows: indexes } = await this.db.query<{ primary: boolean; columns: string[] }>(
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
   */
  async ensureTable(spec: TableSpec): Promise<TableState> {
    await this.ensureSchema(spec.schema);
    const name = qualifiedName(spec.schema, spec.table);
    const existing = await this.describe(spec.schema, spec.table);
    if (!existing) {
      const definitions = spec.columns.map((c) => `${quoteIdent(c.column)} ${SQL_TYPE[c.type]}`);
      if (spec.enforceKey && spec.keyColumns.length > 0) {
        definitions.push(`PRIMARY KEY (${spec.keyColumns.map(quoteIdent).join(', ')})`);
      }
      await this.db.query(`CREATE TABLE ${name} (${definitions.join(', ')})`);
      return (await this.describe(spec.schema, spec.table)) as TableState;
    }

    const changes: string[] = [];
    const wanted = new Set<string>();
    for (const spec_ of spec.columns) {
      wanted.add(spec_.column);
      const column = existing.columns.get(spec_.column);
      const quoted = quoteIdent(spec_.column);
      if (!column) {
        changes.push(`ADD COLUMN ${quoted} ${SQL_TYPE[spec_.type]}`);
        continue;
      }
      // A type this target did not create is the user's choice: PostgreSQL casts into it.
      if (column.lattice === undefined) continue;
      const widened = widenType(column.lattice, spec_.type);
      if (widened !== column.lattice) {
        changes.push(`ALTER COLUMN ${quoted} TYPE ${SQL_TYPE[widened]} USING ${widenUsing(quoted, widened)}`);
      }
    }
    const primary = new Set(existing.primaryKey ?? []);
    for (const [column, info] of existing.columns) {
      if (!wanted.has(column) && info.notNull && !primary.has(column)) {
        changes.push(`ALTER COLUMN ${quoteIdent(column)} DROP NOT NULL`);
      }
    }
    if (changes.length > 0) await this.db.query(`ALTER TABLE ${name} ${changes.join(', ')}`);
    if (spec.enforceKey && spec.keyColumns.length > 0) await this.ensureKey(spec, existing);
    return changes.length > 0 ? ((await this.describe(spec.schema, spec.table)) as TableState) : existing;
  }

  /** ON CONFLICT needs a unique index on exactly the key columns; add one when there is none. */
  private async ensureKey(spec: TableSpec, existing: TableState): Promise<void> {
    const wanted = [...spec.keyColumns].sort().join('\u0000');
    if (existing.uniqueKeys.some((columns) => [...columns].sort().join('\u0000') === wanted)) return;
    const name = qualifiedName(spec.schema, spec.table);
    const keys = spec.keyColumns.map(quoteIdent).join(', ');
    try {
      if (!existing.primaryKey) {
        await this.db.query(`ALTER TABLE ${name} ADD PRIMARY KEY (${keys})`);
      } else {
        const index = safeIdentifier(`${spec.table}_${spec.keyColumns.join('_')}_key`);
        await this.db.query(`CREATE UNIQUE INDEX ${quoteIdent(index)} ON ${name} (${keys})`);
      }
    } catch (cause) {
      throw new LoadError(
        `cannot make the key properties (${spec.keyColumns.join(', ')}) a unique key of ${name}: ${(cause as Error).message}`,
        {
          code: 'PG_KEY_CONFLICT',
          stream: spec.table,
          cause,
          hint: 'The table holds duplicate or null keys; clean it up, or use load_method "append-only"',
        },
      );
    }
  }

  /** Widens one column in place, inside the open transaction. */
  async widenColumn(schema: string, table: string, column: string, to: PgType): Promise<void> {
    const quoted = quoteIdent(column);
    await this.db.query(
      `ALTER TABLE ${qualifiedName(schema, table)} ALTER COLUMN ${quoted} TYPE ${SQL_TYPE[to]} USING ${widenUsing(quoted, to)}`,
    );
  }
}
