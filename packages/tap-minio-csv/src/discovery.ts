import {
  buildMetadata,
  type CatalogEntry,
  ConfigError,
  type JsonSchema,
  type Logger,
  openCsv,
  SchemaInferrer,
} from '@singer-ts/singer';

import type { TableSpec } from './config';
import { SDC_COLUMNS, SDC_SCHEMAS } from './csv-records';
import { listTableObjects } from './object-lister';
import type { ObjectStore } from './object-store';

export interface DiscoverOptions {
  readonly startDate?: Date | undefined;
  /** Rows sampled per table, across its objects. */
  readonly sampleSize: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal | undefined;
}

/**
 * Discovers one table: samples its objects (those a sync would read: matching, not before
 * `start_date`, oldest first) and infers each column's type with the SDK's inference.
 *
 * The first `sampleSize` rows, across objects, are sampled; every further object still has its
 * header read (one short GET each, the body is not read), so the stream holds the union of
 * every object's columns. Every column but the key properties is nullable: the sample shows
 * the types values have, not that a column is never empty further on.
 *
 * Returns undefined, with a warning naming the table, when no object (or only empty ones)
 * matches: a stream without columns would be no use to a target.
 */
export async function discoverTable(
  store: ObjectStore,
  table: TableSpec,
  options: DiscoverOptions,
): Promise<CatalogEntry | undefined> {
  const { logger, signal } = options;
  const where = `under ${store.describe(table.searchPrefix)} matching /${table.searchPattern.source}/${
    options.startDate ? ` modified since ${options.startDate.toISOString()}` : ''
  }`;
  const objects = await listTableObjects(store, table, { pattern: table.searchPattern, startDate: options.startDate }, signal);
  if (objects.length === 0) {
    logger.warn(`table ${JSON.stringify(table.tableName)}: no object ${where}; left out of the catalog`);
    return undefined;
  }
  const inferrer = new SchemaInferrer({ dateOverrides: table.dateOverrides, keyProperties: table.keyProperties });
  let budget = options.sampleSize;
  let sampledObjects = 0;
  let sampledRows = 0;
  for (const ref of objects) {
    if (ref.size === 0) continue;
    const body = await store.read(ref, signal);
    if (body === undefined) continue;
    const file = store.describe(ref.key);
    const csv = await openCsv(body, { delimiter: table.delimiter, file, stream: table.tableName });
    try {
      if (csv.header.length === 0) continue;
      inferrer.addHeader(csv.header);
      sampledObjects += 1;
      if (budget <= 0) continue;
      for await (const row of csv.rows) {
        inferrer.addRow(row.fields);
        sampledRows += 1;
        budget -= 1;
        if (budget <= 0) break;
      }
    } finally {
      csv.close();
    }
  }
  if (sampledObjects === 0) {
    logger.warn(`table ${JSON.stringify(table.tableName)}: every object ${where} is empty; left out of the catalog`);
    return undefined;
  }
  logger.info(
    `table ${JSON.stringify(table.tableName)}: ${sampledRows} row(s) sampled from ${objects.length} object(s)`,
  );
  const properties: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(inferrer.properties())) {
    if (SDC_COLUMNS.includes(name)) {
      logger.warn(`table ${JSON.stringify(table.tableName)}: the CSV column ${name} is replaced by the tap's own`);
      continue;
    }
    properties[name] = schema;
  }
  const missing = table.keyProperties.filter((key) => !(key in properties));
  if (missing.length > 0) {
    throw new ConfigError(
      `key_properties name column(s) no object of the table has: ${missing.map((k) => JSON.stringify(k)).join(', ')}`,
      { stream: table.tableName, column: missing[0], hint: `Columns found: ${Object.keys(properties).join(', ')}` },
    );
  }
  Object.assign(properties, SDC_SCHEMAS);
  return {
    tap_stream_id: table.tableName,
    stream: table.tableName,
    schema: { type: 'object', properties },
    key_properties: [...table.keyProperties],
    metadata: buildMetadata({
      keyProperties: [...table.keyProperties],
      properties: Object.keys(properties),
      replicationMethod: 'INCREMENTAL',
    }),
  };
}
