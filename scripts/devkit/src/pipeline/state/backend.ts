import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where the pipeline keeps one Singer state per unit, under a state id. Backends store
 * states as Meltano's state backends of the same URI do, so a Meltano project can share them.
 * Each state id is a key of its own: writers of different units never touch each other's
 * state, and a write replaces one state whole (never a half-written one).
 */
export interface StateBackend {
  /** Where the states are, for messages: the URI without credentials. */
  readonly location: string;
  /** The Singer state a run of `stateId` starts from (JSON text, numbers exact); undefined when there is none. */
  read(stateId: string): Promise<string | undefined>;
  /** Keeps `value`, a state value as the target printed it, as the completed state of `stateId`. */
  write(stateId: string, value: string): Promise<void>;
  close(): Promise<void>;
}

/** The schemes of `state_backend.uri` the pipeline reads, as Meltano spells them. */
export type StateBackendKind = 'file' | 's3' | 'postgresql';

export interface ParsedStateBackendUri {
  kind: StateBackendKind;
  url: URL;
}

/** A state backend URI that cannot be used; its message names the URI without secrets. */
export class StateBackendError extends Error {}

/** The URI with any password or secret key replaced by `***`. */
export function redactUri(uri: string): string {
  try {
    const url = new URL(uri);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return uri.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/**
 * Reads a state backend URI: `file:///dir` (or a plain path), `s3://bucket/prefix`,
 * `postgresql://user:password@host:port/database/schema` (`postgres://` too).
 */
export function parseStateBackendUri(uri: string): ParsedStateBackendUri {
  const trimmed = uri.trim();
  if (!/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) {
    if (trimmed === '') throw new StateBackendError('the state backend URI is empty');
    return { kind: 'file', url: new URL(`file://${isAbsolute(trimmed) ? trimmed : resolve(trimmed)}`) };
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new StateBackendError(`the state backend URI ${redactUri(trimmed)} is not a URI`);
  }
  switch (url.protocol) {
    case 'file:':
      if (url.host !== '' && url.host !== 'localhost') {
        throw new StateBackendError(`the state backend URI ${redactUri(trimmed)} names a host: write file:///absolute/path (three slashes)`);
      }
      return { kind: 'file', url };
    case 's3:':
      if (url.hostname === '') throw new StateBackendError(`the state backend URI ${redactUri(trimmed)} names no bucket: write s3://bucket/prefix`);
      return { kind: 's3', url };
    case 'postgresql:':
    case 'postgres:':
      return { kind: 'postgresql', url };
    default:
      throw new StateBackendError(
        `the state backend URI ${redactUri(trimmed)} has an unknown scheme "${url.protocol.slice(0, -1)}": use file:///dir, s3://bucket/prefix or postgresql://user:password@host/database`,
      );
  }
}

/** The folder of a `file:` state backend URI. */
export function fileBackendDir(url: URL): string {
  return fileURLToPath(url);
}

/**
 * Checks that a state id can be a folder or key prefix of its own: not empty, not starting
 * with `/`, no `.` or `..` path segment, no control character. (`/` may appear, as in key
 * prefixes: Meltano finds such a state by its id, though `meltano state list` shows only the
 * last segment.)
 */
export function checkStateId(stateId: string): string {
  const segments = stateId.split('/');
  if (stateId === '' || stateId.startsWith('/') || /[\u0000-\u001f]/.test(stateId) || segments.some((s) => s === '.' || s === '..')) {
    throw new StateBackendError(`${JSON.stringify(stateId)} cannot be a state id: it needs to be a relative path without . or .. segments`);
  }
  return stateId;
}

/** Meltano's `join_path`: parts joined by `/`, none added where one part ends or the next starts with it. */
export function joinKey(...parts: string[]): string {
  return parts.reduce((joined, part) => (joined.endsWith('/') || part.startsWith('/') ? `${joined}${part}` : `${joined}/${part}`));
}
