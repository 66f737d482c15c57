import { quoteIdent } from './identifiers';
import { latticeTypeOf } from './type-mapping';

/** What a merge of one staged batch into its table needs to know. Names are unquoted. */
export interface MergeSpec {
  /** The table, already qualified and quoted. */
  readonly target: string;
  /** The staging table, already qualified and quoted. */
  readonly stage: string;
  /** Every column written, in COPY order (key columns among them). */
  readonly columns: readonly string[];
  readonly keyColumns: readonly string[];
  /** The staging table's record-order column. */
  readonly stageSequence: string;
  /** Column name → `format_type()` of the table's column, to know which can be compared. */
  readonly formattedTypes: ReadonlyMap<string, string>;
  /** Keys whose last record carries `_sdc_deleted_at` are deleted (hard_delete); else undefined. */
  readonly deletedAtColumn?: string;
}

/** Types with an equality operator, so `IS DISTINCT FROM` can skip rewriting unchanged rows. */
const COMPARABLE = /^(character|numeric|double|real|integer|smallint|timestamp|time|date|uuid|bytea|interval|inet|money)/;

/** Whether every column can be compared (json, xml and geometric types have no equality). */
function comparable(spec: MergeSpec): boolean {
  return spec.columns.every((column) => {
    const formatted = spec.formattedTypes.get(column) ?? '';
    return latticeTypeOf(formatted) !== undefined || COMPARABLE.test(formatted);
  });
}

/** The batch's last record per key, sorted by key so index pages are visited in order. */
function latestPerKey(spec: MergeSpec): string {
  const keys = spec.keyColumns.map(quoteIdent).join(', ');
  return `(SELECT DISTINCT ON (${keys}) * FROM ${spec.stage} ORDER BY ${keys}, ${quoteIdent(spec.stageSequence)} DESC)`;
}

/**
 * `INSERT … ON CONFLICT … DO UPDATE` of the batch's last record per key. Rows whose values did
 * not change are left unwritten (no dead tuple, no WAL) where the column types allow comparing.
 */
export function upsertSql(spec: MergeSpec, where = ''): string {
  const keys = spec.keyColumns.map(quoteIdent).join(', ');
  const list = spec.columns.map(quoteIdent).join(', ');
  const updatable = spec.columns.filter((column) => !spec.keyColumns.includes(column)).map(quoteIdent);
  let onConflict: string;
  if (updatable.length === 0) {
    onConflict = `ON CONFLICT (${keys}) DO NOTHING`;
  } else {
    onConflict = `ON CONFLICT (${keys}) DO UPDATE SET ${updatable.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}`;
    if (comparable(spec)) {
      onConflict += ` WHERE (${updatable.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${updatable.map((c) => `EXCLUDED.${c}`).join(', ')})`;
    }
  }
  return `INSERT INTO ${spec.target} AS t (${list}) SELECT ${list} FROM ${latestPerKey(spec)} AS s${where} ${onConflict}`;
}

/** With hard_delete: keys whose last record carries `_sdc_deleted_at` go; the others are upserted. */
export function deleteThenUpsertSql(spec: MergeSpec, deletedAt: string): string[] {
  const deleted = quoteIdent(deletedAt);
  const match = spec.keyColumns.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
  return [
    `DELETE FROM ${spec.target} AS t USING ${latestPerKey(spec)} AS s WHERE ${match} AND s.${deleted} IS NOT NULL`,
    upsertSql(spec, ` WHERE s.${deleted} IS NULL`),
  ];
}

/** Empties the staging table for the next batch. */
export function truncateStageSql(spec: Pick<MergeSpec, 'stage'>): string {
  return `TRUNCATE ${spec.stage}`;
}
