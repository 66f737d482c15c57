/**
 * The PostgreSQL the benchmarks measure against, and the floors they measure in the same run.
 *
 * Benchmarks measure what users get: a server with PostgreSQL's stock durable settings (fsync
 * and synchronous_commit on). `BENCH_DATABASE_URL` points them at a server of your own (it is
 * used as it is; its settings are printed); otherwise one is started for the run and removed
 * after. The test suite's fsync-off server is never used here.
 */
import { Client } from 'pg';

import { startPostgres } from '../local-services';

export interface BenchPostgres {
  readonly url: string;
  /** `fsync=on synchronous_commit=on …`, as the server reports them. */
  readonly settings: string;
  readonly durable: boolean;
  stop(): Promise<void>;
}

const SETTINGS = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_level', 'shared_buffers', 'max_wal_size', 'server_version'];

/** `BENCH_DATABASE_URL`'s server, or a durable one started for the run. */
export async function benchPostgres(): Promise<BenchPostgres> {
  const given = process.env.BENCH_DATABASE_URL;
  const server = given ? undefined : await startPostgres();
  const url = given ?? (server?.url as string);
  const client = new Client({ connectionString: url });
  await client.connect();
  const values: Record<string, string> = {};
  try {
    for (const name of SETTINGS) {
      const { rows } = await client.query<{ value: string }>('SELECT current_setting($1) AS value', [name]);
      values[name] = rows[0]?.value ?? '?';
    }
  } finally {
    await client.end();
  }
  return {
    url,
    settings: SETTINGS.map((name) => `${name}=${values[name]}`).join(' '),
    durable: values.fsync === 'on' && values.synchronous_commit !== 'off',
    stop: async () => server?.stop(),
  };
}
