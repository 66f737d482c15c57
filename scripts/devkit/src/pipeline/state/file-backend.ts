import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

import { checkStateId, type StateBackend, StateBackendError } from './backend';
import { isLockStale, LOCK_GIVE_UP_SECONDS, LOCK_RETRY_SECONDS, lockStamp, singerStateOfRecord, sleep, stateRecordJson } from './meltano-state';

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * States in a local folder, laid out as Meltano's local filesystem backend
 * (`file:///dir`): `dir/<state id>/state.json`, guarded while written by `dir/<state id>/lock`.
 * The lock is created exclusively (two writers can never both think they hold it) and the
 * state is replaced by a rename, so a reader sees the old state or the new one, whole.
 */
export class FileStateBackend implements StateBackend {
  readonly location: string;

  constructor(private readonly dir: string) {
    this.location = `file://${dir}`;
  }

  async read(stateId: string): Promise<string | undefined> {
    const path = join(this.dir, checkStateId(stateId), 'state.json');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
    try {
      return singerStateOfRecord(text);
    } catch (error) {
      throw new StateBackendError(`the state in ${path} is not a state record: ${(error as Error).message}`);
    }
  }

  async write(stateId: string, value: string): Promise<void> {
    const folder = join(this.dir, checkStateId(stateId));
    const record = stateRecordJson(value);
    await mkdir(folder, { recursive: true });
    await this.withLock(folder, async () => {
      const temporary = join(folder, `.state.json.${process.pid}.${Math.random().toString(36).slice(2)}`);
      try {
        await writeWhole(temporary, record);
        await rename(temporary, join(folder, 'state.json'));
      } finally {
        await rm(temporary, { force: true });
      }
    });
  }

  async close(): Promise<void> {}

  private async withLock(folder: string, work: () => Promise<void>): Promise<void> {
    const lock = join(folder, 'lock');
    const giveUpAt = Date.now() + LOCK_GIVE_UP_SECONDS * 1000;
    for (;;) {
      try {
        const handle = await open(lock, 'wx');
        try {
          await handle.writeFile(lockStamp());
        } finally {
          await handle.close();
        }
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const content = await readFile(lock, 'utf8').catch(() => '');
      // An abandoned lock (older than Meltano's lock timeout) is removed, as Meltano does.
      if (content !== '' && isLockStale(content)) {
        await rm(lock, { force: true });
        continue;
      }
      if (Date.now() > giveUpAt) {
        throw new StateBackendError(`the state in ${folder} stays locked (${lock}): another run is writing it, or remove the lock file`);
      }
      await sleep(LOCK_RETRY_SECONDS * 1000);
    }
    try {
      await work();
    } finally {
      await rm(lock, { force: true });
    }
  }
}

async function writeWhole(path: string, text: string): Promise<void> {
  const handle = await open(path, 'w');
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
