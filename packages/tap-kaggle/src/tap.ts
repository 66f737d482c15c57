import { createHash } from 'node:crypto';

import {
  buildMetadata,
  type Catalog,
  type CatalogEntry,
  ConfigError,
  isStreamSelected,
  openCsv,
  type RunContext,
  SchemaInferrer,
  SingerError,
  SourceError,
  type State,
  streamMetadata,
  Tap,
} from '@singer-ts/singer';

import type { DatasetArchive, DatasetFile } from './archive';
import type { TapKaggleConfig } from './config';
import type { CredentialSources } from './credentials';
import { type CsvFileSource, CsvFileStream, type KaggleBookmark, parseBookmark } from './csv-file-stream';
import { DatasetSource } from './dataset-source';
import { type FileChoice, selectFiles, streamNameOf } from './file-selection';

/** Stream-level catalog metadata naming the dataset file a stream reads. */
export const FILE_METADATA_KEY = 'kaggle-file';

/** One line of `--list-units`: a selected file of the dataset. */
export interface KaggleUnitListing {
  unit: string;
  stream: string;
  /** The file's size as the archive lists it (uncompressed inside a zip). */
  bytes: number;
}

export interface TapKaggleOptions {
  /** Where credentials are looked for (default: the process environment and home folder). */
  readonly credentialSources?: CredentialSources;
  readonly userAgent?: string;
}

/**
 * A Kaggle dataset's CSV files, one stream each. The dataset's version is the bookmark: a
 * stream already emitted whole at the current version is left out of the next sync, and when
 * none is left the archive is not even downloaded.
 */
export class TapKaggle extends Tap<TapKaggleConfig> {
  private readonly source: DatasetSource;
  private syncing = false;
  private choicesPromise: Promise<readonly FileChoice[]> | undefined;
  /** A fingerprint of the selection config, kept in bookmarks. */
  private readonly selection: string;

  constructor(config: TapKaggleConfig, context: RunContext, options: TapKaggleOptions = {}) {
    super(config, context);
    this.source = new DatasetSource({
      config,
      logger: context.logger,
      signal: context.signal,
      redactor: context.redactor,
      credentialSources: options.credentialSources,
      userAgent: options.userAgent,
    });
    this.selection = createHash('sha256')
      .update(JSON.stringify({ files: config.files ?? null, stream_names: config.streamNames }))
      .digest('hex')
      .slice(0, 12);
  }

  /** Removes the temporary download however the run ended (the SDK calls it once). */
  override async close(): Promise<void> {
    await this.source.close();
  }

  override async discover(): Promise<CatalogEntry[]> {
    try {
      const archive = await this.source.open();
      const choices = await this.choices(archive);
      const entries: CatalogEntry[] = [];
      for (const choice of choices) {
        const file = findFile(archive, choice.file);
        const entry = await this.discoverFile(file, choice.stream);
        if (entry) entries.push(entry);
      }
      const unknownKeys = Object.keys(this.config.keyProperties).filter((stream) => !choices.some((c) => c.stream === stream));
      if (unknownKeys.length > 0) {
        this.context.logger.warn(`"key_properties" names streams the tap does not emit: ${unknownKeys.join(', ')}`);
      }
      return entries;
    } finally {
      // Discovery during a sync (no catalog) keeps the archive open for the records.
      if (!this.syncing) await this.source.close();
    }
  }

  override createStream(entry: CatalogEntry): CsvFileStream {
    const source: CsvFileSource = {
      dataset: this.config.dataset.ref,
      resolveVersion: () => this.source.resolveVersion(),
      open: () => this.source.open(),
      fileFor: (e, archive) => this.fileFor(e, archive),
      delimiter: this.config.delimiter,
      stateIntervalRows: this.config.stateIntervalRows,
      selection: this.selection,
    };
    return new CsvFileStream(entry, source);
  }

  /**
   * Leaves out streams whose bookmark says they were emitted whole at the version this run
   * would read. Without a catalog, state alone decides: if every bookmark of this dataset is
   * complete at the current version for the same selection, nothing is downloaded.
   */
  /** A unit's run keeps only its file's bookmark, so that units' states never overlap. */
  protected override prepareState(state: State, catalog: Catalog | undefined): State {
    const unit = this.config.unit;
    if (unit === undefined) return state;
    const stream = this.unitStream(unit, catalog);
    const bookmark = state.bookmarks?.[stream];
    return bookmark === undefined ? {} : { bookmarks: { [stream]: bookmark } };
  }

  /** The stream a unit's file is emitted as: its catalog entry's, else its name by `stream_names`. */
  private unitStream(unit: string, catalog: Catalog | undefined): string {
    const entry = catalog?.streams.find((e) => streamMetadata(e)[FILE_METADATA_KEY] === unit);
    return entry?.tap_stream_id ?? streamNameOf(unit, this.config.streamNames);
  }

  /** Whether a catalog entry reads the unit's file: by its `kaggle-file`, else by stream name. */
  private readsUnit(entry: CatalogEntry, unit: string): boolean {
    const file = streamMetadata(entry)[FILE_METADATA_KEY];
    if (typeof file === 'string') return file === unit;
    const stream = streamNameOf(unit, this.config.streamNames);
    return entry.tap_stream_id === stream || entry.stream === stream;
  }

  /**
   * `--list-units`: each selected file (by `files`, and by the catalog when one is given) with
   * its stream and size, from the archive's listing (downloading it as a sync would), in file
   * name order. With `--unit`, that file alone.
   */
  override async *listUnits(catalog: Catalog | undefined): AsyncIterable<KaggleUnitListing> {
    const archive = await this.source.open();
    let choices = [...(await this.choices(archive))];
    if (catalog !== undefined) {
      const selected = catalog.streams.filter(isStreamSelected);
      choices = choices.filter((choice) =>
        selected.some((entry) => {
          const file = streamMetadata(entry)[FILE_METADATA_KEY];
          return typeof file === 'string' ? file === choice.file : entry.tap_stream_id === choice.stream || entry.stream === choice.stream;
        }),
      );
    }
    choices.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
    for (const choice of choices) {
      const file = findFile(archive, choice.file);
      yield { unit: choice.file, stream: choice.stream, bytes: file.bytes ?? file.storedBytes ?? 0 };
    }
  }

  protected override async entriesToSync(catalog: Catalog | undefined, state: State): Promise<CatalogEntry[]> {
    const { logger } = this.context;
    this.syncing = true;
    const onAbort = (): void => void this.source.close();
    this.context.signal.addEventListener('abort', onAbort, { once: true });
    const ref = this.config.dataset.ref;
    const version = await this.source.resolveVersion();
    if (version === undefined) {
      if (this.source.isLocal) logger.info(`no "dataset_version" for ${this.config.archivePath}: emitting every selected file`);
      return this.narrowToUnit(await super.entriesToSync(catalog, state), catalog);
    }
    const bookmarks = Object.entries(state.bookmarks ?? {})
      .map(([stream, value]) => ({ stream, bookmark: parseBookmark(value) }))
      .filter((b) => b.bookmark?.dataset === ref);
    const isCurrent = (stream: string, file?: string): boolean => {
      const found = bookmarks.find((b) => b.stream === stream)?.bookmark;
      return (
        found !== undefined &&
        found.done &&
        found.version === version &&
        (file === undefined || found.file === file) &&
        (found.selection === undefined || found.selection === this.selection)
      );
    };
    const unchanged = `dataset ${ref} is still at version ${version}, as at the last run`;

    if (!catalog && bookmarks.length > 0 && bookmarks.every((b) => isCurrent(b.stream))) {
      logger.info(`${unchanged}: nothing to download or emit`);
      return [];
    }
    const entries = this.narrowToUnit(await super.entriesToSync(catalog, state), catalog);
    const kept: CatalogEntry[] = [];
    for (const entry of entries) {
      const file = streamMetadata(entry)[FILE_METADATA_KEY];
      if (isCurrent(entry.tap_stream_id, typeof file === 'string' ? file : undefined)) {
        logger.info(`stream ${entry.stream}: already emitted whole from version ${version}; left out`);
        continue;
      }
      const previous = bookmarks.find((b) => b.stream === entry.tap_stream_id)?.bookmark;
      if (previous && (await this.isUnchangedFile(entry, previous))) {
        // A new version that did not touch this file: nothing to emit, but the bookmark moves
        // on, so the next run knows the stream is current without downloading.
        logger.info(
          `stream ${entry.stream}: ${previous.file} is the same in version ${version} as in version ${previous.version} (same CRC-32 and size); left out`,
        );
        this.carriedBookmarks.set(entry.tap_stream_id, { ...previous, version });
        continue;
      }
      kept.push(entry);
    }
    if (entries.length > 0 && kept.length === 0) logger.info(`${unchanged}: nothing to download or emit`);
    return kept;
  }

  /** A unit's run syncs only the catalog entry of its file. */
  private narrowToUnit(entries: CatalogEntry[], catalog: Catalog | undefined): CatalogEntry[] {
    const unit = this.config.unit;
    if (unit === undefined || catalog === undefined) return entries;
    const mine = entries.filter((entry) => this.readsUnit(entry, unit));
    if (mine.length === 0) {
      throw new ConfigError(`the catalog does not select a stream reading file ${JSON.stringify(unit)}, the unit to emit`, {
        code: 'CATALOG_INVALID',
        hint: 'Select its stream in the catalog (run --discover again), or emit another unit',
      });
    }
    return mine;
  }

  /** Whether a file emitted whole earlier has the same content fingerprint in the archive now. */
  private async isUnchangedFile(entry: CatalogEntry, previous: KaggleBookmark): Promise<boolean> {
    if (!previous.done || previous.fingerprint === undefined) return false;
    if (previous.selection !== undefined && previous.selection !== this.selection) return false;
    const file = await this.fileFor(entry, await this.source.open());
    return file.name === previous.file && file.fingerprint === previous.fingerprint;
  }

  private choices(archive: DatasetArchive): Promise<readonly FileChoice[]> {
    this.choicesPromise ??= (async () => {
      const selection = selectFiles(
        archive.files.map((f) => f.name),
        { files: this.config.files, streamNames: this.config.streamNames },
      );
      for (const warning of selection.warnings) this.context.logger.warn(warning);
      if (selection.choices.length === 0) {
        this.context.logger.warn(`no file of ${this.config.dataset.ref} is selected (it has ${archive.files.length} files)`);
      }
      const unit = this.config.unit;
      if (unit === undefined) return selection.choices;
      // A unit is one of the selected files: as if `files` named it alone.
      const chosen = selection.choices.filter((choice) => choice.file === unit);
      if (chosen.length === 0) {
        throw new ConfigError(`unit ${JSON.stringify(unit)} is not a file of dataset ${this.config.dataset.ref} that the config selects`, {
          code: 'UNIT_UNKNOWN',
          column: 'unit',
          hint: `Run --list-units for the units; the selected files are: ${selection.choices.map((c) => c.file).join(', ') || 'none'}`,
        });
      }
      return chosen;
    })();
    return this.choicesPromise;
  }

  /** The file a catalog entry reads: its `kaggle-file` metadata, else the file whose stream name it has. */
  private async fileFor(entry: CatalogEntry, archive: DatasetArchive): Promise<DatasetFile> {
    const named = streamMetadata(entry)[FILE_METADATA_KEY];
    if (typeof named === 'string') {
      const file = archive.files.find((f) => f.name === named);
      if (file) return file;
      throw new SourceError(`the catalog reads file ${JSON.stringify(named)}, which dataset ${this.config.dataset.ref} does not have`, {
        code: 'SOURCE_NOT_FOUND',
        stream: entry.stream,
        hint: `Run --discover again; the dataset has: ${archive.files.map((f) => f.name).join(', ')}`,
      });
    }
    const choice = (await this.choices(archive)).find((c) => c.stream === entry.tap_stream_id || c.stream === entry.stream);
    if (!choice) {
      throw new SourceError(`no file of dataset ${this.config.dataset.ref} becomes stream ${JSON.stringify(entry.stream)}`, {
        code: 'SOURCE_NOT_FOUND',
        stream: entry.stream,
        hint: 'Map the file to this stream in "stream_names", or run --discover again',
      });
    }
    return findFile(archive, choice.file);
  }

  private async discoverFile(file: DatasetFile, stream: string): Promise<CatalogEntry | undefined> {
    const { logger } = this.context;
    const where = { stream, file: file.location };
    const keys = [...(this.config.keyProperties[stream] ?? [])];
    const inferrer = new SchemaInferrer({ keyProperties: keys });
    let header: readonly string[];
    const csv = await openCsv(await file.open(), { delimiter: this.config.delimiter, ...where });
    try {
      header = csv.header;
      if (header.length === 0) {
        logger.warn(`${file.name} is empty (no header): left out of the catalog`);
        return undefined;
      }
      inferrer.addHeader(header);
      let sampled = 0;
      for await (const row of csv.rows) {
        inferrer.addRow(row.fields);
        sampled += 1;
        if (sampled >= this.config.sampleSize) break;
      }
      logger.info(`discovered stream ${stream} from ${file.name}: ${header.length} columns, types from ${sampled} rows`);
    } catch (error) {
      if (error instanceof SingerError) throw error.locate(where);
      throw new SourceError(`cannot read the file: ${(error as Error).message}`, { ...where, cause: error });
    } finally {
      csv.close();
    }
    const unknown = keys.filter((key) => !header.includes(key));
    if (unknown.length > 0) {
      throw new ConfigError(`"key_properties" of stream ${stream} names columns ${file.name} lacks: ${unknown.join(', ')}`, {
        stream,
        hint: `Its columns are: ${header.join(', ')}`,
      });
    }
    const schema = inferrer.schema();
    return {
      tap_stream_id: stream,
      stream,
      schema,
      key_properties: keys,
      replication_method: 'FULL_TABLE',
      metadata: buildMetadata({
        keyProperties: keys,
        properties: Object.keys(schema.properties ?? {}),
        replicationMethod: 'FULL_TABLE',
        selectedByDefault: true,
        extra: { [FILE_METADATA_KEY]: file.name },
      }),
    };
  }
}

function findFile(archive: DatasetArchive, name: string): DatasetFile {
  const file = archive.files.find((f) => f.name === name);
  if (!file) throw new SourceError(`the dataset has no file ${JSON.stringify(name)}`, { code: 'SOURCE_NOT_FOUND', file: name });
  return file;
}
