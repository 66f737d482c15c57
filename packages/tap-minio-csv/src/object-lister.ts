/**
 * Which objects of a table a sync reads, in what order, and the bookmark that records progress.
 *
 * S3's LastModified has one-second resolution, so a bookmark that is only a time either skips
 * objects that share the bookmark's second (the legacy tap's `>`) or reads them twice (`>=`).
 * The bookmark here is the second of the last object read *and the keys already read at that
 * second*; objects are read in (LastModified, key) order, so everything before that pair is
 * done and everything after it is not.
 *
 * Objects written while a sync runs: every sync takes the S3 server's clock first (its
 * "cutoff", a whole second) and reads only objects last modified before it. Any object that
 * appears later, or is stamped at or after that second, is left to the next sync, which reads
 * it because it is after the bookmark. The listing therefore holds the complete set of objects
 * before the cutoff: one written during the listing, on a page already passed, cannot be
 * skipped by a later object on a later page moving the bookmark past it.
 *
 * Units (see `units.ts`): a unit's bookmark is the same pair, over the unit's objects only. A
 * bookmark may also carry `earlier`, the bookmarks of the units of another split (a state
 * merged from them, see `merge-states.ts`): an object one of them says is read is read. A
 * sync walks past such objects without reading them, moving its own position over them, and
 * drops `earlier` once its position covers every object `earlier` had read.
 */
import { ConfigError } from '@singer-ts/singer';

import type { TableSpec } from './config';
import { parseInstant } from './config';
import type { ObjectRef, ObjectStore } from './object-store';
import { formatSplit, parseSplit, type Unit, unitIdOf, type UnitSplit } from './units';

/** Progress of one table (or one unit of it), as read from and written to STATE. */
export interface Bookmark {
  /**
   * The LastModified second of the last object read; undefined when the bookmark has no
   * position of its own yet (a state merged from units of another split).
   */
  readonly modifiedSince: Date | undefined;
  /**
   * Keys already read whose LastModified is exactly `modifiedSince`. `undefined` for a legacy
   * bookmark (tap-s3-csv's `{"modified_since": …}` alone), which meant "everything up to and
   * including that second was read", as that tap did.
   */
  readonly keysAtModifiedSince: ReadonlySet<string> | undefined;
  /** What the units of another split had read (see the module comment). */
  readonly earlier?: EarlierSplit | undefined;
}

/** The bookmarks of the units of an earlier split, kept in a bookmark until they are covered. */
export interface EarlierSplit {
  readonly split: UnitSplit;
  /** Unit id (of `split`) -> that unit's bookmark (undefined: the unit had read nothing). */
  readonly bookmarks: ReadonlyMap<string, Bookmark | undefined>;
  /** The bookmark of every unit `bookmarks` does not name (units that had no state of their own). */
  readonly otherUnits?: Bookmark | undefined;
  /** The unit of `split` an object key belongs to. */
  unitOf(key: string): string;
}

/** The bookmark as written in STATE: the legacy tap's shape, extended. */
export interface BookmarkValue {
  modified_since?: string;
  keys_at_modified_since?: string[];
  earlier_split?: { split: string; bookmarks: Record<string, BookmarkValue>; other_units?: BookmarkValue };
}

/** Which objects a sync (or discovery) may read. */
export interface ObjectFilter {
  readonly pattern: RegExp;
  readonly startDate?: Date | undefined;
  readonly bookmark?: Bookmark | undefined;
  /** Objects modified at or after this second are left for the next sync. */
  readonly cutoff?: Date | undefined;
  /** Only this unit's objects (default: the whole table). */
  readonly unit?: Unit | undefined;
}

/** Order of reading: by LastModified second, then key (code-unit order, as S3 lists keys). */
export function compareObjects(a: ObjectRef, b: ObjectRef): number {
  const byTime = a.lastModified.getTime() - b.lastModified.getTime();
  if (byTime !== 0) return byTime;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Whether the bookmark's own position covers the object (its `earlier` split aside). */
export function isCovered(ref: ObjectRef, bookmark: Bookmark | undefined): boolean {
  if (bookmark?.modifiedSince === undefined) return false;
  const time = ref.lastModified.getTime();
  const mark = bookmark.modifiedSince.getTime();
  if (time !== mark) return time < mark;
  return bookmark.keysAtModifiedSince === undefined || bookmark.keysAtModifiedSince.has(ref.key);
}

/** Whether the units of the bookmark's earlier split read the object. */
export function isReadEarlier(ref: ObjectRef, bookmark: Bookmark | undefined): boolean {
  const earlier = bookmark?.earlier;
  if (earlier === undefined) return false;
  const unit = earlier.unitOf(ref.key);
  return isRead(ref, earlier.bookmarks.has(unit) ? earlier.bookmarks.get(unit) : earlier.otherUnits);
}

/** Whether the bookmark says the object was already read. */
export function isRead(ref: ObjectRef, bookmark: Bookmark | undefined): boolean {
  return isCovered(ref, bookmark) || isReadEarlier(ref, bookmark);
}

/** Whether the object matches the table (and unit) and its time window, whatever was read. */
function isCandidate(ref: ObjectRef, filter: ObjectFilter): boolean {
  if (filter.unit !== undefined && !filter.unit.contains(ref.key)) return false;
  if (!filter.pattern.test(ref.key)) return false;
  const time = ref.lastModified.getTime();
  if (filter.startDate !== undefined && time < filter.startDate.getTime()) return false;
  return filter.cutoff === undefined || time < filter.cutoff.getTime();
}

/** Whether a sync under `filter` reads the object. */
export function isWanted(ref: ObjectRef, filter: ObjectFilter): boolean {
  return isCandidate(ref, filter) && !isRead(ref, filter.bookmark);
}

/** The bookmark after reading `ref` (which must come after `bookmark` in reading order). */
export function advanceBookmark(bookmark: Bookmark | undefined, ref: ObjectRef): Bookmark {
  const earlier = bookmark?.earlier;
  if (bookmark?.modifiedSince !== undefined && bookmark.modifiedSince.getTime() === ref.lastModified.getTime()) {
    const keys = new Set(bookmark.keysAtModifiedSince ?? []);
    keys.add(ref.key);
    return { modifiedSince: bookmark.modifiedSince, keysAtModifiedSince: keys, earlier };
  }
  return { modifiedSince: ref.lastModified, keysAtModifiedSince: new Set([ref.key]), earlier };
}

/** The bookmark without its earlier split, once its position covers all that split had read. */
export function withoutEarlier(bookmark: Bookmark): Bookmark {
  return { modifiedSince: bookmark.modifiedSince, keysAtModifiedSince: bookmark.keysAtModifiedSince };
}

/** `2024-05-01T10:00:00Z`: whole seconds, as S3 stamps them. */
export function formatInstant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toBookmarkValue(bookmark: Bookmark): BookmarkValue {
  const value: BookmarkValue = {};
  if (bookmark.modifiedSince !== undefined) {
    value.modified_since = formatInstant(bookmark.modifiedSince);
    // A legacy bookmark (no keys: all of its second was read) keeps its meaning.
    if (bookmark.keysAtModifiedSince !== undefined) value.keys_at_modified_since = [...bookmark.keysAtModifiedSince].sort();
  }
  if (bookmark.earlier !== undefined) {
    const bookmarks: Record<string, BookmarkValue> = {};
    for (const [id, unitBookmark] of [...bookmark.earlier.bookmarks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      bookmarks[id] = unitBookmark === undefined ? {} : toBookmarkValue(unitBookmark);
    }
    value.earlier_split = { split: formatSplit(bookmark.earlier.split), bookmarks };
    if (bookmark.earlier.otherUnits !== undefined) value.earlier_split.other_units = toBookmarkValue(bookmark.earlier.otherUnits);
  }
  return value;
}

/**
 * Reads a table's (or unit's) bookmark from STATE: ours, or the legacy tap's
 * `{"modified_since": …}`. Anything else is a `STATE_INVALID` error naming the table. The
 * table's `search_prefix` places keys in the units of an `earlier_split` (a bare table name
 * stands for a table without one).
 */
export function parseBookmark(value: unknown, table: string | TableSpec): Bookmark | undefined {
  const spec: Pick<TableSpec, 'tableName' | 'searchPrefix'> =
    typeof table === 'string' ? { tableName: table, searchPrefix: '' } : table;
  const invalid = (what: string): ConfigError =>
    new ConfigError(`the state's bookmark ${what}`, {
      code: 'STATE_INVALID',
      stream: spec.tableName,
      hint: 'Pass the last state the pipeline printed, or none to read every object again',
    });
  const parse = (node: unknown): Bookmark | undefined => {
    if (node === undefined || node === null) return undefined;
    if (typeof node !== 'object' || Array.isArray(node)) throw invalid('must be an object');
    const raw = node as Record<string, unknown>;
    const earlier = parseEarlier(raw.earlier_split);
    if (raw.modified_since === undefined || raw.modified_since === null) {
      return earlier === undefined ? undefined : { modifiedSince: undefined, keysAtModifiedSince: undefined, earlier };
    }
    const modifiedSince = typeof raw.modified_since === 'string' ? parseInstant(raw.modified_since) : undefined;
    if (modifiedSince === undefined) throw invalid('has a "modified_since" that is not an ISO 8601 date-time');
    const keys = raw.keys_at_modified_since;
    if (keys !== undefined && !(Array.isArray(keys) && keys.every((key) => typeof key === 'string'))) {
      throw invalid('has a "keys_at_modified_since" that is not a list of keys');
    }
    // LastModified is compared in whole seconds; a legacy value may carry a fraction.
    const second = new Date(Math.floor(modifiedSince.getTime() / 1000) * 1000);
    return { modifiedSince: second, keysAtModifiedSince: keys === undefined ? undefined : new Set(keys as string[]), earlier };
  };
  const parseEarlier = (node: unknown): EarlierSplit | undefined => {
    if (node === undefined || node === null) return undefined;
    const raw = node as Record<string, unknown>;
    const split = typeof raw.split === 'string' ? parseSplit(raw.split) : undefined;
    if (typeof node !== 'object' || Array.isArray(node) || split === undefined || typeof raw.bookmarks !== 'object' || raw.bookmarks === null || Array.isArray(raw.bookmarks)) {
      throw invalid('has an "earlier_split" that is not {"split": "prefix:N" or "hash:N", "bookmarks": {unit id: bookmark}}');
    }
    const otherUnits = parse(raw.other_units);
    const bookmarks = new Map<string, Bookmark | undefined>();
    for (const [id, unitValue] of Object.entries(raw.bookmarks as Record<string, unknown>)) bookmarks.set(id, parse(unitValue));
    const tableSpec = spec as TableSpec;
    return { split, bookmarks, otherUnits, unitOf: (key) => unitIdOf(tableSpec, split, key) };
  };
  return parse(value);
}

/**
 * The table's objects a sync reads, in reading order.
 *
 * NOTE: sorting by LastModified needs the whole listing, because S3 lists in key order. Only
 * the matching, unread objects' references (key, size, ETag, time: about 150 bytes each) are
 * kept, never bodies: a table of a million pending objects costs ~150 MB here, so such a
 * table should be split by `search_prefix`. Listing pages are consumed one at a time.
 */
export async function listTableObjects(
  store: ObjectStore,
  table: TableSpec,
  filter: ObjectFilter,
  signal?: AbortSignal,
): Promise<ObjectRef[]> {
  const wanted: ObjectRef[] = [];
  for await (const ref of store.list(filter.unit?.listPrefix ?? table.searchPrefix, signal)) {
    if (isWanted(ref, filter)) wanted.push(ref);
  }
  return wanted.sort(compareObjects);
}

/** An object of a sync plan. */
export interface PlannedObject extends ObjectRef {
  /** Read under the bookmark's earlier split: the sync moves past it without reading it. */
  readonly alreadyRead?: boolean;
}

/** What a sync of one table (or unit) will read. */
export interface SyncPlan {
  /**
   * In reading order: every matching object before the cutoff that the bookmark's position
   * does not cover, including those its earlier split read (`alreadyRead`).
   */
  readonly objects: PlannedObject[];
  /** How many of `objects` are to be read (not `alreadyRead`). */
  readonly toRead: number;
  /** The server's clock when the listing started: objects stamped at or after it wait. */
  readonly cutoff: Date;
  /** Matching, unread objects stamped at or after the cutoff, left for the next sync. */
  readonly deferred: number;
  /**
   * Whether, once every object of the plan is past, the position covers all that the
   * bookmark's earlier split had read, so that the earlier split can be dropped.
   */
  readonly earlierSettled: boolean;
}

export interface PlanOptions {
  readonly startDate?: Date | undefined;
  readonly bookmark?: Bookmark | undefined;
  /** Only this unit's objects (default: the whole table). */
  readonly unit?: Unit | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Waits `ms` milliseconds (injectable for tests). */
  readonly wait?: (ms: number) => Promise<void>;
}

/** How often `planSync` lists again while the server clock is still in the first second. */
const MAX_CLOCK_WAITS = 3;

/**
 * Lists a table for a sync and splits off what must wait for the next one (see the module
 * comment). When objects carry the very second the sync started in (typically: uploaded just
 * before the tap was started), the planner waits for the server's clock to move on and lists
 * again, so they are read now rather than one sync later; that costs about a second, and only
 * then.
 */
export async function planSync(store: ObjectStore, table: TableSpec, options: PlanOptions = {}): Promise<SyncPlan> {
  const wait = options.wait ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const bookmark = options.bookmark;
  // The position alone filters the listing: what the earlier split read stays in the plan, so
  // that the position moves over it.
  const position = bookmark?.modifiedSince === undefined ? undefined : withoutEarlier(bookmark);
  const filter = { pattern: table.searchPattern, startDate: options.startDate, bookmark: position, unit: options.unit };
  let cutoff = await store.now(options.signal);
  let objects = await listTableObjects(store, table, filter, options.signal);
  const firstCutoff = cutoff.getTime();
  if (objects.some((ref) => ref.lastModified.getTime() >= firstCutoff)) {
    for (let attempt = 0; attempt < MAX_CLOCK_WAITS && cutoff.getTime() <= firstCutoff; attempt += 1) {
      await wait(1000);
      options.signal?.throwIfAborted();
      cutoff = await store.now(options.signal);
    }
    objects = await listTableObjects(store, table, filter, options.signal);
  }
  const limit = cutoff.getTime();
  const planned: PlannedObject[] = [];
  let toRead = 0;
  let deferred = 0;
  let earlierSettled = true;
  for (const ref of objects) {
    const alreadyRead = isReadEarlier(ref, bookmark);
    if (ref.lastModified.getTime() >= limit) {
      if (alreadyRead) earlierSettled = false;
      else deferred += 1;
    } else if (alreadyRead) {
      planned.push({ ...ref, alreadyRead });
    } else {
      planned.push(ref);
      toRead += 1;
    }
  }
  return { objects: planned, toRead, cutoff, deferred, earlierSettled };
}
