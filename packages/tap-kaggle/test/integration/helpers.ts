import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runTapInProcess, type TapRunResult } from '@singer-ts/singer/testing';
import { ZipFile } from 'yazl';

import { spec } from '../../src/spec';
import { TapKaggle } from '../../src/tap';

export const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'dataset');
export const USERNAME = 'kaggle-user';
export const KEY = 'k3y-0123456789abcdef';
export const TOKEN = 'KGAT_0123456789abcdef';

/** A zip of the given files, in memory (test data is small). */
export async function makeZip(files: Record<string, string | Buffer>, compress = true): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, content] of Object.entries(files)) {
    zip.addBuffer(typeof content === 'string' ? Buffer.from(content) : content, name, { compress, mtime: new Date(0) });
  }
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The fixture dataset's files by name. */
export async function fixtureFiles(): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  for (const name of (await readdir(FIXTURE_DIR)).sort()) files[name] = await readFile(join(FIXTURE_DIR, name));
  return files;
}

export async function fixtureZip(): Promise<Buffer> {
  return makeZip(await fixtureFiles());
}

/** A scratch folder with an empty home (no ambient Kaggle credentials). */
export class Scratch {
  private constructor(readonly dir: string) {}

  static async create(): Promise<Scratch> {
    return new Scratch(await mkdtemp(join(tmpdir(), 'tap-kaggle-test-')));
  }

  get home(): string {
    return join(this.dir, 'home');
  }

  async write(name: string, content: unknown): Promise<string> {
    const path = join(this.dir, name);
    await writeFile(path, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content));
    return path;
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}

export interface RunOptions {
  state?: unknown;
  catalog?: unknown;
  discover?: boolean;
  args?: string[];
  env?: NodeJS.ProcessEnv;
}

let runs = 0;

/** Runs the tap in-process with this config; credentials come only from the config and `env`. */
export async function runTap(scratch: Scratch, config: Record<string, unknown>, options: RunOptions = {}): Promise<TapRunResult> {
  runs += 1;
  const args = ['-c', await scratch.write(`config-${runs}.json`, config)];
  if (options.state !== undefined) args.push('-s', await scratch.write(`state-${runs}.json`, options.state));
  if (options.catalog !== undefined) args.push('--catalog', await scratch.write(`catalog-${runs}.json`, options.catalog));
  if (options.discover) args.push('--discover');
  args.push(...(options.args ?? []));
  const env = options.env ?? {};
  return runTapInProcess(spec, (c, ctx) => new TapKaggle(c, ctx, { credentialSources: { env, homeDir: scratch.home } }), {
    args,
    env: { LOG_LEVEL: 'info' },
  });
}

/** The last STATE value a run wrote. */
export function lastState(result: TapRunResult): Record<string, unknown> {
  const state = result.states[result.states.length - 1];
  return (state?.value ?? {}) as Record<string, unknown>;
}
