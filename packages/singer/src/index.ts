export type { ConnectorSpecInfo } from './about';
export { aboutJson, aboutMarkdown } from './about';
export type { BuildMetadataOptions, Catalog, CatalogEntry, MetadataEntry } from './catalog';
export {
  buildMetadata,
  isPropertySelected,
  isStreamSelected,
  keyProperties,
  replicationKey,
  selectedSchema,
  streamMetadata,
  toCatalog,
} from './catalog';
export type { ConnectorIo, ConnectorSpec, StateFile, UnitsSpec } from './cli';
export { executeConnector, runTap, runTarget } from './cli';
export type { CsvConverter, CsvRecordEncoder, ValueCoercer } from './coerce';
export {
  compileCoercer,
  compileCsvConverter,
  compileCsvRecordEncoder,
  readBoolean,
  readInteger,
  readNumber,
} from './coerce';
export type { EnvFallbacks, LoadConfigOptions, NormalizeContext } from './config';
export {
  applyEnvFallbacks,
  closestName,
  createAjv,
  deepFreeze,
  describeAjvError,
  editDistance,
  loadConfig,
  readJsonFile,
} from './config';
export type { RunContext } from './context';
export type { CsvFile, CsvOptions, CsvRow } from './csv-source';
export { maybeGunzip, openCsv } from './csv-source';
export { isDate, isDateTime, isTime } from './datetime';
export type { ErrorCode, ErrorLocation, SingerErrorOptions } from './errors';
export {
  ConfigError,
  InputError,
  isSingerError,
  LoadError,
  previewValue,
  RecordError,
  SingerError,
  SourceError,
} from './errors';
export { containsExactNumber, isLosslessNumber, LosslessNumber, parseExactJson, stringifyExactJson } from './exact-json';
export type { Decimal } from './exact-number';
export {
  compareDecimals,
  compareExact,
  exactNumberText,
  formatDecimal,
  isExactMultipleOf,
  isMultipleOfDecimal,
  parseDecimal,
  toDecimal,
} from './exact-number';
export type { Logger, LogLevel } from './logging';
export { parseLogLevel, Redactor, StderrLogger } from './logging';
export type {
  ActivateVersionMessage,
  JsonSchema,
  Message,
  MessageType,
  RecordMessage,
  SchemaMessage,
  StateMessage,
} from './messages';
export { toMessage } from './messages';
export { RecordCounter } from './metrics';
export type { ReadMessage } from './reader';
export { MessageParser, messageText, readLineBatches, readMessages } from './reader';
export type { MetadataChoice, MetadataColumn, MetadataKind } from './record-metadata';
export {
  extractedAtText,
  METADATA_COLUMNS,
  metadataColumnsFor,
  RecordMetadata,
  SDC_BATCHED_AT,
  SDC_DELETED_AT,
  SDC_EXTRACTED_AT,
  SDC_RECEIVED_AT,
  SDC_SEQUENCE,
  SDC_TABLE_VERSION,
} from './record-metadata';
export {
  isShortestNumberText,
  RecordLineReader,
  RecordPattern,
  ScannedRecord,
  TOKEN_INTEGER,
  TOKEN_NUMBER,
  TOKEN_STRING,
  TOKEN_TRUE,
} from './record-scanner';
export type { InferOptions } from './schema-infer';
export { inferSchema, SchemaInferrer } from './schema-infer';
export { schemaTypes, secretPaths } from './schema-keywords';
export type { SchemaDraft, SchemaInfo } from './schema-normalize';
export {
  dereference,
  draftOf,
  normalizeSchema,
  schemaInfo,
  SchemaWarnings,
  schemaWarningsFor,
} from './schema-normalize';
export type { RecordPosition } from './sink';
export { checkStreamSchema, DEFAULT_BATCH_SIZE, Sink } from './sink';
export type { State } from './state';
export { getBookmark, readStateFile, withBookmark } from './state';
export type { StreamContext } from './stream';
export { EncodedRecords, Stream } from './stream';
export { Tap } from './tap';
export { Target } from './target';
export { RecordValidator } from './validate';
export { MessageWriter } from './writer';
