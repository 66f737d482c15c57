import { startFailureLine } from './local-postgres';
import { type PostgresService, type S3Service, startPostgres, startS3 } from './local-services';

interface Started {
  postgres?: PostgresService;
  s3?: S3Service;
}

const KEY = Symbol.for('singer-ts.devkit.services');

/**
 * A server the suite needs did not start: one line, not jest's report of a failed global setup
 * with its stack, and no test runs. (A server already started is stopped by the exit.)
 */
function cannotTest(server: string, variable: string, error: unknown): never {
  process.stderr.write(`ERROR npm test: the local ${server} server did not start: ${startFailureLine(error)}; or set ${variable} to use a server of your own\n`);
  process.exit(1);
}

/**
 * Starts one PostgreSQL and one S3 server for the whole `npm test` run and publishes them
 * to every test worker through the environment. `TEST_DATABASE_URL` / `TEST_S3_ENDPOINT`
 * already set (a real MinIO, say) are used as they are.
 */
export default async function globalSetup(): Promise<void> {
  const started: Started = {};
  (globalThis as Record<symbol, unknown>)[KEY] = started;
  const [postgres, s3] = await Promise.all([
    process.env.TEST_DATABASE_URL ? undefined : startPostgres({ durable: false }).catch((error: unknown) => cannotTest('PostgreSQL', 'TEST_DATABASE_URL', error)),
    process.env.TEST_S3_ENDPOINT ? undefined : startS3().catch((error: unknown) => cannotTest('S3', 'TEST_S3_ENDPOINT', error)),
  ]);
  if (postgres) {
    started.postgres = postgres;
    process.env.TEST_DATABASE_URL = postgres.url;
  }
  if (s3) {
    started.s3 = s3;
    process.env.TEST_S3_ENDPOINT = s3.endpoint;
    process.env.TEST_S3_ACCESS_KEY_ID = s3.accessKeyId;
    process.env.TEST_S3_SECRET_ACCESS_KEY = s3.secretAccessKey;
    process.env.TEST_S3_REGION = s3.region;
  }
}

export async function globalTeardown(): Promise<void> {
  const started = (globalThis as Record<symbol, unknown>)[KEY] as Started | undefined;
  await Promise.all([started?.postgres?.stop(), started?.s3?.stop()]);
}
