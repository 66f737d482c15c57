/**
 * Units of work: a table's objects split into independent parts that separate `tap | target`
 * pairs sync side by side, each with its own state.
 *
 * A split (`unit_split`) is a function from an object's key to a unit, so the units of a
 * table partition its objects: every object belongs to exactly one unit, whatever else is in
 * the bucket, now or later.
 *
 * - `prefix:N`: the first N directory levels of the key after the table's `search_prefix`
 *   (`orders/2017/10/02/orders.csv` under `orders/`: `2017` at depth 1, `2017/10/02` at
 *   depth 3). A key with fewer levels belongs to the unit of the levels it has (a key right
 *   under `search_prefix` to the unit with the empty prefix).
 * - `hash:N`: 32-bit FNV-1a of the key's UTF-8 bytes (the whole key, bucket not included),
 *   modulo N. It never changes between releases: unit states depend on it.
 * - none (the default): one unit per table, the table itself.
 */
import { ConfigError } from '@singer-ts/singer';

import type { TableSpec } from './config';

export type UnitSplit =
  | { readonly kind: 'none' }
  | { readonly kind: 'prefix'; readonly depth: number }
  | { readonly kind: 'hash'; readonly shards: number };

export const NO_SPLIT: UnitSplit = Object.freeze({ kind: 'none' });

/** `prefix:N` or `hash:N` (N ≥ 1), or `none`; undefined when the text is neither. */
export function parseSplit(text: string): UnitSplit | undefined {
  const trimmed = text.trim();
  if (trimmed === 'none') return NO_SPLIT;
  const match = /^(prefix|hash):([1-9]\d*)$/.exec(trimmed);
  if (!match) return undefined;
  const n = Number(match[2]);
  if (!Number.isSafeInteger(n)) return undefined;
  return match[1] === 'prefix' ? { kind: 'prefix', depth: n } : { kind: 'hash', shards: n };
}

/** The split as config and state spell it: `none`, `prefix:3`, `hash:8`. */
export function formatSplit(split: UnitSplit): string {
  switch (split.kind) {
    case 'none':
      return 'none';
    case 'prefix':
      return `prefix:${split.depth}`;
    case 'hash':
      return `hash:${split.shards}`;
  }
}

/** 32-bit FNV-1a of the UTF-8 bytes of `text`. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The shard (0 … shards-1) of a key under `hash:<shards>`. */
export function shardOf(key: string, shards: number): number {
  return fnv1a32(key) % shards;
}

/** The directory levels of a key after the table's `search_prefix` (the file name is not one). */
export function keyLevels(table: TableSpec, key: string): string[] {
  const rest = key.startsWith(table.searchPrefix) ? key.slice(table.searchPrefix.length) : key;
  return rest.split('/').slice(0, -1);
}

/** The id of the unit that holds the object `key` of `table` under `split`. */
export function unitIdOf(table: TableSpec, split: UnitSplit, key: string): string {
  switch (split.kind) {
    case 'none':
      return table.tableName;
    case 'prefix':
      return `${table.tableName}:prefix:${keyLevels(table, key).slice(0, split.depth).join('/')}`;
    case 'hash':
      return `${table.tableName}:hash:${shardOf(key, split.shards)}of${split.shards}`;
  }
}

/** One unit of work: some of one table's objects. */
export interface Unit {
  readonly id: string;
  readonly table: TableSpec;
  readonly split: UnitSplit;
  /** Listing this key prefix finds every object of the unit (and maybe others: see `contains`). */
  readonly listPrefix: string;
  /** Whether the object `key` of the table belongs to the unit. */
  contains(key: string): boolean;
}

/** A whole table as one unit: what a run without a split reads. */
export function wholeTableUnit(table: TableSpec): Unit {
  return { id: table.tableName, table, split: NO_SPLIT, listPrefix: table.searchPrefix, contains: () => true };
}

function unitOfTable(table: TableSpec, split: UnitSplit, id: string): Unit | undefined {
  const name = table.tableName;
  const contains = (key: string): boolean => unitIdOf(table, split, key) === id;
  switch (split.kind) {
    case 'none':
      return id === name ? wholeTableUnit(table) : undefined;
    case 'prefix': {
      const head = `${name}:prefix:`;
      if (!id.startsWith(head)) return undefined;
      const prefix = id.slice(head.length);
      // `''.split('/')` is `['']`, one empty level: the unit with no level has none.
      const levels = prefix === '' ? [] : prefix.split('/');
      if (levels.length > split.depth) return undefined;
      // Every key of the unit starts with its levels, each followed by '/'.
      const listPrefix = table.searchPrefix + levels.map((level) => `${level}/`).join('');
      return { id, table, split, listPrefix, contains };
    }
    case 'hash': {
      const head = `${name}:hash:`;
      if (!id.startsWith(head)) return undefined;
      const match = /^(0|[1-9]\d*)of([1-9]\d*)$/.exec(id.slice(head.length));
      if (!match || Number(match[2]) !== split.shards || Number(match[1]) >= split.shards) return undefined;
      return { id, table, split, listPrefix: table.searchPrefix, contains };
    }
  }
}

/** How a unit id of `split` is spelt, for messages. */
export function unitIdPattern(split: UnitSplit): string {
  switch (split.kind) {
    case 'none':
      return '<table_name>';
    case 'prefix':
      return `<table_name>:prefix:<up to ${split.depth} level(s) joined by "/">`;
    case 'hash':
      return `<table_name>:hash:<k>of${split.shards} with k from 0 to ${split.shards - 1}`;
  }
}

/**
 * The unit a unit id names under `split`. Throws `ConfigError` (`UNIT_UNKNOWN`) naming the
 * split and the id's expected shape when it names none.
 */
export function findUnit(id: string, tables: readonly TableSpec[], split: UnitSplit): Unit {
  const found = tables.map((table) => unitOfTable(table, split, id)).filter((unit): unit is Unit => unit !== undefined);
  if (found.length === 1) return found[0]!;
  const splitText = split.kind === 'none' ? 'no unit_split' : `unit_split ${formatSplit(split)}`;
  throw new ConfigError(
    found.length === 0
      ? `unit ${JSON.stringify(id)} is not a unit of this config (${splitText}): a unit id is ${unitIdPattern(split)}`
      : `unit ${JSON.stringify(id)} is ambiguous: it names a unit of tables ${found.map((u) => JSON.stringify(u.table.tableName)).join(' and ')}`,
    {
      code: 'UNIT_UNKNOWN',
      column: 'unit',
      hint: `Run --list-units for the units; configured tables: ${tables.map((t) => t.tableName).join(', ')}`,
    },
  );
}

/** Which unit of which split wrote a state: its `"unit"` entry. */
export interface UnitRecord {
  readonly id: string;
  readonly table: string;
  readonly split: string;
}

export function toUnitRecord(unit: Unit): UnitRecord {
  return { id: unit.id, table: unit.table.tableName, split: formatSplit(unit.split) };
}

/** A state's `"unit"` entry; undefined when it has none (a whole-table state). */
export function parseUnitRecord(value: unknown, file?: string): UnitRecord | undefined {
  if (value === undefined || value === null) return undefined;
  const raw = value as Record<string, unknown>;
  if (
    typeof value !== 'object' ||
    Array.isArray(value) ||
    typeof raw.id !== 'string' ||
    typeof raw.table !== 'string' ||
    typeof raw.split !== 'string' ||
    parseSplit(raw.split) === undefined
  ) {
    throw new ConfigError('the state\'s "unit" must be {"id": …, "table": …, "split": …} as a unit\'s sync writes it', {
      code: 'STATE_INVALID',
      file,
      hint: 'Pass the last state the unit\'s pipeline printed',
    });
  }
  return { id: raw.id, table: raw.table, split: formatSplit(parseSplit(raw.split)!) };
}
