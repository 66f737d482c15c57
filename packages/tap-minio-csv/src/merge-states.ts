/**
 * `--merge-states`: the units of one split combined into one whole-table state, from which a
 * run without units, or every unit of any other split, starts and reads each object exactly
 * once.
 *
 * Two splits partition the same objects differently, and unit bookmarks stand at different
 * points in time, so no single `(modified_since, keys)` pair can say what the old units read.
 * The merged bookmark of a table therefore keeps the old units' bookmarks as they are, under
 * `earlier_split`, and has no position of its own: an object is read when the bookmark of its
 * unit under the old split says so. Each new unit reads what that leaves, moving its own
 * position over the objects the old units read, and drops `earlier_split` as soon as its
 * position covers all of them (its first complete sync, normally). Nothing needs listing, so
 * merging is offline.
 */
import { ConfigError, isLosslessNumber, type State, type StateFile, stringifyExactJson } from '@singer-ts/singer';

import { parseBookmark } from './object-lister';
import { parseUnitRecord, type UnitRecord } from './units';

const HINT = 'Pass the last state of each unit of the old split, each once';

/**
 * Combines the last states of units of one split into a state without units.
 *
 * A state without units among them (at most one, or several identical copies) stands for
 * the units that have no state of their own yet: the state they would start from, typically
 * the one merged at the previous change of split, or a run's without units.
 */
export function mergeUnitStates(states: readonly StateFile[]): State {
  let split: string | undefined;
  let splitFile: string | undefined;
  let whole: StateFile | undefined;
  const seen = new Map<string, string>();
  const byTable = new Map<string, { unit: UnitRecord; bookmark: unknown }[]>();
  for (const { file, state } of states) {
    const unit = parseUnitRecord(state.unit, file);
    if (unit === undefined) {
      if (whole !== undefined && canonical(whole.state.bookmarks ?? {}) !== canonical(state.bookmarks ?? {})) {
        throw new ConfigError(
          `and ${whole.file} are two different states without units: only one can stand for the units that have no state of their own`,
          { code: 'STATE_SPLIT_MISMATCH', file, hint: HINT },
        );
      }
      whole = { file, state };
      for (const [table, bookmark] of Object.entries(state.bookmarks ?? {})) checkBookmark(bookmark, table, file);
      continue;
    }
    if (split === undefined) {
      split = unit.split;
      splitFile = file;
    } else if (unit.split !== split) {
      throw new ConfigError(
        `is the state of unit ${JSON.stringify(unit.id)} of split ${unit.split}, but ${splitFile} is of split ${split}: units of one split are merged at a time`,
        { code: 'STATE_SPLIT_MISMATCH', file, hint: HINT },
      );
    }
    const other = seen.get(unit.id);
    if (other !== undefined) {
      throw new ConfigError(`is a second state of unit ${JSON.stringify(unit.id)} (the first is ${other})`, {
        code: 'STATE_UNIT_MISMATCH',
        file,
        hint: HINT,
      });
    }
    seen.set(unit.id, file);
    const bookmark = state.bookmarks?.[unit.table];
    checkBookmark(bookmark, unit.table, file);
    const list = byTable.get(unit.table) ?? [];
    list.push({ unit, bookmark });
    byTable.set(unit.table, list);
  }
  // Tables no unit of which has a state of its own keep the whole state's bookmark.
  const bookmarks: Record<string, unknown> = { ...whole?.state.bookmarks };
  for (const [table, units] of byTable) {
    const otherUnits = whole?.state.bookmarks?.[table];
    if (split === 'none') {
      // A unit of no split is its whole table: its bookmark is the table's.
      const bookmark = units[0]?.bookmark;
      if (bookmark === undefined || bookmark === null) delete bookmarks[table];
      else bookmarks[table] = bookmark;
      continue;
    }
    const unitBookmarks: Record<string, unknown> = {};
    for (const { unit, bookmark } of [...units].sort((a, b) => compare(a.unit.id, b.unit.id))) {
      // A unit that had read nothing is named all the same: the whole state does not speak for it.
      unitBookmarks[unit.id] = bookmark ?? {};
    }
    bookmarks[table] = {
      earlier_split: {
        split: split!,
        bookmarks: unitBookmarks,
        ...(otherUnits !== undefined && otherUnits !== null ? { other_units: otherUnits } : {}),
      },
    };
  }
  const sorted: Record<string, unknown> = {};
  for (const table of Object.keys(bookmarks).sort(compare)) sorted[table] = bookmarks[table];
  return { bookmarks: sorted };
}

/** Checked here, so a damaged state fails the merge rather than the next sync. */
function checkBookmark(bookmark: unknown, table: string, file: string): void {
  try {
    parseBookmark(bookmark, table);
  } catch (error) {
    if (error instanceof ConfigError) throw error.locate({ file });
    throw error;
  }
}

/** JSON with object keys sorted: equal values, equal text, whatever the key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null && !isLosslessNumber(value)) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => compare(a, b));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
  }
  return stringifyExactJson(value);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
