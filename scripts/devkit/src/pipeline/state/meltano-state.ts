import { parseExactJson, stringifyExactJson } from '@singer-ts/singer';

/**
 * Meltano's state record, as its state backends store it for a state id:
 * `{"completed": {"singer_state": …}, "partial": {…}}`. A successful run's states are
 * "completed"; "partial" holds what an interrupted Meltano run merged in. The state a run
 * starts from is the partial state merged onto the completed one (meltano.core.utils.merge).
 */
export interface MeltanoStateRecord {
  completed: Record<string, unknown>;
  partial: Record<string, unknown>;
}

/** Meltano's key for the Singer state inside a state record. */
export const SINGER_STATE_KEY = 'singer_state';

/** Meltano's defaults for its lock files: a lock older than this is abandoned (`state_backend.lock_timeout_seconds`). */
export const LOCK_TIMEOUT_SECONDS = 10;
/** How long to wait between looks at a held lock (`state_backend.lock_retry_seconds`). */
export const LOCK_RETRY_SECONDS = 1;
/** Longer than this waiting for a lock is an error, not a wait. */
export const LOCK_GIVE_UP_SECONDS = 120;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The JSON text a state value is stored as, checked to be one JSON object (numbers kept exact). */
export function checkStateValue(value: string): string {
  let parsed: unknown;
  try {
    parsed = parseExactJson(value);
  } catch {
    throw new Error(`the target printed a state that is not JSON: ${value.slice(0, 80)}`);
  }
  if (!isObject(parsed)) throw new Error(`the target printed a state that is not a JSON object: ${value.slice(0, 80)}`);
  return value.trim();
}

/**
 * The completed part of a state record holding `value` (the JSON text a target printed, kept
 * byte for byte, so no number is rounded): `{"singer_state": value}`.
 */
export function completedStateJson(value: string): string {
  return `{"${SINGER_STATE_KEY}": ${checkStateValue(value)}}`;
}

/** A whole state record for a new completed state, as Meltano writes one. */
export function stateRecordJson(value: string): string {
  return `{"completed": ${completedStateJson(value)}, "partial": {}}`;
}

/** `merge(source, destination)` of meltano.core.utils: objects merge key by key, anything else in `source` wins. */
export function mergeState(source: Record<string, unknown>, destination: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...destination };
  for (const [key, value] of Object.entries(source)) {
    const current = merged[key];
    merged[key] = isObject(value) && isObject(current) ? mergeState(value, current) : value;
  }
  return merged;
}

/** Parses one part of a state record (JSON text or null, as databases hold them). */
export function parseStatePart(text: string | null | undefined, what: string): Record<string, unknown> {
  if (text === null || text === undefined || text.trim() === '') return {};
  const parsed = parseExactJson(text);
  if (parsed === null) return {};
  if (!isObject(parsed)) throw new Error(`the ${what} state is not a JSON object`);
  return parsed;
}

/**
 * The Singer state a run starts from, as JSON text (numbers exact), from a state record's
 * completed and partial parts; undefined when the record holds none.
 */
export function singerStateOf(completed: Record<string, unknown>, partial: Record<string, unknown>): string | undefined {
  const merged = mergeState(partial, completed);
  const state = merged[SINGER_STATE_KEY];
  if (state === undefined || state === null) return undefined;
  if (!isObject(state)) throw new Error(`"${SINGER_STATE_KEY}" is not a JSON object`);
  return stringifyExactJson(state);
}

/** The Singer state in a whole state record's JSON text (a `state.json` file or object). */
export function singerStateOfRecord(text: string): string | undefined {
  const record = parseStatePart(text, 'stored');
  return singerStateOf(
    isObject(record.completed) ? record.completed : {},
    isObject(record.partial) ? record.partial : {},
  );
}

/** What a Meltano lock file holds: the UTC time it was taken, in seconds since the epoch. */
export function lockStamp(now = Date.now()): string {
  return (now / 1000).toFixed(6);
}

/** Whether a lock file's content says it is older than the lock timeout (or is unreadable). */
export function isLockStale(content: string, now = Date.now()): boolean {
  const takenAt = Number.parseFloat(content);
  if (!Number.isFinite(takenAt)) return true;
  return takenAt * 1000 < now - LOCK_TIMEOUT_SECONDS * 1000;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
