import { LoadError, RecordError, SingerError } from '@singer-ts/singer';

/**
 * PostgreSQL's and the driver's errors as errors a user can act on: what failed, on which
 * stream, record and column, and what to do. Pure functions, no connection.
 */

const CONNECTION_LOST_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** Whether an error means the connection is gone (terminated backend, reset socket, ...). */
export function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (CONNECTION_LOST_CODES.has(code) || code.startsWith('08')) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|Client was closed|not queryable|connection is closed|write after end/i.test(message);
}

/**
 * Five characters with a digit among them: every SQLSTATE has one, while socket error codes of
 * the same length (`EPIPE`) have none.
 */
const SQLSTATE = /^(?=.*\d)[0-9A-Z]{5}$/;

/** The SQLSTATE of a PostgreSQL error, also when it is wrapped as the cause of a `LoadError`. */
export function sqlState(error: unknown): string | undefined {
  let current: unknown = error;
  while (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && SQLSTATE.test(code)) return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * Of two errors about one failure, the more telling: the server's own message (with a SQLSTATE,
 * like 57P01 "terminating connection due to administrator command") over a socket's EPIPE.
 */
export function betterReason(first: unknown, second: unknown): unknown {
  if (first === undefined) return second;
  if (second === undefined) return first;
  return sqlState(first) === undefined && sqlState(second) !== undefined ? second : first;
}

/** SQLSTATEs that two loaders racing for the same rows can meet; a re-run from the last state is exact. */
const CONCURRENCY_STATES = new Set(['40P01', '40001']);

/** A PostgreSQL error (or a driver one) as a `LoadError` the user can act on. */
export function toLoadError(error: unknown, what: string): SingerError {
  if (error instanceof SingerError) return error;
  const e = error as { message?: string; code?: string; detail?: string; column?: string };
  const message = e?.message ?? String(error);
  if (isConnectionLost(error)) {
    return new LoadError(`lost the connection to PostgreSQL while ${what} (${message})`, {
      code: 'PG_CONNECTION_LOST',
      cause: error,
      hint: 'Nothing after the last printed state was committed; re-run from that state',
    });
  }
  const state = sqlState(error);
  if (state !== undefined && CONCURRENCY_STATES.has(state)) {
    return new LoadError(`PostgreSQL ended the transaction while ${what}: ${message}`, {
      code: 'PG_CONCURRENT_UPDATE',
      cause: error,
      hint: 'Another session changed the same rows at the same time; nothing after the last printed state was committed: re-run from that state',
    });
  }
  const detail = e?.detail ? ` (${e.detail})` : '';
  return new LoadError(`PostgreSQL failed while ${what}: ${message}${detail}`, {
    code: 'PG_QUERY_FAILED',
    cause: error,
    column: e?.column,
    hint: 'Nothing after the last printed state was committed; fix the cause and re-run from that state',
  });
}

/** The rows of one COPY: where each came from, and which property each column holds. */
export interface CopyRows {
  readonly stream: string;
  /** The table the rows went to, for messages. */
  readonly table: string;
  /** Input line and stream record number of each row, in COPY order. */
  readonly lines: readonly number[];
  readonly records: readonly number[];
  /** Column name → record property (or metadata column). */
  readonly propertyOf: ReadonlyMap<string, string>;
}

/**
 * PostgreSQL's COPY error (its context reads `COPY t, line 3, column price: "x"`) as the record
 * and property it means. Errors without a row (or past the rows sent) name the stream only.
 */
export function copyError(error: unknown, rows: CopyRows): SingerError {
  if (error instanceof SingerError) return error;
  const located = (e: SingerError): SingerError => e.locate({ stream: rows.stream });
  if (isConnectionLost(error)) return located(toLoadError(error, `loading stream ${JSON.stringify(rows.stream)}`));
  const where = String((error as { where?: unknown }).where ?? '');
  const lineMatch = /\bline (\d+)/.exec(where);
  const index = lineMatch ? Number(lineMatch[1]) - 1 : -1;
  let column: string | undefined;
  for (const [name, property] of rows.propertyOf) {
    if (where.includes(`, column ${name}:`) || where.endsWith(`, column ${name}`)) {
      column = property;
      break;
    }
  }
  const message = (error as Error).message ?? String(error);
  if (index < 0 || index >= rows.lines.length) {
    return located(
      new SingerError(`PostgreSQL rejected the COPY into ${rows.table}: ${message}`, {
        code: 'PG_COPY_FAILED',
        column,
        cause: error,
      }),
    );
  }
  return new RecordError(`PostgreSQL rejected the value: ${message}`, {
    code: 'PG_VALUE_REJECTED',
    stream: rows.stream,
    line: rows.lines[index],
    record: rows.records[index],
    column,
    cause: error,
    hint: 'Fix the source value or the SCHEMA; nothing after the last printed state was committed',
  });
}
