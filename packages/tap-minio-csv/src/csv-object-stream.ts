import { type CatalogEntry, type EncodedRecords, Stream, type StreamContext } from '@singer-ts/singer';

import { DEFAULT_SAMPLE_SIZE, type TableSpec } from './config';
import { openObjectRecords } from './csv-records';
import {
  advanceBookmark,
  type Bookmark,
  formatInstant,
  parseBookmark,
  planSync,
  toBookmarkValue,
  withoutEarlier,
} from './object-lister';
import type { ObjectStore } from './object-store';
import { formatSplit, type Unit } from './units';

export interface CsvObjectStreamOptions {
  readonly table: TableSpec;
  readonly store: ObjectStore;
  readonly startDate?: Date | undefined;
  /** Read only this unit of the table (default: the whole table). */
  readonly unit?: Unit | undefined;
  /** The config's `sample_size`, which the hint of a value error names (default 1000). */
  readonly sampleSize?: number;
}

/**
 * One configured table: its CSV objects, oldest first, as one stream. After each object a
 * STATE records it as read (see `object-lister.ts` for the bookmark), so a failed or stopped
 * run resumes at the first object it had not finished.
 */
export class CsvObjectStream extends Stream {
  private readonly table: TableSpec;
  private readonly store: ObjectStore;
  private readonly startDate: Date | undefined;
  private readonly unit: Unit | undefined;
  private readonly valueHint: string;
  /** Columns already warned about, so a thousand objects give one warning per column. */
  private readonly reportedUnknown = new Set<string>();

  constructor(entry: CatalogEntry, options: CsvObjectStreamOptions) {
    super(entry);
    this.table = options.table;
    this.store = options.store;
    this.startDate = options.startDate;
    this.unit = options.unit;
    // A discovered type is what the sampled rows allowed; a later value may not fit it.
    this.valueHint =
      `Fix the value in the file, or change the column's type in the catalog: discovery infers ` +
      `types from the first ${options.sampleSize ?? DEFAULT_SAMPLE_SIZE} rows (sample_size), so raise sample_size and discover again`;
  }

  override async *getRecords(context: StreamContext): AsyncIterable<EncodedRecords> {
    const { logger, signal } = context;
    let bookmark: Bookmark | undefined = parseBookmark(context.bookmark, this.table);
    const unit = this.unit;
    const plan = await planSync(this.store, this.table, { startDate: this.startDate, bookmark, unit, signal });
    const since = bookmark?.modifiedSince ? ` after ${formatInstant(bookmark.modifiedSince)}` : '';
    const where =
      unit && unit.split.kind !== 'none' ? `in unit ${unit.id}` : `under ${this.store.describe(this.table.searchPrefix)}`;
    logger.info(`${plan.toRead} object(s) to read${since} ${where}`);
    const skipped = plan.objects.length - plan.toRead;
    if (skipped > 0 && bookmark?.earlier) {
      logger.info(`${skipped} object(s) read under the earlier split ${formatSplit(bookmark.earlier.split)} are passed over`);
    }
    if (plan.deferred > 0) {
      logger.info(
        `${plan.deferred} object(s) modified at or after ${formatInstant(plan.cutoff)} (this sync's start) are left for the next sync`,
      );
    }
    const knownColumns = new Set(Object.keys(this.entry.schema.properties ?? {}));
    const properties = this.schema.properties ?? {};
    // Whether the bookmark moved since the last STATE (by objects passed over, not read).
    let unsaved = false;
    for (const ref of plan.objects) {
      signal.throwIfAborted();
      if (ref.alreadyRead) {
        bookmark = advanceBookmark(bookmark, ref);
        unsaved = true;
        continue;
      }
      const file = this.store.describe(ref.key);
      if (ref.size === 0) {
        logger.info(`${file} is empty (0 bytes): skipped`);
      } else {
        const body = await this.store.read(ref, signal);
        if (body === undefined) {
          logger.warn(`${file} was deleted after it was listed: skipped`);
        } else {
          logger.debug(`reading ${file} (${ref.size} bytes, modified ${formatInstant(ref.lastModified)})`);
          const object = await openObjectRecords(body, {
            stream: this.name,
            bucket: this.store.bucket,
            key: ref.key,
            file,
            delimiter: this.table.delimiter,
            properties,
            knownColumns,
            valueHint: this.valueHint,
            onUnknownColumns: (columns) => {
              const fresh = columns.filter((column) => !this.reportedUnknown.has(column));
              if (fresh.length === 0) return;
              for (const column of fresh) this.reportedUnknown.add(column);
              logger.warn(
                `${file} has column(s) the catalog does not know, not emitted: ${fresh.map((c) => JSON.stringify(c)).join(', ')} (run discovery again to include them)`,
              );
            },
          });
          // NOTE: records go out as JSON text, a batch per chunk of the object, encoded straight
          // from the CSV fields: no object per record to build and serialise, and one await per
          // batch rather than per record (see `encodedBatches`).
          try {
            yield* object.encodedBatches;
          } finally {
            object.close();
          }
        }
      }
      bookmark = advanceBookmark(bookmark, ref);
      await context.setBookmark(toBookmarkValue(bookmark));
      unsaved = false;
    }
    if (bookmark?.earlier !== undefined && plan.earlierSettled) {
      logger.info(`every object read under the earlier split ${formatSplit(bookmark.earlier.split)} is behind the bookmark now: its bookmarks are dropped`);
      bookmark = withoutEarlier(bookmark);
      unsaved = true;
    }
    if (unsaved && bookmark !== undefined) await context.setBookmark(toBookmarkValue(bookmark));
  }
}
