import './supported-node';

import { startFailureLine } from './local-postgres';
import { DEFAULT_DATA_DIR, LOCAL_PG_PASSWORD, startLocalPostgres } from './pipeline/environment';

/** `npm run db`: starts the local PostgreSQL of `npm start` again, to query what it loaded. */
async function main(): Promise<void> {
  const dataDir = process.env.PIPELINE_DATA_DIR ?? DEFAULT_DATA_DIR;
  const postgres = await startLocalPostgres(dataDir, (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(
    `PostgreSQL is running with the pipeline's data. Connect with:\n  psql "postgres://${postgres.user}:${LOCAL_PG_PASSWORD}@${postgres.host}:${postgres.port}/${postgres.database}"\nPress Ctrl-C to stop it.\n`,
  );
  const stop = (): void => {
    void postgres.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  setInterval(() => undefined, 1 << 30);
}

main().catch((error: unknown) => {
  process.stderr.write(`ERROR local PostgreSQL: ${startFailureLine(error)}\n`);
  process.exitCode = 1;
});
