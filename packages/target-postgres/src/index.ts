export { main, TARGET_POSTGRES_SPEC } from './cli';
export type { ConnectionSettings, LoadMethod, TargetPostgresConfig, TlsOptions } from './config';
export {
  CONFIG_ENV,
  CONFIG_SCHEMA,
  DEFAULT_BATCH_SIZE_ROWS,
  DEFAULT_TARGET_SCHEMA,
  LOAD_METHODS,
  normalizeConfig,
} from './config';
export type { CopyEncoderOptions, EncoderColumn } from './copy-encoder';
export {
  ColumnTooNarrowError,
  COPY_NULL,
  CopyEncoder,
  escapeCopyText,
  fitsBigint,
  plainIntegerText,
  timeToUtc,
} from './copy-encoder';
export { CopyFeed } from './copy-feed';
export { columnNames, MAX_IDENTIFIER_BYTES, qualifiedName, quoteIdent, safeIdentifier } from './identifiers';
export type { MergeSpec } from './merge-sql';
export { deleteThenUpsertSql, truncateStageSql, upsertSql } from './merge-sql';
export type { CopyRows } from './pg-errors';
export { betterReason, copyError, isConnectionLost, sqlState, toLoadError } from './pg-errors';
export type { CopyBatch, Queryable, UnitLabel } from './pg-session';
export { PgSession } from './pg-session';
export type { PostgresSinkSettings } from './sink';
export { PostgresSink, prepareSchema } from './sink';
export type { ColumnSpec, ExistingColumn, TableSpec, TableState } from './table-manager';
export { TableManager } from './table-manager';
export type { ColumnLayout, Plan } from './table-plan';
export { columnSpecs, layoutColumns, planFor, stageDefinitions } from './table-plan';
export { TargetPostgres } from './target';
export type { PgType } from './type-mapping';
export { latticeTypeOf, pgTypeFor, SQL_TYPE, widenType, widenUsing } from './type-mapping';
