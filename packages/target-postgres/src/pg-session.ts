import { pipeline } from 'node:stream/promises';

import { LoadError, type Logger, SingerError } from '@singer-ts/singer';
import { Client, type ClientConfig, type QueryResult, type QueryResultRow } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

import type { ConnectionSettings } from './config';
import { CopyFeed } from './copy-feed';
import { betterReason, copyError, type CopyRows, toLoadError } from './pg-errors';

/**
 * Session settings that make values mean the same whatever the server's or machine's
 * defaults: a timestamp without an offset is UTC, dates print as ISO. Staging tables get
 * enough local buffers to stay in memory (set before the first temp table is used), and the
 * merge's sort of a batch by key enough memory not to spill to disk.
 */
const SESSION_SETUP = `SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, MDY'; SET temp_buffers TO '64MB'; SET work_mem TO '32MB'`;

/** What a unit of work may do with the connection: statements, inside the open transaction. */
export interface Queryable {
  query<R extends QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<QueryResult<R>>;
}

/** The connection as a unit of work has it: statements, and whole COPYs. */
export interface UnitConnection extends Queryable {
  /**
   * `COPY … FROM STDIN` of every chunk of `batch`, ended before it resolves. A COPY PostgreSQL
   * rejects is thrown as the error naming the record and column (see `copyError`); the unit may
   * recover from it with a savepoint, as from any failed statement.
   */
  copy(sql: string, rows: Omit<CopyRows, 'lines' | 'records'>, batch: CopyBatch): Promise<void>;
}

/** What a unit of work is, for the error that names it. */
export interface UnitLabel {
  /** The stream it works for, when it works for one. */
  readonly stream?: string;
  /** What it does, as in "PostgreSQL failed while <what>". */
  readonly what: string;
}

/** A batch of COPY rows: encoded chunks, and where each row came from. */
export interface CopyBatch {
  readonly chunks: readonly Buffer[];
  readonly lines: readonly number[];
  readonly records: readonly number[];
}

/** The COPY the connection carries, kept open across units of the same sink. */
interface OpenCopy {
  readonly owner: object;
  readonly sql: string;
  readonly feed: CopyFeed;
  readonly rows: CopyRows & { lines: number[]; records: number[] };
  /** Resolves when the COPY has finished or failed (then `failure` is set); never rejects. */
  readonly settled: Promise<void>;
  failure: unknown;
}

/**
 * The target's one connection, and the only code that talks to it. Work comes as units (DDL, a
 * COPY batch, a merge with its own recovery, the commit), which run one at a time in the order
 * they were asked for, each alone on the connection: no statement of one unit ever runs
 * between two of another's. Every unit runs inside the one transaction that starts with the
 * first unit after a commit, so all streams between two STATE messages commit together.
 *
 * A COPY stays open after its unit, so a stream's rows flow into one COPY across many records;
 * the next unit that is not more rows for the same COPY ends it first.
 *
 * Once a unit fails and did not recover by itself, the transaction is lost: that first error,
 * naming its stream, is the session's failure, every later unit fails with it without
 * touching the connection, and only `rollback()` and `close()` still run.
 */
export class PgSession {
  private readonly client: Client;
  private inTransaction = false;
  private lost: unknown;
  private connected = false;
  private tail: Promise<unknown> = Promise.resolve();
  private queued = 0;
  private copy: OpenCopy | undefined;
  private failure: SingerError | undefined;
  private savepoints = 0;
  private heldBytes = 0;

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

  /**
   * Whether a caller should keep `bytes` of rows for later rather than queue them now: units
   * are running or waiting (a merge, say) and the rows all sinks keep stay under `limit`. When
   * true, the bytes are counted until `released`.
   */
  holdAhead(bytes: number, limit: number): boolean {
    if (this.queued === 0 || this.heldBytes + bytes > limit) return false;
    this.heldBytes += bytes;
    return true;
  }

  /** Rows kept by `holdAhead` were handed on or dropped. */
  released(bytes: number): void {
    this.heldBytes -= bytes;
  }

  /** The error that ended the transaction, if one did. */
  get failed(): SingerError | undefined {
    return this.failure;
  }

  /** A savepoint name no other unit of this session uses. */
  nextSavepoint(): string {
    this.savepoints += 1;
    return `singer_sp_${this.savepoints}`;
  }

  /**
   * Runs `work` alone on the connection, after every unit asked for before it, inside the open
   * transaction (begun when needed). A statement that fails inside `work` may be recovered by
   * `work` itself (with a savepoint); if `work` throws, the session has failed with that error.
   */
  run<T>(label: UnitLabel, work: (db: UnitConnection) => Promise<T>): Promise<T> {
    return this.enqueue(label, async () => {
      await this.endCopy();
      await this.begin();
      return work(this.unitConnection);
    });
  }

  private readonly unitConnection: UnitConnection = {
    query: (sql, params) => this.client.query(sql, params),
    copy: async (sql, rows, batch) => {
      const open = await this.openCopy(this.unitConnection, sql, rows);
      await this.feed(open, batch);
      if (open.failure === undefined) await this.endCopy();
      else this.copy = undefined;
      if (open.failure !== undefined) throw copyError(betterReason(this.lost, open.failure), open.rows);
    },
  };

  /** Writes a batch's chunks into an open COPY, with backpressure; stops early if the COPY fails. */
  private async feed(open: OpenCopy, batch: CopyBatch): Promise<void> {
    for (const line of batch.lines) open.rows.lines.push(line);
    for (const record of batch.records) open.rows.records.push(record);
    for (const chunk of batch.chunks) {
      const wait = open.feed.write(chunk);
      if (wait === undefined) continue;
      try {
        await wait;
      } catch {
        // The COPY failed (or was abandoned): its own error, once settled, says why.
        await open.settled;
        return;
      }
      if (open.failure !== undefined) return;
    }
  }

  /**
   * Sends a batch of rows into `owner`'s COPY `sql`, opening it (after ending any other) when
   * needed; the COPY stays open for the owner's next batch. Resolves once PostgreSQL has taken
   * the rows into its socket buffer (backpressure), not when the COPY ends.
   */
  copyRows(owner: object, sql: string, rows: Omit<CopyRows, 'lines' | 'records'>, batch: CopyBatch): Promise<void> {
    return this.enqueue({ stream: rows.stream, what: `loading stream ${JSON.stringify(rows.stream)}` }, async () => {
      let open = this.copy;
      if (open && (open.owner !== owner || open.sql !== sql)) {
        await this.endCopy();
        open = undefined;
      }
      if (!open) open = await this.openCopy(owner, sql, rows);
      await this.feed(open, batch);
      if (open.failure !== undefined) {
        await open.settled;
        this.copy = undefined;
        throw copyError(betterReason(this.lost, open.failure), open.rows);
      }
    });
  }

  /** Ends `owner`'s COPY if it is open, and reports how it went (a unit of its own). */
  finishCopy(owner: object): Promise<void> {
    return this.enqueue({ what: 'ending a COPY' }, async () => {
      if (this.copy?.owner === owner) await this.endCopy();
    });
  }

  /** Commits the open transaction, after every unit asked for before. */
  commit(): Promise<void> {
    return this.enqueue({ what: 'committing' }, async () => {
      await this.endCopy();
      if (!this.inTransaction) return;
      if (this.lost !== undefined) throw this.lost;
      await this.client.query('COMMIT');
      this.inTransaction = false;
    });
  }

  /**
   * Rolls the open transaction back once the units before have ended (a COPY in flight is
   * abandoned; units after a failure end at once). On a dead connection the server has rolled
   * back already. Never throws.
   */
  async rollback(): Promise<void> {
    const copy = this.copy;
    if (copy && copy.failure === undefined && this.lost === undefined) copy.feed.destroy(new Error('rolled back'));
    await this.tail.catch(() => undefined);
    if (copy) await copy.settled;
    this.copy = undefined;
    const wasOpen = this.inTransaction;
    this.inTransaction = false;
    this.failure = undefined;
    if (!wasOpen || this.lost !== undefined) return;
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

  /** Queues a unit; the first failure becomes the session's and ends every later unit. */
  private enqueue<T>(label: UnitLabel, work: () => Promise<T>): Promise<T> {
    this.queued += 1;
    const result = this.tail.then(async () => {
      try {
        if (this.failure !== undefined) throw this.failure;
        if (this.lost !== undefined) throw this.lost;
        return await work();
      } catch (error) {
        this.failure ??= this.explain(error, label);
        throw this.failure;
      } finally {
        this.queued -= 1;
      }
    });
    this.tail = result.catch(() => undefined);
    return result;
  }

  private explain(error: unknown, label: UnitLabel): SingerError {
    const reason = error instanceof SingerError ? error : betterReason(this.lost, error);
    const located = toLoadError(reason, label.what);
    return label.stream === undefined ? located : located.locate({ stream: label.stream });
  }

  private async begin(): Promise<void> {
    if (this.inTransaction) return;
    await this.client.query('BEGIN');
    this.inTransaction = true;
  }

  private async openCopy(owner: object, sql: string, rows: Omit<CopyRows, 'lines' | 'records'>): Promise<OpenCopy> {
    await this.begin();
    const feed = new CopyFeed();
    const open: OpenCopy = {
      owner,
      sql,
      feed,
      rows: { ...rows, lines: [], records: [] },
      failure: undefined,
      settled: Promise.resolve(),
    };
    const query = this.client.query(copyFrom(sql, { highWaterMark: 256 * 1024 }));
    (open as { settled: Promise<void> }).settled = pipeline(feed, query).then(
      () => undefined,
      (error: unknown) => {
        open.failure = error ?? new Error('COPY failed');
      },
    );
    this.copy = open;
    return open;
  }

  /** Ends the open COPY, if any; throws its failure as the record it names. Inside a unit only. */
  private async endCopy(): Promise<void> {
    const open = this.copy;
    if (!open) return;
    this.copy = undefined;
    if (open.failure === undefined) open.feed.finish();
    await open.settled;
    if (open.failure !== undefined) throw copyError(betterReason(this.lost, open.failure), open.rows);
  }
}
