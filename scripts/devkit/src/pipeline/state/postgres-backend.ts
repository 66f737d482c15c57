import { randomUUID } from 'node:crypto';

import { Pool, type PoolClient, type PoolConfig } from 'pg';

import { checkStateId, type StateBackend, StateBackendError } from './backend';
import { completedStateJson, LOCK_GIVE_UP_SECONDS, LOCK_RETRY_SECONDS, parseStatePart, singerStateOf, sleep } from './meltano-state';

/** Meltano's PostgreSQL state backend tables. */
const STATE_TABLE = 'meltano_state';
const LOCK_TABLE = 'meltano_state_locks';
/** Meltano clears locks older than this. */
const STALE_LOCK = '5 minutes';

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * States in a PostgreSQL database (the target's, typically), in the tables Meltano's
 * PostgreSQL state backend uses (`postgresql://user:password@host:port/database/schema`,
 * schema `public` when left out): `meltano_state (state_id, partial_state, completed_state,
 * updated_at)` and `meltano_state_locks`. A write is one transaction: it takes the state id's
 * lock row (waiting while a Meltano run holds it), upserts the state and drops the lock, so
 * concurrent writers of different state ids never wait for each other and a state is never
 * seen half-written. Parts the URI leaves out come from `PGHOST`, `PGPORT`, `PGUSER`,
 * `PGPASSWORD`, `PGDATABASE`, as libpq takes them.
 */
export class PostgresStateBackend implements StateBackend {
  readonly location: string;
  private readonly state: string;
  private readonly locks: string;

  private constructor(
    private readonly pool: Pool,
    private readonly schema: string,
    location: string,
  ) {
    this.location = location;
    this.state = `${quoteIdent(schema)}.${quoteIdent(STATE_TABLE)}`;
    this.locks = `${quoteIdent(schema)}.${quoteIdent(LOCK_TABLE)}`;
  }

  static async open(url: URL, env: NodeJS.ProcessEnv): Promise<PostgresStateBackend> {
    const path = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '').split('/').filter((p) => p !== '');
    const database = path[0] ?? env.PGDATABASE ?? env.PGUSER ?? 'postgres';
    const schema = path[1] ?? 'public';
    const sslmode = url.searchParams.get('sslmode');
    const config: PoolConfig = {
      host: decodeURIComponent(url.hostname) || env.PGHOST || 'localhost',
      port: Number(url.port || env.PGPORT || 5432),
      user: decodeURIComponent(url.username) || env.PGUSER || 'postgres',
      password: url.password ? decodeURIComponent(url.password) : env.PGPASSWORD,
      database,
      max: 4,
      connectionTimeoutMillis: 10_000,
      ssl: sslmode === 'require' || sslmode === 'verify-ca' || sslmode === 'verify-full' ? { rejectUnauthorized: sslmode !== 'require' } : undefined,
    };
    const location = `postgresql://${config.user}@${config.host}:${config.port}/${database}/${schema} (table ${STATE_TABLE})`;
    const pool = new Pool(config);
    pool.on('error', () => undefined); // an idle connection's failure shows in the next query
    const backend = new PostgresStateBackend(pool, schema, location);
    try {
      await backend.ensureTables();
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new StateBackendError(`cannot keep state in PostgreSQL at ${location}: ${(error as Error).message}`);
    }
    return backend;
  }

  /** Creates the schema and tables once, however many workers start at the same time. */
  private async ensureTables(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtext('singer-ts state backend ' || $1))`, [this.schema]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(this.schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.state} (
        state_id VARCHAR(900) PRIMARY KEY,
        partial_state TEXT,
        completed_state TEXT,
        updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP
      )`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${this.locks} (
        state_id VARCHAR(900) PRIMARY KEY,
        locked_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
        lock_id VARCHAR(255)
      )`);
    });
  }

  async read(stateId: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ partial_state: string | null; completed_state: string | null }>(
      `SELECT partial_state, completed_state FROM ${this.state} WHERE state_id = $1`,
      [checkStateId(stateId)],
    );
    const row = rows[0];
    if (!row) return undefined;
    try {
      return singerStateOf(parseStatePart(row.completed_state, 'completed'), parseStatePart(row.partial_state, 'partial'));
    } catch (error) {
      throw new StateBackendError(`the state of ${stateId} in ${this.location} is not a state record: ${(error as Error).message}`);
    }
  }

  async write(stateId: string, value: string): Promise<void> {
    checkStateId(stateId);
    const completed = completedStateJson(value);
    const lockId = randomUUID();
    const giveUpAt = Date.now() + LOCK_GIVE_UP_SECONDS * 1000;
    for (;;) {
      const written = await this.transaction(async (client) => {
        // Meltano's lock is a row; while this transaction holds an uncommitted one, a Meltano
        // run that tries to insert its own waits for the commit.
        const taken = await client.query(
          `INSERT INTO ${this.locks} (state_id, lock_id) VALUES ($1, $2) ON CONFLICT (state_id) DO NOTHING RETURNING lock_id`,
          [stateId, lockId],
        );
        if (taken.rowCount === 0) {
          await client.query(`DELETE FROM ${this.locks} WHERE state_id = $1 AND locked_at < CURRENT_TIMESTAMP - INTERVAL '${STALE_LOCK}'`, [stateId]);
          return false;
        }
        await client.query(
          `INSERT INTO ${this.state} (state_id, partial_state, completed_state, updated_at)
           VALUES ($1, NULL, $2, CURRENT_TIMESTAMP)
           ON CONFLICT (state_id) DO UPDATE SET partial_state = EXCLUDED.partial_state,
             completed_state = EXCLUDED.completed_state, updated_at = CURRENT_TIMESTAMP`,
          [stateId, completed],
        );
        await client.query(`DELETE FROM ${this.locks} WHERE state_id = $1 AND lock_id = $2`, [stateId, lockId]);
        return true;
      });
      if (written) return;
      if (Date.now() > giveUpAt) {
        throw new StateBackendError(`the state of ${stateId} in ${this.location} stays locked (a row in ${LOCK_TABLE}): another run is writing it`);
      }
      await sleep(LOCK_RETRY_SECONDS * 1000);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
