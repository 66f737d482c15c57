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
 */
import { ConfigError } from '@singer-ts/singer';

import type { TableSpec } from './config';
import { parseInstant } from './config';
import type { ObjectRef, ObjectStore } from './object-store';

/** Progress of one table, as read from and written to STATE. */
export interface Bookmark {
  /** The LastModified second of the last object read. */
  readonly modifiedSince: Date;
  /**
   * Keys already read whose LastModified is exactly `modifiedSince`. `undefined` for a legacy
   * bookmark (tap-s3-csv's `{"modified_since": …}` alone), which meant "everything up to and
   * including that second was read", as that tap did.
   */
  readonly keysAtModifiedSince: ReadonlySet<string> | undefined;
}

/** The bookmark as written in STATE: the legacy tap's shape, extended. */
export interface BookmarkValue {
  modified_since: string;
  keys_at_modified_since: string[];
}

/** Which objects a sync (or discovery) may read. */
export interface ObjectFilter {
  readonly pattern: RegExp;
  readonly startDate?: Date | undefined;
  readonly bookmark?: Bookmark | undefined;
  /** Objects modified at or after this second are left for the next sync. */
  readonly cutoff?: Date | undefined;
}

/** Order of reading: by LastModified second, then key (code-unit order, as S3 lists keys). */
export function compareObjects(a: ObjectRef, b: ObjectRef): number {
  const byTime = a.lastModified.getTime() - b.lastModified.getTime();
  if (byTime !== 0) return byTime;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

/** Whether the bookmark says the object was already read. */
export function isRead(ref: ObjectRef, bookmark: Bookmark | undefined): boolean {
  if (bookmark === undefined) return false;
  const time = ref.lastModified.getTime();
  const mark = bookmark.modifiedSince.getTime();
  if (time !== mark) return time < mark;
  return bookmark.keysAtModifiedSince === undefined || bookmark.keysAtModifiedSince.has(ref.key);
}

/** Whether a sync under `filter` reads the object. */
export function isWanted(ref: ObjectRef, filter: ObjectFilter): boolean {
  if (!filter.pattern.test(ref.key)) return false;
  const time = ref.lastModified.getTime();
  if (filter.startDate !== undefined && time < filter.startDate.getTime()) return false;
  if (filter.cutoff !== undefined && time >= filter.cutoff.getTime()) return false;
  return !isRead(ref, filter.bookmark);
}

/** The bookmark after reading `ref` (which must come after `bookmark` in reading order). */
export function advanceBookmark(bookmark: Bookmark | undefined, ref: ObjectRef): Bookmark {
  if (bookmark !== undefined && bookmark.modifiedSince.getTime() === ref.lastModified.getTime()) {
    const keys = new Set(bookmark.keysAtModifiedSince ?? []);
    keys.add(ref.key);
    return { modifiedSince: bookmark.modifiedSince, keysAtModifiedSince: keys };
  }
  return { modifiedSince: ref.lastModified, keysAtModifiedSince: new Set([ref.key]) };
}

/** `2024-05-01T10:00:00Z`: whole seconds, as S3 stamps them. */
export function formatInstant(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function toBookmarkValue(bookmark: Bookmark): BookmarkValue {
  return {
    modified_since: formatInstant(bookmark.modifiedSince),
    keys_at_modified_since: [...(bookmark.keysAtModifiedSince ?? [])].sort(),
  };
}

/**
 * Reads a table's bookmark from STATE: ours, or the legacy tap's `{"modified_since": …}`.
 * Anything else is a `STATE_INVALID` error naming the table.
 */
export function parseBookmark(value: unknown, table: string): Bookmark | undefined {
  if (value === undefined || value === null) return undefined;
  const invalid = (what: string): ConfigError =>
    new ConfigError(`the state's bookmark ${what}`, {
      code: 'STATE_INVALID',
      stream: table,
      hint: 'Pass the last state the pipeline printed, or none to read every object again',
    });
  if (typeof value !== 'object' || Array.isArray(value)) throw invalid('must be an object');
  const raw = value as Record<string, unknown>;
  if (raw.modified_since === undefined || raw.modified_since === null) return undefined;
  const modifiedSince = typeof raw.modified_since === 'string' ? parseInstant(raw.modified_since) : undefined;
  if (modifiedSince === undefined) throw invalid('has a "modified_since" that is not an ISO 8601 date-time');
  const keys = raw.keys_at_modified_since;
  if (keys !== undefined && !(Array.isArray(keys) && keys.every((key) => typeof key === 'string'))) {
    throw invalid('has a "keys_at_modified_since" that is not a list of keys');
  }
  // LastModified is compared in whole seconds; a legacy value may carry a fraction.
  const second = new Date(Math.floor(modifiedSince.getTime() / 1000) * 1000);
  return { modifiedSince: second, keysAtModifiedSince: keys === undefined ? undefined : new Set(keys as string[]) };
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
  for await (const ref of store.list(table.searchPrefix, signal)) {
    if (isWanted(ref, filter)) wanted.push(ref);
  }
  return wanted.sort(compareObjects);
}

/** What a sync of one table will read. */
export interface SyncPlan {
  /** In reading order. */
  readonly objects: ObjectRef[];
  /** The server's clock when the listing started: objects stamped at or after it wait. */
  readonly cutoff: Date;
  /** Matching, unread objects stamped at or after the cutoff, left for the next sync. */
  readonly deferred: number;
}

export interface PlanOptions {
  readonly startDate?: Date | undefined;
  readonly bookmark?: Bookmark | undefined;
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
  const filter = { pattern: table.searchPattern, startDate: options.startDate, bookmark: options.bookmark };
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
  const ready = objects.filter((ref) => ref.lastModified.getTime() < limit);
  return { objects: ready, cutoff, deferred: objects.length - ready.length };
}
