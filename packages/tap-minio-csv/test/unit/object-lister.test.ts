import { ConfigError } from '@singer-ts/singer';

import type { TableSpec } from '../../src/config';
import {
  advanceBookmark,
  type Bookmark,
  compareObjects,
  isWanted,
  parseBookmark,
  planSync,
  toBookmarkValue,
} from '../../src/object-lister';
import type { ObjectRef, ObjectStore } from '../../src/object-store';

function ref(key: string, at: string, size = 10): ObjectRef {
  return { key, size, etag: `"${key}"`, lastModified: new Date(at) };
}

/** An in-memory store whose clock the test moves. */
class MemoryStore implements ObjectStore {
  readonly bucket = 'memory';
  objects: ObjectRef[] = [];
  clock: Date;
  listings = 0;

  constructor(clock: string) {
    this.clock = new Date(clock);
  }

  describe(key: string): string {
    return `memory://${key}`;
  }

  async *list(prefix: string): AsyncIterable<ObjectRef> {
    this.listings += 1;
    const sorted = [...this.objects].sort((a, b) => (a.key < b.key ? -1 : 1));
    for (const object of sorted) if (object.key.startsWith(prefix)) yield object;
  }

  async now(): Promise<Date> {
    return this.clock;
  }

  async read(): Promise<AsyncIterable<Buffer> | undefined> {
    return undefined;
  }
}

const table: TableSpec = {
  tableName: 't',
  searchPrefix: 'data/',
  searchPattern: /\.csv$/,
  keyProperties: [],
  dateOverrides: [],
  delimiter: ',',
};

/** Reads objects one by one as a sync does, returning the keys read and the final bookmark. */
async function syncOnce(store: MemoryStore, bookmark: Bookmark | undefined): Promise<[string[], Bookmark | undefined]> {
  const plan = await planSync(store, table, { bookmark, wait: async () => undefined });
  let mark = bookmark;
  for (const object of plan.objects) mark = advanceBookmark(mark, object);
  // Through STATE and back, as the next run sees it.
  const stored = mark === undefined ? undefined : parseBookmark(JSON.parse(JSON.stringify(toBookmarkValue(mark))), 't');
  return [plan.objects.map((o) => o.key), stored];
}

describe('object lister', () => {
  it('orders objects by LastModified second, then key', () => {
    const objects = [
      ref('b.csv', '2024-01-01T00:00:05Z'),
      ref('c.csv', '2024-01-01T00:00:04Z'),
      ref('a.csv', '2024-01-01T00:00:05Z'),
    ];
    expect(objects.sort(compareObjects).map((o) => o.key)).toEqual(['c.csv', 'a.csv', 'b.csv']);
  });

  it('skips objects modified before start_date and keys the pattern does not match', () => {
    const filter = { pattern: /orders.*\.csv$/, startDate: new Date('2024-01-01T00:00:00Z') };
    expect(isWanted(ref('orders.csv', '2023-12-31T23:59:59Z'), filter)).toBe(false);
    expect(isWanted(ref('orders.csv', '2024-01-01T00:00:00Z'), filter)).toBe(true);
    expect(isWanted(ref('customers.csv', '2024-01-01T00:00:00Z'), filter)).toBe(false);
  });

  it('reads an object sharing the bookmark second only when its key was not read yet', () => {
    const bookmark = parseBookmark(
      { modified_since: '2024-01-01T00:00:05Z', keys_at_modified_since: ['a.csv'] },
      't',
    );
    const filter = { pattern: /csv/, bookmark };
    expect(isWanted(ref('a.csv', '2024-01-01T00:00:05Z'), filter)).toBe(false);
    expect(isWanted(ref('b.csv', '2024-01-01T00:00:05Z'), filter)).toBe(true);
    expect(isWanted(ref('z.csv', '2024-01-01T00:00:04Z'), filter)).toBe(false);
    expect(isWanted(ref('a.csv', '2024-01-01T00:00:06Z'), filter)).toBe(true);
  });

  it('treats a legacy bookmark without keys as having read its whole second', () => {
    const bookmark = parseBookmark({ modified_since: '2024-01-01T00:00:05.250000+00:00' }, 't');
    expect(bookmark?.modifiedSince?.toISOString()).toBe('2024-01-01T00:00:05.000Z');
    const filter = { pattern: /csv/, bookmark };
    expect(isWanted(ref('a.csv', '2024-01-01T00:00:05Z'), filter)).toBe(false);
    expect(isWanted(ref('a.csv', '2024-01-01T00:00:06Z'), filter)).toBe(true);
  });

  it('writes the bookmark in the legacy shape extended with the keys read at its second', () => {
    let mark = advanceBookmark(undefined, ref('b.csv', '2024-01-01T00:00:05Z'));
    mark = advanceBookmark(mark, ref('c.csv', '2024-01-01T00:00:05Z'));
    expect(toBookmarkValue(mark)).toEqual({
      modified_since: '2024-01-01T00:00:05Z',
      keys_at_modified_since: ['b.csv', 'c.csv'],
    });
    mark = advanceBookmark(mark, ref('a.csv', '2024-01-01T00:00:07Z'));
    expect(toBookmarkValue(mark)).toEqual({ modified_since: '2024-01-01T00:00:07Z', keys_at_modified_since: ['a.csv'] });
  });

  it('rejects a bookmark that is not the shape it writes, naming the table', () => {
    expect(() => parseBookmark('2024-01-01', 'orders')).toThrow(ConfigError);
    expect(() => parseBookmark({ modified_since: 'soon' }, 'orders')).toThrow(/modified_since/);
    try {
      parseBookmark({ modified_since: '2024-01-01T00:00:00Z', keys_at_modified_since: 'a' }, 'orders');
    } catch (error) {
      expect((error as ConfigError).stream).toBe('orders');
      expect((error as ConfigError).code).toBe('STATE_INVALID');
    }
    expect(parseBookmark({}, 'orders')).toBeUndefined();
  });

  it('neither skips nor repeats objects that share a second across syncs', async () => {
    const store = new MemoryStore('2024-01-01T00:01:00Z');
    store.objects = [ref('data/a.csv', '2024-01-01T00:00:05Z'), ref('data/b.csv', '2024-01-01T00:00:05Z')];
    const [first, mark1] = await syncOnce(store, undefined);
    expect(first).toEqual(['data/a.csv', 'data/b.csv']);

    // Written later in the same second as the bookmark (the listing had not seen it), and after.
    store.objects.push(ref('data/0.csv', '2024-01-01T00:00:05Z'), ref('data/c.csv', '2024-01-01T00:00:09Z'));
    const [second, mark2] = await syncOnce(store, mark1);
    expect(second).toEqual(['data/0.csv', 'data/c.csv']);

    const [third] = await syncOnce(store, mark2);
    expect(third).toEqual([]);
  });

  it('resumes after a failure between two objects of the same second without repeating the first', async () => {
    const store = new MemoryStore('2024-01-01T00:01:00Z');
    store.objects = [ref('data/a.csv', '2024-01-01T00:00:05Z'), ref('data/b.csv', '2024-01-01T00:00:05Z')];
    const plan = await planSync(store, table, {});
    const afterFirst = advanceBookmark(undefined, plan.objects[0]!);
    const [resumed] = await syncOnce(store, afterFirst);
    expect(resumed).toEqual(['data/b.csv']);
  });

  it('leaves objects stamped at or after the sync start second for the next sync', async () => {
    const store = new MemoryStore('2024-01-01T00:00:10Z');
    store.objects = [
      ref('data/old.csv', '2024-01-01T00:00:09Z'),
      // A clock that never moves: the planner waits, then gives up and defers.
      ref('data/new.csv', '2024-01-01T00:00:10Z'),
    ];
    const plan = await planSync(store, table, { wait: async () => undefined });
    expect(plan.objects.map((o) => o.key)).toEqual(['data/old.csv']);
    expect(plan.deferred).toBe(1);
  });

  it('waits for the server clock to pass the start second and then reads the fresh object', async () => {
    const store = new MemoryStore('2024-01-01T00:00:10Z');
    store.objects = [ref('data/new.csv', '2024-01-01T00:00:10Z')];
    const waits: number[] = [];
    const plan = await planSync(store, table, {
      wait: async (ms) => {
        waits.push(ms);
        store.clock = new Date('2024-01-01T00:00:11Z');
      },
    });
    expect(waits).toEqual([1000]);
    expect(store.listings).toBe(2);
    expect(plan.objects.map((o) => o.key)).toEqual(['data/new.csv']);
    expect(plan.deferred).toBe(0);
  });

  it('does not wait when nothing is stamped in the start second', async () => {
    const store = new MemoryStore('2024-01-01T00:00:10Z');
    store.objects = [ref('data/a.csv', '2024-01-01T00:00:01Z'), ref('other/b.csv', '2024-01-01T00:00:10Z')];
    const waits: number[] = [];
    const plan = await planSync(store, table, { wait: async (ms) => void waits.push(ms) });
    expect(waits).toEqual([]);
    expect(plan.objects.map((o) => o.key)).toEqual(['data/a.csv']);
  });
});
