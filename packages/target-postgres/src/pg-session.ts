import { LoadError, type Logger, SingerError } from '@singer-ts/singer';
import { Client, type ClientConfig, type QueryResult, type QueryResultRow } from 'pg';
import { type CopyStreamQuery,from as copyFrom } from 'pg-copy-streams';

import type { ConnectionSettings } from './config';
import type { Queryable } from './table-manager';

/**
 * Session settings that make values mean the same whatever the server's or machine's
 * defaults: a timestamp without an offset is UTC, dates print as ISO. Staging tables get
 * enough local buffers to stay in memory (set before the first temp table is used), and the
 * merge's sort of a batch by key enough memory not to spill to disk.
 */
const SESSION_SETUP = `SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, MDY'; SET temp_buffers TO '64MB'; SET work_mem TO '32MB'`;

const CONNECTION_LOST_CODES = new Set(['57P01', '57P02', '57P03', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);

/** Whether an error means the connection is gone (terminated backend, reset socket, ...). */
export function isConnectionLost(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (CONNECTION_LOST_CODES.has(code) || code.startsWith('08')) return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|Client was closed|not queryable|connection is closed|write after end/i.test(message);
}

/** The SQLSTATE of a PostgreSQL error, also when it is wrapped as the cause of a `LoadError`. */
export function sqlState(error: unknown): string | undefined {
  let current: unknown = error;
  while (current instanceof Error) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
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

/** A PostgreSQL error (or a driver one) as a `LoadError` the user can act on. */
export function toLoadError(error: unknown, what: string): SingerError {
  if (error instanceof SingerError) return error;
  const e = error as { message?: string; code?: string; detail?: string; table?: string; column?: string };
  if (isConnectionLost(error)) {
    return new LoadError(`lost the connection to PostgreSQL while ${what} (${e?.message ?? String(error)})`, {
      code: 'PG_CONNECTION_LOST',
      cause: error,
      hint: 'Nothing after the last printed state was committed; re-run from that state',
    });
  }
  const detail = e?.detail ? ` (${e.detail})` : '';
  return new LoadError(`PostgreSQL failed while ${what}: ${e?.message ?? String(error)}${detail}`, {
    code: 'PG_QUERY_FAILED',
    cause: error,
    column: e?.column,
    hint: 'Nothing after the last printed state was committed; fix the cause and re-run from that state',
  });
}

/** Whoever has a COPY open on the session; asked to end it when someone else needs the connection. */
export interface CopyHolder {
  /** Ends the COPY in flight (rows not yet handed on stay with the holder). */
  releaseCopy(): Promise<void>;
}

/**
 * The target's one connection. Every statement runs inside one transaction that starts lazily
 * with the first statement after a commit, so all streams between two STATE messages commit
 * (or roll back) together.
 */
export class PgSession implements Queryable {
  private readonly client: Client;
  private inTransaction = false;
  private lost: unknown;
  private connected = false;
  /** A connection carries one COPY at a time; streams take turns, a chunk of rows at a time. */
  private holder: CopyHolder | undefined;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly logger: Logger,
  ) {
    const config: ClientConfig = { ...settings };
    this.client = new Client(config);
    // An idle connection that dies (pg_terminate_backend, server restart) is reported here;
    // the next statement then fails with it instead of the process crashing on 'error'.
    this.client.on('error', (error) => {
      this.lost = betterReason(this.lost, error);
      this.logger.debug(`connection error: ${error.message}`);
    });
  }

  /** Where this session connects, without credentials. */
  describe(): string {
    const host = this.settings.host ?? process.env.PGHOST ?? 'localhost';
    const port = this.settings.port ?? process.env.PGPORT ?? 5432;
    const database = this.settings.database ?? process.env.PGDATABASE ?? this.settings.user ?? '';
    return `${host}:${port}/${database}`;
  }

  async connect(): Promise<void> {
    try {
      await this.client.connect();
      this.connected = true;
      await this.client.query(SESSION_SETUP);
    } catch (cause) {
      const message = (cause as Error).message ?? String(cause);
      throw new LoadError(`cannot connect to PostgreSQL at ${this.describe()}: ${message}`, {
        code: 'PG_CONNECT_FAILED',
        cause,
        hint: 'Check host, port, user, password, database and ssl in the config (or PG* variables)',
      });
    }
  }

  private check(): void {
    if (this.lost !== undefined) throw toLoadError(this.lost, 'loading');
  }

  private async begin(): Promise<void> {
    if (this.inTransaction) return;
    this.check();
    await this.client.query('BEGIN');
    this.inTransaction = true;
  }

  /** Runs one statement inside the open transaction. */
  async query<R extends QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>> {
    await this.releaseCopy();
    try {
      await this.begin();
      return await this.client.query<R>(sql, params);
    } catch (cause) {
      throw toLoadError(betterReason(this.lost, cause), 'loading');
    }
  }

  /** Ends whatever COPY another holder has open, so a statement can run. */
  private async releaseCopy(except?: CopyHolder): Promise<void> {
    const holder = this.holder;
    if (holder === undefined || holder === except) return;
    await holder.releaseCopy();
    if (this.holder === holder) this.holder = undefined;
  }

  /**
   * Starts `COPY ... FROM STDIN` inside the open transaction for `holder`, after ending any
   * other holder's COPY; the caller pipes rows into it and calls `copyEnded` when it is over.
   */
  async copy(holder: CopyHolder, sql: string): Promise<CopyStreamQuery> {
    await this.releaseCopy(holder);
    try {
      await this.begin();
    } catch (cause) {
      throw toLoadError(betterReason(this.lost, cause), 'starting COPY');
    }
    this.holder = holder;
    return this.client.query(copyFrom(sql, { highWaterMark: 256 * 1024 }));
  }

  /** The holder's COPY is over (finished or failed). */
  copyEnded(holder: CopyHolder): void {
    if (this.holder === holder) this.holder = undefined;
  }

  /** The error that ended the connection, if it ended. */
  get connectionError(): unknown {
    return this.lost;
  }

  async commit(): Promise<void> {
    if (!this.inTransaction) return;
    await this.releaseCopy();
    try {
      this.check();
      await this.client.query('COMMIT');
      this.inTransaction = false;
    } catch (cause) {
      throw toLoadError(betterReason(this.lost, cause), 'committing');
    }
  }

  /** Rolls the open transaction back; on a dead connection the server has done so already. */
  async rollback(): Promise<void> {
    if (!this.inTransaction) return;
    this.inTransaction = false;
    if (this.lost !== undefined) return;
    try {
      await this.client.query('ROLLBACK');
    } catch (cause) {
      this.logger.debug(`rollback failed: ${(cause as Error).message}`);
    }
  }

  async close(): Promise<void> {
    if (!this.connected) return;
    this.connected = false;
    try {
      await this.client.end();
    } catch (cause) {
      this.logger.debug(`closing the connection failed: ${(cause as Error).message}`);
    }
  }
}
