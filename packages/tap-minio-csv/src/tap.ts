import { type CatalogEntry, ConfigError, type RunContext, Tap } from '@singer-ts/singer';

import type { TableSpec, TapMinioCsvConfig } from './config';
import { CsvObjectStream } from './csv-object-stream';
import { discoverTable } from './discovery';
import type { ObjectStore } from './object-store';
import { createS3Client } from './s3-client';
import { S3ObjectStore } from './s3-object-store';

/**
 * CSV objects in MinIO/S3, one stream per configured table. Reads the configs of the PyPI
 * tap-minio-csv / tap-s3-csv family, honours `--catalog` and `-p/--properties` selection, and
 * syncs incrementally by object modification time.
 */
export class TapMinioCsv extends Tap<TapMinioCsvConfig> {
  private readonly store: ObjectStore;

  /** `store` replaces S3 (tests read local files through it). */
  constructor(config: TapMinioCsvConfig, context: RunContext, store?: ObjectStore) {
    super(config, context);
    this.store = store ?? new S3ObjectStore(createS3Client(config), config.bucket, { logger: context.logger });
  }

  override async discover(): Promise<CatalogEntry[]> {
    const entries: CatalogEntry[] = [];
    for (const table of this.config.tables) {
      const entry = await discoverTable(this.store, table, {
        startDate: this.config.startDate,
        sampleSize: this.config.sampleSize,
        logger: this.context.logger,
        signal: this.context.signal,
      });
      if (entry !== undefined) entries.push(entry);
    }
    return entries;
  }

  override createStream(entry: CatalogEntry): CsvObjectStream {
    return new CsvObjectStream(entry, {
      table: this.tableOf(entry),
      store: this.store,
      startDate: this.config.startDate,
      sampleSize: this.config.sampleSize,
    });
  }

  /** The configured table a catalog stream reads: matched by `tap_stream_id`, else `stream`. */
  private tableOf(entry: CatalogEntry): TableSpec {
    const tables = this.config.tables;
    const table =
      tables.find((t) => t.tableName === entry.tap_stream_id) ?? tables.find((t) => t.tableName === entry.stream);
    if (table === undefined) {
      throw new ConfigError(
        `the catalog selects stream ${JSON.stringify(entry.tap_stream_id)}, which is not a table in the config`,
        {
          code: 'CATALOG_INVALID',
          stream: entry.stream,
          hint: `Configured tables: ${tables.map((t) => t.tableName).join(', ')}. Deselect the stream or add the table`,
        },
      );
    }
    return table;
  }
}
