import {
  type Catalog,
  type CatalogEntry,
  ConfigError,
  isStreamSelected,
  type RunContext,
  type State,
  streamMetadata,
  Tap,
} from '@singer-ts/singer';

import type { TableSpec, TapMinioCsvConfig } from './config';
import { CsvObjectStream } from './csv-object-stream';
import { discoverTable } from './discovery';
import { isRead, parseBookmark } from './object-lister';
import type { ObjectStore } from './object-store';
import { createS3Client } from './s3-client';
import { S3ObjectStore } from './s3-object-store';
import {
  findUnit,
  formatSplit,
  parseUnitRecord,
  toUnitRecord,
  type Unit,
  unitIdOf,
  type UnitRecord,
  type UnitSplit,
} from './units';

/** One line of `--list-units`. */
export interface UnitListing {
  unit: string;
  table: string;
  /** Objects a sync from the given state (none: from scratch) would read, and their bytes. */
  objects: number;
  bytes: number;
}

const SPLIT_CHANGE_HINT =
  'Give each unit its own last state. To change unit_split, merge the old units\' last states with `tap-minio-csv --merge-states FILE…` and start every new unit from the merged state';

/**
 * CSV objects in MinIO/S3, one stream per configured table. Reads the configs of the PyPI
 * tap-minio-csv / tap-s3-csv family, honours `--catalog` and `-p/--properties` selection, and
 * syncs incrementally by object modification time. With `unit_split`, a table's objects split
 * into units of work (see `units.ts`); `--unit` syncs one of them.
 */
export class TapMinioCsv extends Tap<TapMinioCsvConfig> {
  private readonly store: ObjectStore;

  /** `store` replaces S3 (tests read local files through it). */
  constructor(config: TapMinioCsvConfig, context: RunContext, store?: ObjectStore) {
    super(config, context);
    this.store = store ?? new S3ObjectStore(createS3Client(config), config.bucket, { logger: context.logger });
  }

  override async discover(): Promise<CatalogEntry[]> {
    const unit = this.config.unit;
    const entries: CatalogEntry[] = [];
    for (const table of unit ? [unit.table] : this.config.tables) {
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
      unit: this.config.unit,
      sampleSize: this.config.sampleSize,
    });
  }

  /**
   * A unit's run keeps only its table's bookmark and records which unit of which split it is;
   * a state another unit or split wrote is refused (see `checkState`). A run without a unit
   * takes a whole-table state (including a merged one) as it is.
   */
  protected override prepareState(state: State): State {
    const unit = this.config.unit;
    const recorded = this.checkState(state, unit);
    if (unit === undefined) {
      if (recorded === undefined) return state;
      // A unit of no split is its whole table: its state is a whole-table state.
      const rest = { ...state };
      delete rest.unit;
      return rest;
    }
    const bookmark = state.bookmarks?.[unit.table.tableName];
    return {
      ...(bookmark !== undefined ? { bookmarks: { [unit.table.tableName]: bookmark } } : {}),
      unit: toUnitRecord(unit),
    };
  }

  /**
   * Refuses a state that another unit or another split wrote: its bookmarks do not describe
   * this run's objects, and taking them would skip or re-read objects. A state without a
   * unit (a run without units, or `--merge-states`) covers whole tables, so every unit of any
   * split can start from it.
   */
  private checkState(state: State, unit: Unit | undefined): UnitRecord | undefined {
    const recorded = parseUnitRecord(state.unit);
    if (recorded === undefined) return undefined;
    const split = formatSplit(unit?.split ?? { kind: 'none' });
    if (unit === undefined) {
      if (recorded.split === 'none') return recorded;
      throw new ConfigError(
        `the state was written by unit ${JSON.stringify(recorded.id)} of unit_split ${recorded.split}, and this run syncs whole tables`,
        { code: 'STATE_SPLIT_MISMATCH', hint: `Sync that unit with --unit, or merge every unit's last state with \`tap-minio-csv --merge-states FILE…\` and start from the merged state` },
      );
    }
    if (recorded.split !== split || recorded.id !== unit.id) {
      const sameSplit = recorded.split === split;
      throw new ConfigError(
        `the state was written by unit ${JSON.stringify(recorded.id)} of unit_split ${recorded.split}, not by unit ${JSON.stringify(unit.id)} of unit_split ${split}`,
        { code: sameSplit ? 'STATE_UNIT_MISMATCH' : 'STATE_SPLIT_MISMATCH', hint: SPLIT_CHANGE_HINT },
      );
    }
    return recorded;
  }

  /** A unit's run syncs only its table's stream; no stream asking for full-table versions is split. */
  protected override async entriesToSync(catalog: Catalog | undefined, state: State): Promise<CatalogEntry[]> {
    const unit = this.config.unit;
    const entries = await super.entriesToSync(catalog, state);
    if (unit === undefined) return entries;
    const mine = entries.filter((entry) => this.tableOf(entry) === unit.table);
    if (mine.length === 0) {
      throw new ConfigError(
        `the catalog does not select stream ${JSON.stringify(unit.table.tableName)}, the table of unit ${JSON.stringify(unit.id)}`,
        { code: 'CATALOG_INVALID', hint: 'Select the stream in the catalog, or sync another unit' },
      );
    }
    for (const entry of mine) this.checkSplittable(entry, unit.split);
    return mine;
  }

  /**
   * Refuses to split a stream whose catalog asks for FULL_TABLE replication: a full-table
   * sync ends with ACTIVATE_VERSION, which tells the target to drop every row of other
   * versions, so each unit would remove the rows of the others.
   */
  private checkSplittable(entry: CatalogEntry, split: UnitSplit): void {
    if (split.kind === 'none') return;
    const method = streamMetadata(entry)['replication-method'] ?? entry.replication_method;
    if (typeof method === 'string' && method.toUpperCase() === 'FULL_TABLE') {
      throw new ConfigError(
        `the catalog asks for FULL_TABLE replication of stream ${JSON.stringify(entry.stream)}: a full-table version (ACTIVATE_VERSION) cannot be split into units, as each unit would remove the others' rows`,
        { code: 'UNIT_NOT_SPLITTABLE', stream: entry.stream, hint: 'Sync the stream without unit_split, or make it INCREMENTAL in the catalog' },
      );
    }
  }

  /**
   * `--list-units`: per table (the selected ones when a catalog is given, in config order),
   * its units under `unit_split`, each with the objects a sync would read and their bytes. A
   * state counts only what it has not read: a whole-table state for every unit, a unit's state
   * for that unit alone (then the only one listed). `--unit` lists that unit alone.
   */
  override async *listUnits(catalog: Catalog | undefined, state: State): AsyncIterable<UnitListing> {
    const split = this.config.unitSplit;
    let only = this.config.unit;
    if (only === undefined) {
      const recorded = parseUnitRecord(state.unit);
      if (recorded !== undefined) {
        if (recorded.split !== formatSplit(split)) {
          throw new ConfigError(
            `the state was written by unit ${JSON.stringify(recorded.id)} of unit_split ${recorded.split}, and this config's unit_split is ${formatSplit(split)}`,
            { code: 'STATE_SPLIT_MISMATCH', hint: SPLIT_CHANGE_HINT },
          );
        }
        only = findUnit(recorded.id, this.config.tables, split);
      }
    } else {
      this.checkState(state, only);
    }
    for (const table of this.tablesToList(catalog, only)) {
      this.context.signal.throwIfAborted();
      yield* this.listTableUnits(table, only?.split ?? split, only, state.bookmarks?.[table.tableName]);
    }
  }

  private tablesToList(catalog: Catalog | undefined, only: Unit | undefined): TableSpec[] {
    let tables = only ? [only.table] : [...this.config.tables];
    if (catalog !== undefined) {
      const selected = catalog.streams.filter(isStreamSelected);
      for (const entry of selected) this.checkSplittable(entry, only?.split ?? this.config.unitSplit);
      const chosen = new Set(selected.map((entry) => this.tableOf(entry)));
      tables = tables.filter((table) => chosen.has(table));
    }
    return tables;
  }

  private async *listTableUnits(
    table: TableSpec,
    split: UnitSplit,
    only: Unit | undefined,
    bookmarkValue: unknown,
  ): AsyncIterable<UnitListing> {
    const bookmark = parseBookmark(bookmarkValue, table);
    const counts = new Map<string, UnitListing>();
    const count = (id: string): UnitListing => {
      let entry = counts.get(id);
      if (entry === undefined) {
        entry = { unit: id, table: table.tableName, objects: 0, bytes: 0 };
        counts.set(id, entry);
      }
      return entry;
    };
    // Units that exist whatever the objects: each shard of a hash split, a whole table.
    if (only !== undefined) count(only.id);
    else if (split.kind === 'hash') for (let k = 0; k < split.shards; k += 1) count(`${table.tableName}:hash:${k}of${split.shards}`);
    else if (split.kind === 'none') count(table.tableName);
    const startDate = this.config.startDate?.getTime();
    for await (const ref of this.store.list(only?.listPrefix ?? table.searchPrefix, this.context.signal)) {
      if (!table.searchPattern.test(ref.key)) continue;
      if (startDate !== undefined && ref.lastModified.getTime() < startDate) continue;
      const id = unitIdOf(table, split, ref.key);
      if (only !== undefined && id !== only.id) continue;
      const entry = count(id);
      if (isRead(ref, bookmark)) continue;
      entry.objects += 1;
      entry.bytes += ref.size;
    }
    const listed = [...counts.values()];
    if (split.kind === 'hash') listed.sort((a, b) => shardNumber(a.unit) - shardNumber(b.unit));
    else listed.sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0));
    yield* listed;
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

/** `orders:hash:3of8` → 3. */
function shardNumber(id: string): number {
  const match = /:hash:(\d+)of\d+$/.exec(id);
  return match ? Number(match[1]) : 0;
}
