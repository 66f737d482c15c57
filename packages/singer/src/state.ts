import { readFile } from 'node:fs/promises';

import { ConfigError } from './errors';

/** Singer state as taps write it: bookmarks per stream, plus anything a tap needs. */
export interface State {
  bookmarks?: Record<string, unknown>;
  [key: string]: unknown;
}

/**
 * Reads a state file. A file that `tap | target >> state.json` appended to holds one state
 * value per line: the last one is the current state. Meltano's wrapped form
 * (`{"singer_state": …}`) is unwrapped. An empty file is an empty state.
 */
export async function readStateFile(path: string): Promise<State> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ConfigError('state file cannot be read', { file: path, cause, code: 'STATE_INVALID' });
  }
  const lines = text
    .replace(/^\uFEFF/, '')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (lines.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(lines.length === 1 ? lines[0]! : lines[lines.length - 1]!);
  } catch {
    // Not one value per line: a pretty-printed single document.
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new ConfigError('state file is not valid JSON', { file: path, cause, code: 'STATE_INVALID' });
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('state must be a JSON object', { file: path, code: 'STATE_INVALID' });
  }
  // Meltano's wrapped form, and a tap's own STATE message saved by mistake for its value.
  const wrapped = (value as { singer_state?: unknown }).singer_state;
  if (typeof wrapped === 'object' && wrapped !== null) return wrapped as State;
  const message = value as { type?: unknown; value?: unknown };
  if (typeof message.type === 'string' && message.type.toUpperCase() === 'STATE' && typeof message.value === 'object' && message.value !== null) {
    return message.value as State;
  }
  return value as State;
}

export function getBookmark(state: State, stream: string): unknown {
  return state.bookmarks?.[stream];
}

/** A copy of `state` with one stream's bookmark replaced. */
export function withBookmark(state: State, stream: string, bookmark: unknown): State {
  return { ...state, bookmarks: { ...state.bookmarks, [stream]: bookmark } };
}
