export type { TableSpec, TapMinioCsvConfig } from './config';
export {
  CONFIG_ENV,
  CONFIG_SCHEMA,
  DEFAULT_REGION,
  DEFAULT_SAMPLE_SIZE,
  normalizeConfig,
  parseInstant,
  parseNameList,
  parseTables,
} from './config';
export type { CsvObjectStreamOptions } from './csv-object-stream';
export { CsvObjectStream } from './csv-object-stream';
export type { ObjectRecords, ObjectRecordsOptions } from './csv-records';
export {
  openObjectRecords,
  readObjectRecords,
  SDC_COLUMNS,
  SDC_SCHEMAS,
  SDC_SOURCE_BUCKET,
  SDC_SOURCE_FILE,
  SDC_SOURCE_LINENO,
} from './csv-records';
export type { DiscoverOptions } from './discovery';
export { discoverTable } from './discovery';
export { mergeUnitStates } from './merge-states';
export type { Bookmark, BookmarkValue, EarlierSplit, ObjectFilter, PlannedObject, PlanOptions, SyncPlan } from './object-lister';
export {
  advanceBookmark,
  compareObjects,
  formatInstant,
  isCovered,
  isRead,
  isReadEarlier,
  isWanted,
  listTableObjects,
  parseBookmark,
  planSync,
  toBookmarkValue,
  withoutEarlier,
} from './object-lister';
export type { ObjectRef, ObjectStore } from './object-store';
export { toWholeSecond } from './object-store';
export { createS3Client, MAX_ATTEMPTS } from './s3-client';
export type { S3ObjectStoreOptions } from './s3-object-store';
export { S3ObjectStore, toSourceError } from './s3-object-store';
export { spec } from './spec';
export type { UnitListing } from './tap';
export { TapMinioCsv } from './tap';
export type { Unit, UnitRecord, UnitSplit } from './units';
export {
  findUnit,
  fnv1a32,
  formatSplit,
  keyLevels,
  NO_SPLIT,
  parseSplit,
  parseUnitRecord,
  shardOf,
  toUnitRecord,
  unitIdOf,
  wholeTableUnit,
} from './units';
