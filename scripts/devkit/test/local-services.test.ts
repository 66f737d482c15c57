import { chmod, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { Client } from 'pg';

import { LocalServiceError, postgresInstallDir, startFailureLine } from '../src/local-postgres';
import { startPostgres } from '../src/local-services';
import { connectTestDatabase, testS3Client } from '../src/testing';

describe('the servers the test run starts', () => {
  it('serves PostgreSQL on the published URL', async () => {
    const client = await connectTestDatabase();
    try {
      const { rows } = await client.query<{ n: number }>('SELECT 40 + 2 AS n');
      expect(rows[0]?.n).toBe(42);
    } finally {
      await client.end();
    }
  });

  it('serves S3 to the current AWS SDK, round-tripping an object', async () => {
    const s3 = testS3Client();
    const bucket = `devkit-smoke-${process.pid}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.csv', Body: 'x,y\n1,2\n' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.csv' }));
    expect(await got.Body?.transformToString()).toBe('x,y\n1,2\n');
    s3.destroy();
  });
});

const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('a local PostgreSQL server', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'devkit-pg-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  (asRoot ? it : it.skip)('starts as root from a folder only root can enter, and finds its data again', async () => {
    // A checkout in root's home or a `mktemp -d` folder: binaries and data out of the postgres user's reach.
    await chmod(dir, 0o700);
    await symlink(postgresInstallDir(), join(dir, 'native'));
    const notices: string[] = [];
    const options = { installDir: join(dir, 'native'), dataDir: join(dir, 'data'), onNotice: (line: string) => notices.push(line) };
    const first = await startPostgres(options);
    try {
      await query(first.url, 'CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)');
    } finally {
      await first.stop();
    }
    const second = await startPostgres(options);
    try {
      expect(second.dataDir).toBe(first.dataDir);
      expect(await query(second.url, 'SELECT n FROM kept')).toEqual([{ n: 42 }]);
    } finally {
      await second.stop();
      await rm(second.dataDir, { recursive: true, force: true });
    }
    expect(notices).toEqual([
      `PostgreSQL runs as the user "postgres", which cannot enter ${join(dir, 'data')}; its data is kept in ${first.dataDir} instead`,
      `PostgreSQL runs as the user "postgres", which cannot enter ${join(dir, 'data')}; its data is kept in ${first.dataDir} instead`,
    ]);
  });

  it('keeps PostgreSQL\'s durable settings unless told it serves throw-away data', async () => {
    const settings = "SELECT current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS sync";
    const durable = await startPostgres();
    try {
      expect(await query(durable.url, settings)).toEqual([{ fsync: 'on', sync: 'on' }]);
    } finally {
      await durable.stop();
    }
    const scratch = await startPostgres({ durable: false });
    try {
      expect(await query(scratch.url, settings)).toEqual([{ fsync: 'off', sync: 'on' }]);
    } finally {
      await scratch.stop();
    }
  });

  it('that cannot start says why in one line', async () => {
    const missing = startPostgres({ installDir: join(dir, 'nothing-here') });
    await expect(missing).rejects.toThrow(new LocalServiceError(`no PostgreSQL binaries in ${join(dir, 'nothing-here')}: run npm ci again`));

    const taken = new URL(process.env.TEST_DATABASE_URL ?? '');
    const error = await startPostgres({ port: Number(taken.port) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LocalServiceError);
    expect(startFailureLine(error)).toMatch(new RegExp(`^PostgreSQL stopped as it started \\(exit 1\\) on port ${taken.port} .*could not create`));
    expect(startFailureLine(error)).not.toContain('\n');
  });
});

async function query(url: string, sql: string): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const results = await client.query(sql);
    return (Array.isArray(results) ? results.at(-1) : results).rows;
  } finally {
    await client.end();
  }
}
