import { type JsonSchema, type MetadataColumn, SDC_DELETED_AT } from '@singer-ts/singer';

import type { EncoderColumn } from './copy-encoder';
import { columnNames, quoteIdent } from './identifiers';
import type { ColumnSpec, TableState } from './table-manager';
import { type PgType, pgTypeFor } from './type-mapping';

/** The staging table's row order within a batch: the stream's record number. */
const STAGE_SEQUENCE = '_sdc_stage_seq';

/** The columns a stream's SCHEMA asks for, before the table is looked at. */
export interface ColumnLayout {
  /** Record properties written, in SCHEMA order (a target-owned `_sdc_deleted_at` excluded). */
  readonly properties: readonly string[];
  readonly metadata: readonly MetadataColumn[];
  /** Property or metadata column → column name (shortened and unique). */
  readonly names: ReadonlyMap<string, string>;
  /** Column → type the SCHEMA maps to. */
  readonly types: ReadonlyMap<string, PgType>;
  readonly keyColumns: readonly string[];
}

/** Lays out the columns of a stream: properties first, then metadata columns. Pure. */
export function layoutColumns(
  stream: string,
  schema: JsonSchema,
  keyProperties: readonly string[],
  metadata: readonly MetadataColumn[],
): ColumnLayout {
  const schemaProperties = schema.properties ?? {};
  const ownsDeletedAt = metadata.some((m) => m.column === SDC_DELETED_AT);
  const properties = Object.keys(schemaProperties).filter((p) => !(ownsDeletedAt && p === SDC_DELETED_AT));
  const names = columnNames([...properties, ...metadata.map((m) => m.column)], stream);
  const types = new Map<string, PgType>();
  for (const property of properties) types.set(names.get(property) as string, pgTypeFor(schemaProperties[property] as JsonSchema, schema));
  for (const m of metadata) types.set(m.column, pgTypeFor(m.schema));
  return { properties, metadata, names, types, keyColumns: keyProperties.map((key) => names.get(key) as string) };
}

/** The columns to create or widen. */
export function columnSpecs(layout: ColumnLayout): ColumnSpec[] {
  return [...layout.types].map(([column, type]) => ({ column, type }));
}

/** Everything needed to write rows, from the layout and the table as it now exists. */
export interface Plan {
  readonly layout: ColumnLayout;
  readonly columns: readonly EncoderColumn[];
  /** Column names in COPY order (without the staging sequence). */
  readonly columnNames: readonly string[];
  /** Column name → property (or metadata column), for errors. */
  readonly propertyOf: ReadonlyMap<string, string>;
  /** The staging table's record-order column, named apart from every stream column. */
  readonly stageSequence: string;
  readonly table: TableState;
}

/** `base`, or `base_2`, `base_3`, ... : the first that is not taken. */
function uniqueName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  return name;
}

/**
 * How each property is written, given the table: a column's own type wins over the SCHEMA's
 * (a column widened earlier, or one the user made). Pure.
 */
export function planFor(layout: ColumnLayout, table: TableState, keyProperties: readonly string[]): Plan {
  const keys = new Set(keyProperties);
  const typeOf = (column: string): PgType => table.columns.get(column)?.lattice ?? (layout.types.get(column) as PgType);
  const columns: EncoderColumn[] = layout.properties.map((property) => {
    const column = layout.names.get(property) as string;
    return { property, column, type: typeOf(column), isKey: keys.has(property) };
  });
  const propertyOf = new Map<string, string>();
  for (const [property, column] of layout.names) propertyOf.set(column, property);
  return {
    layout,
    columns,
    columnNames: [...columns.map((c) => c.column), ...layout.metadata.map((m) => m.column)],
    propertyOf,
    stageSequence: uniqueName(STAGE_SEQUENCE, new Set(table.columns.keys())),
    table,
  };
}

/** The staging table's columns: the record order (numbered as the COPY brings rows), then the table's own column types. */
export function stageDefinitions(plan: Plan): string[] {
  return [
    `${quoteIdent(plan.stageSequence)} bigserial`,
    ...plan.columnNames.map((column) => `${quoteIdent(column)} ${plan.table.columns.get(column)?.formatted ?? 'text'}`),
  ];
}
