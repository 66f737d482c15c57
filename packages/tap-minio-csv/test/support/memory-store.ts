/**
 * An object store in memory whose clock the test moves: the tap's whole sync path (listing,
 * units, bookmarks, CSV) without sockets, fast enough to run thousands of generated cases.
 * Objects are stamped with the clock when put, as S3 stamps them with its own.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runTapInProcess, type TapRunResult } from '@singer-ts/singer/testing';

import type { ObjectRef, ObjectStore } from '../../src/object-store';
import { spec } from '../../src/spec';
import { TapMinioCsv } from '../../src/tap';

interface StoredObject extends ObjectRef {
  readonly body: Buffer;
}

export class MemoryObjectStore implements ObjectStore {
  readonly bucket = 'memory';
  private readonly objects = new Map<string, StoredObject>();
  private versions = 0;
  /** Called before each read: to change the store while a sync runs. */
  beforeRead: ((ref: ObjectRef) => void) | undefined;

  constructor(public clock: Date) {}

  /** Moves the clock on by whole seconds. */
  tick(seconds = 1): void {
    this.clock = new Date(this.clock.getTime() + seconds * 1000);
  }

  put(key: string, body: string): ObjectRef {
    this.versions += 1;
    const bytes = Buffer.from(body);
    const object = { key, size: bytes.length, etag: `"v${this.versions}"`, lastModified: this.clock, body: bytes };
    this.objects.set(key, object);
    return object;
  }

  describe(key: string): string {
    return `memory://${key}`;
  }

  async *list(prefix: string): AsyncIterable<ObjectRef> {
    const keys = [...this.objects.keys()].filter((key) => key.startsWith(prefix)).sort();
    for (const key of keys) {
      const { key: found, size, etag, lastModified } = this.objects.get(key)!;
      yield { key: found, size, etag, lastModified };
    }
  }

  async now(): Promise<Date> {
    return this.clock;
  }

  async read(ref: ObjectRef): Promise<AsyncIterable<Buffer> | undefined> {
    this.beforeRead?.(ref);
    const object = this.objects.get(ref.key);
    if (object === undefined) return undefined;
    if (object.etag !== ref.etag) throw new Error(`${ref.key} changed since it was listed`);
    return (async function* () {
      yield object.body;
    })();
  }
}

/** Runs the tap in-process over `store` with `config` and extra arguments (`-s` takes a value). */
export async function runOnStore(
  store: ObjectStore,
  config: Record<string, unknown>,
  options: { state?: unknown; args?: string[] } = {},
): Promise<TapRunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tap-minio-csv-memory-'));
  try {
    const configPath = join(dir, 'config.json');
    await writeFile(configPath, JSON.stringify({ bucket: 'memory', ...config }));
    const args = ['-c', configPath, ...(options.args ?? [])];
    if (options.state !== undefined) {
      const statePath = join(dir, 'state.json');
      await writeFile(statePath, JSON.stringify(options.state));
      args.push('-s', statePath);
    }
    return await runTapInProcess(spec, (c, context) => new TapMinioCsv(c, context, store), { args, env: { LOG_LEVEL: 'warning' } });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs `--merge-states` on these states. */
export async function mergeStates(states: readonly unknown[]): Promise<TapRunResult> {
  const dir = await mkdtemp(join(tmpdir(), 'tap-minio-csv-merge-'));
  try {
    const args = ['--merge-states'];
    for (const [index, state] of states.entries()) {
      const path = join(dir, `state-${index}.json`);
      await writeFile(path, JSON.stringify(state));
      args.push(path);
    }
    return await runTapInProcess(spec, (c, context) => new TapMinioCsv(c, context, new MemoryObjectStore(new Date(0))), {
      args,
      env: { LOG_LEVEL: 'warning' },
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
