import {
  type CatalogEntry,
  compileCsvRecordEncoder,
  type CsvRow,
  EncodedRecords,
  openCsv,
  SingerError,
  SourceError,
  Stream,
  type StreamContext,
} from '@singer-ts/singer';

import type { DatasetArchive, DatasetFile } from './archive';

/**
 * A stream's bookmark: which dataset version and file it read, and how far. `done` marks the
 * file emitted whole; `line` (with `done` false) is the last CSV line emitted, a resume point
 * valid only for the same version, since Kaggle never changes a version's files.
 */
export interface KaggleBookmark {
  readonly dataset: string;
  /** null when the version is unknown (`archive_path` without `dataset_version`). */
  readonly version: number | null;
  readonly file: string;
  readonly done: boolean;
  readonly line?: number;
  /** A fingerprint of `files` and `stream_names`, so a changed selection is not mistaken for "nothing new". */
  readonly selection?: string;
  /** The file's content fingerprint when it was emitted (see `DatasetFile.fingerprint`). */
  readonly fingerprint?: string;
}

/** The bookmark's fields when `value` looks like one of ours; undefined otherwise. */
export function parseBookmark(value: unknown): KaggleBookmark | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const b = value as Record<string, unknown>;
  if (typeof b.dataset !== 'string' || typeof b.file !== 'string') return undefined;
  return {
    dataset: b.dataset,
    version: typeof b.version === 'number' ? b.version : null,
    file: b.file,
    done: b.done === true,
    ...(typeof b.line === 'number' ? { line: b.line } : {}),
    ...(typeof b.selection === 'string' ? { selection: b.selection } : {}),
    ...(typeof b.fingerprint === 'string' ? { fingerprint: b.fingerprint } : {}),
  };
}

/** What a `CsvFileStream` reads from; the tap provides it. */
export interface CsvFileSource {
  /** The dataset, `owner/slug`. */
  readonly dataset: string;
  /** The version being read (undefined when unknown). */
  resolveVersion(): Promise<number | undefined>;
  /** The opened dataset (downloaded on first use). */
  open(): Promise<DatasetArchive>;
  /** The dataset file this stream reads, found in the opened archive. */
  fileFor(entry: CatalogEntry, archive: DatasetArchive): Promise<DatasetFile>;
  readonly delimiter: string;
  /** Rows between resumable bookmarks (0: only at the end). */
  readonly stateIntervalRows: number;
  readonly selection: string;
}

/**
 * One CSV file of the dataset as a stream: every row, converted to the catalog's types, as a
 * record (JSON text). Rows are read straight from the archive entry; nothing holds the file.
 */
export class CsvFileStream extends Stream {
  constructor(
    entry: CatalogEntry,
    private readonly source: CsvFileSource,
  ) {
    super(entry);
  }

  override async *getRecords(context: StreamContext): AsyncIterable<EncodedRecords> {
    const version = await this.source.resolveVersion();
    const archive = await this.source.open();
    const file = await this.source.fileFor(this.entry, archive);
    const previous = parseBookmark(context.bookmark);
    const resumable =
      previous !== undefined &&
      version !== undefined &&
      previous.version === version &&
      previous.dataset === this.source.dataset &&
      previous.file === file.name &&
      !previous.done &&
      previous.line !== undefined;
    const resumeAfter = resumable ? (previous.line ?? 0) : 0;
    if (resumeAfter > 0) {
      context.logger.info(`resuming ${file.name} of version ${version} after line ${resumeAfter}, where the last run stopped`);
    }
    const bookmark = (fields: { done: boolean; line?: number }): KaggleBookmark => ({
      dataset: this.source.dataset,
      version: version ?? null,
      file: file.name,
      selection: this.source.selection,
      ...(file.fingerprint !== undefined ? { fingerprint: file.fingerprint } : {}),
      ...fields,
    });

    const where = { stream: this.name, file: file.location };
    const csv = await openCsv(await file.open(), { delimiter: this.source.delimiter, ...where });
    try {
      if (csv.header.length === 0) {
        context.logger.warn(`${file.name} is empty (no header): no records`);
      } else {
        const missing = Object.keys(this.schema.properties ?? {}).filter((name) => !csv.header.includes(name));
        if (missing.length > 0) {
          context.logger.warn(`${file.name} has no column ${missing.map((m) => JSON.stringify(m)).join(', ')}: null in every record`);
        }
        // Deselected columns are known to the catalog; a column it has never seen means the file changed.
        const known = this.entry.schema.properties ?? {};
        const unknown = csv.header.filter((name) => !(name in known));
        if (unknown.length > 0) {
          context.logger.warn(
            `${file.name} has columns the catalog does not know, left out: ${unknown.map((u) => JSON.stringify(u)).join(', ')} (run --discover again to add them)`,
          );
        }
      }
      let encode;
      try {
        encode = compileCsvRecordEncoder(this.schema.properties ?? {}, csv.header, { head: '{', tail: '}' });
      } catch (error) {
        // A column the file lacks, which the catalog says may not be null.
        throw locate(error, { ...where, line: 1 });
      }
      // NOTE: records go out as JSON text, a batch per chunk of the file, encoded straight from
      // the CSV fields (as tap-minio-csv's are): no object per record to build and serialise,
      // and one await per batch. A batch is cut where a bookmark falls, so each STATE follows
      // exactly the records up to its line.
      const interval = this.source.stateIntervalRows;
      let sinceBookmark = 0;
      const batches = csv.rowBatches[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<readonly CsvRow[]>;
        try {
          next = await batches.next();
        } catch (error) {
          // A bad CSV row, or the archive entry failing under it (CRC, truncation).
          throw locate(error, where);
        }
        if (next.done) break;
        let texts: string[] = [];
        for (const row of next.value) {
          if (row.line <= resumeAfter) continue;
          try {
            texts.push(encode(row.fields));
          } catch (error) {
            // The records before the bad one go out first, as one by one they would.
            if (texts.length > 0) yield new EncodedRecords(texts);
            throw locate(error, { ...where, line: row.line });
          }
          sinceBookmark += 1;
          if (interval > 0 && sinceBookmark >= interval) {
            sinceBookmark = 0;
            yield new EncodedRecords(texts);
            texts = [];
            await context.setBookmark(bookmark({ done: false, line: row.line }));
          }
        }
        if (texts.length > 0) yield new EncodedRecords(texts);
      }
    } finally {
      csv.close();
    }
    await context.setBookmark(bookmark({ done: true }));
  }
}

/** Adds the location to a `SingerError`; wraps anything else (a broken archive entry) as a `SourceError`. */
function locate(error: unknown, location: { stream: string; file: string; line?: number }): SingerError {
  if (error instanceof SingerError) return error.locate(location);
  return new SourceError(`cannot read the file: ${(error as Error).message}`, { ...location, cause: error });
}
