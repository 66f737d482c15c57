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
export { isConnectionLost, PgSession, sqlState, toLoadError } from './pg-session';
export type { PostgresSinkSettings } from './sink';
export {
  PostgresSink,
  prepareSchema,
  SDC_BATCHED_AT,
  SDC_DELETED_AT,
  SDC_EXTRACTED_AT,
  SDC_RECEIVED_AT,
  SDC_SEQUENCE,
  SDC_TABLE_VERSION,
} from './sink';
export type { ColumnSpec, ExistingColumn, Queryable, TableSpec, TableState } from './table-manager';
export { TableManager } from './table-manager';
export { TargetPostgres } from './target';
export type { PgType } from './type-mapping';
export { latticeTypeOf, pgTypeFor, SQL_TYPE, widenType, widenUsing } from './type-mapping';
