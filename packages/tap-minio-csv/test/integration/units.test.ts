/**
 * Units of work against the suite's real S3 server: listing them, syncing each one, states
 * per unit, objects written between and during syncs, and changing the split.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { TapRunResult } from '@singer-ts/singer/testing';

import { normalizeConfig } from '../../src/config';
import { parseSplit, shardOf, unitIdOf } from '../../src/units';
import { createTestBucket, HookedStore, lastState, runTap, type TestBucket } from '../support/s3';

const TAP_BIN = join(__dirname, '..', '..', 'bin', 'tap-minio-csv.js');

const TABLES = [
  { table_name: 'orders', search_prefix: 'orders/', search_pattern: '\\.csv$', key_properties: ['id'] },
  { table_name: 'customers', search_prefix: 'customers/', search_pattern: '\\.csv$', key_properties: ['id'] },
];

/** The processor's layout, one day late and one object outside the date folders. */
const FIRST_OBJECTS: Record<string, number> = {
  'orders/2017/10/02/orders.csv': 3,
  'orders/2017/10/03/orders.csv': 2,
  'orders/2017/11/01/orders.csv': 1,
  'orders/2018/01/05/orders.csv': 4,
  'orders/manual.csv': 1,
  'customers/2017/10/02/customers.csv': 2,
};

let ids = 0;
function csv(rows: number): string {
  let body = 'id,label\n';
  for (let i = 0; i < rows; i += 1) {
    ids += 1;
    body += `${ids},row ${ids}\n`;
  }
  return body;
}

/** Puts objects, then waits until the server's clock has left their second. */
async function putAll(bucket: TestBucket, objects: Record<string, number>): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  let last = new Date(0);
  for (const [key, rows] of Object.entries(objects)) {
    const body = csv(rows);
    sizes[key] = Buffer.byteLength(body);
    const { lastModified } = await bucket.put(key, body);
    if (lastModified > last) last = lastModified;
  }
  await bucket.waitPast(last);
  return sizes;
}

/** `key#line` of every record. */
function rowsOf(result: TapRunResult): string[] {
  return result.records.map((m) => `${String(m.record._sdc_source_file)}#${String(m.record._sdc_source_lineno)}`);
}

function unitsOf(result: TapRunResult): { unit: string; table: string; objects: number; bytes: number }[] {
  return result.output as { unit: string; table: string; objects: number; bytes: number }[];
}

function errorLines(result: TapRunResult): string[] {
  return result.logs.split('\n').filter((line) => line.includes('ERROR'));
}

describe('tap-minio-csv units of work', () => {
  let bucket: TestBucket;
  let sizes: Record<string, number>;
  const config = (extra: Record<string, unknown> = {}) => bucket.config({ tables: TABLES, ...extra });

  beforeEach(async () => {
    bucket = await createTestBucket('units');
    sizes = await putAll(bucket, FIRST_OBJECTS);
  });

  /** The discovered catalog, so that a hooked store sees the sync's reads only, not discovery's. */
  async function discovered(): Promise<object> {
    const result = await runTap({ config: config(), discover: true });
    expect(result.exitCode).toBe(0);
    return result.output[0] as object;
  }

  /** Syncs every unit `--list-units` names, each from its state in `states` (else `base`). */
  async function syncEveryUnit(
    split: string,
    states: Map<string, unknown>,
    base?: unknown,
  ): Promise<{ rows: string[]; byUnit: Map<string, string[]> }> {
    const listing = await runTap({ config: config({ unit_split: split }), args: ['--list-units'] });
    expect(listing.exitCode).toBe(0);
    const rows: string[] = [];
    const byUnit = new Map<string, string[]>();
    for (const { unit } of unitsOf(listing)) {
      const result = await runTap({ config: config({ unit_split: split }), args: ['--unit', unit], state: states.get(unit) ?? base });
      expect({ unit, code: result.exitCode }).toEqual({ unit, code: 0 });
      rows.push(...rowsOf(result));
      byUnit.set(unit, rowsOf(result));
      states.set(unit, lastState(result));
    }
    return { rows, byUnit };
  }

  it('lists the units of a prefix split with the objects and bytes a sync would read', async () => {
    const byYear = await runTap({ config: config({ unit_split: 'prefix:1' }), args: ['--list-units'] });
    expect(byYear.exitCode).toBe(0);
    const size = (...keys: string[]) => keys.reduce((sum, key) => sum + sizes[key]!, 0);
    expect(unitsOf(byYear)).toEqual([
      { unit: 'orders:prefix:', table: 'orders', objects: 1, bytes: size('orders/manual.csv') },
      {
        unit: 'orders:prefix:2017',
        table: 'orders',
        objects: 3,
        bytes: size('orders/2017/10/02/orders.csv', 'orders/2017/10/03/orders.csv', 'orders/2017/11/01/orders.csv'),
      },
      { unit: 'orders:prefix:2018', table: 'orders', objects: 1, bytes: size('orders/2018/01/05/orders.csv') },
      { unit: 'customers:prefix:2017', table: 'customers', objects: 1, bytes: size('customers/2017/10/02/customers.csv') },
    ]);
    const byDay = await runTap({ config: config({ unit_split: 'prefix:3' }), args: ['--list-units'] });
    expect(unitsOf(byDay).map((u) => `${u.unit} ${u.objects}`)).toEqual([
      'orders:prefix: 1',
      'orders:prefix:2017/10/02 1',
      'orders:prefix:2017/10/03 1',
      'orders:prefix:2017/11/01 1',
      'orders:prefix:2018/01/05 1',
      'customers:prefix:2017/10/02 1',
    ]);
    // A catalog narrows the listing to its selected streams; --unit to one unit.
    const catalog = {
      streams: TABLES.map((t) => ({
        tap_stream_id: t.table_name,
        stream: t.table_name,
        schema: { type: 'object', properties: {} },
        metadata: [{ breadcrumb: [], metadata: { selected: t.table_name === 'customers' } }],
      })),
    };
    const selected = await runTap({ config: config({ unit_split: 'prefix:3' }), catalog, args: ['--list-units'] });
    expect(unitsOf(selected).map((u) => u.unit)).toEqual(['customers:prefix:2017/10/02']);
    const one = await runTap({ config: config({ unit_split: 'prefix:1' }), args: ['--list-units', '--unit', 'orders:prefix:2017'] });
    expect(unitsOf(one)).toEqual([unitsOf(byYear)[1]]);
  });

  it('lists every shard of a hash split, counting each object in the shard of its key', async () => {
    const result = await runTap({ config: config({ unit_split: 'hash:3' }), args: ['--list-units'] });
    expect(result.exitCode).toBe(0);
    const expected = [];
    for (const table of TABLES) {
      for (let k = 0; k < 3; k += 1) {
        const keys = Object.keys(FIRST_OBJECTS).filter((key) => key.startsWith(table.search_prefix) && shardOf(key, 3) === k);
        expected.push({
          unit: `${table.table_name}:hash:${k}of3`,
          table: table.table_name,
          objects: keys.length,
          bytes: keys.reduce((sum, key) => sum + sizes[key]!, 0),
        });
      }
    }
    expect(unitsOf(result)).toEqual(expected);
  });

  it('honours start_date and counts only what a state has not read', async () => {
    const startDate = await bucket.now();
    await putAll(bucket, { 'orders/2018/01/06/orders.csv': 2 });
    const later = await runTap({ config: config({ unit_split: 'prefix:1', start_date: startDate.toISOString() }), args: ['--list-units'] });
    expect(unitsOf(later).map((u) => `${u.unit} ${u.objects}`)).toEqual(['orders:prefix:2018 1']);

    const first = await runTap({ config: config({ unit_split: 'prefix:1' }), args: ['--unit', 'orders:prefix:2018'] });
    expect(first.exitCode).toBe(0);
    const added = await putAll(bucket, { 'orders/2018/02/01/orders.csv': 1 });
    const left = await runTap({ config: config({ unit_split: 'prefix:1' }), args: ['--list-units'], state: lastState(first) });
    expect(left.exitCode).toBe(0);
    // A unit's state speaks for that unit alone: only it is listed.
    expect(unitsOf(left)).toEqual([{ unit: 'orders:prefix:2018', table: 'orders', objects: 1, bytes: added['orders/2018/02/01/orders.csv'] }]);
  });

  it('reads every object exactly once across the units, as a sync without units does, round after round', async () => {
    const whole = await runTap({ config: config() });
    expect(whole.exitCode).toBe(0);
    const reference = rowsOf(whole).sort();
    expect(reference).toHaveLength(13);

    for (const split of ['prefix:1', 'prefix:3', 'hash:3']) {
      const states = new Map<string, unknown>();
      const first = await syncEveryUnit(split, states);
      expect({ split, rows: [...first.rows].sort() }).toEqual({ split, rows: reference });
      // Each unit read its own objects only, and its state says which unit of which split it is.
      const parsed = parseSplit(split)!;
      for (const [unit, rows] of first.byUnit) {
        const table = TABLES.find((t) => unit.startsWith(`${t.table_name}:`))!;
        const spec = normalizeConfig(config()).tables.find((t) => t.tableName === table.table_name)!;
        for (const row of rows) expect(unitIdOf(spec, parsed, row.split('#')[0]!)).toBe(unit);
        const state = states.get(unit) as { bookmarks: Record<string, unknown>; unit: unknown };
        expect(state.unit).toEqual({ id: unit, table: table.table_name, split });
        expect(Object.keys(state.bookmarks ?? {})).toEqual(rows.length > 0 ? [table.table_name] : []);
      }
      // Nothing new: nothing is read again.
      const again = await syncEveryUnit(split, states);
      expect(again.rows).toEqual([]);
    }
  });

  it('reads objects added between rounds with the unit each belongs to, and only those', async () => {
    const states = new Map<string, unknown>();
    await syncEveryUnit('prefix:3', states);
    // Into an existing day, a new day, and outside the date folders.
    await putAll(bucket, { 'orders/2017/10/02/late.csv': 2, 'orders/2018/01/07/orders.csv': 1, 'orders/other.csv': 1 });
    const second = await syncEveryUnit('prefix:3', states);
    expect([...second.rows].sort()).toEqual([
      'orders/2017/10/02/late.csv#2',
      'orders/2017/10/02/late.csv#3',
      'orders/2018/01/07/orders.csv#2',
      'orders/other.csv#2',
    ]);
    expect(second.byUnit.get('orders:prefix:2017/10/02')).toEqual(['orders/2017/10/02/late.csv#2', 'orders/2017/10/02/late.csv#3']);
    expect(second.byUnit.get('orders:prefix:2018/01/07')).toEqual(['orders/2018/01/07/orders.csv#2']);
    expect(second.byUnit.get('orders:prefix:')).toEqual(['orders/other.csv#2']);
  });

  it('leaves an object written while a unit syncs to the next sync of the unit it belongs to', async () => {
    const states = new Map<string, unknown>();
    const split = 'prefix:1';
    const unit2017 = 'orders:prefix:2017';
    let written = false;
    const result = await runTap({
      config: config({ unit_split: split }),
      catalog: await discovered(),
      args: ['--unit', unit2017],
      store: (_config, s3) =>
        new HookedStore(s3, async () => {
          if (written) return;
          written = true;
          await bucket.put('orders/2017/12/31/orders.csv', csv(1));
          await bucket.put('orders/2019/01/01/orders.csv', csv(1));
        }),
    });
    expect(result.exitCode).toBe(0);
    expect(written).toBe(true);
    expect(rowsOf(result).map((row) => row.split('#')[0])).not.toContain('orders/2017/12/31/orders.csv');
    states.set(unit2017, lastState(result));
    await bucket.waitPast(await bucket.now());

    // The other units run after the writes: the 2019 object is an ordinary object of its own
    // new unit; the one of 2017 waits for unit 2017's next sync.
    const round = await syncEveryUnit(split, states);
    expect(round.byUnit.get(unit2017)).toEqual(['orders/2017/12/31/orders.csv#2']);
    expect(round.byUnit.get('orders:prefix:2019')).toEqual(['orders/2019/01/01/orders.csv#2']);
    expect(round.rows.filter((row) => row.startsWith('orders/2017/12/31/'))).toHaveLength(1);
    const next = await syncEveryUnit(split, states);
    expect(next.rows).toEqual([]);
  });

  it('refuses, with one line, a state that another split or another unit wrote', async () => {
    const first = await runTap({ config: config({ unit_split: 'prefix:1' }), args: ['--unit', 'orders:prefix:2017'] });
    const state = lastState(first);

    const otherSplit = await runTap({ config: config({ unit_split: 'hash:3' }), args: ['--unit', 'orders:hash:0of3'], state });
    expect(otherSplit.exitCode).toBe(1);
    expect(otherSplit.records).toHaveLength(0);
    expect(errorLines(otherSplit)).toEqual([
      expect.stringMatching(
        /the state was written by unit "orders:prefix:2017" of unit_split prefix:1, not by unit "orders:hash:0of3" of unit_split hash:3\. .*--merge-states.* \[STATE_SPLIT_MISMATCH\]$/,
      ),
    ]);
    expect(otherSplit.logs.trim().split('\n')).toHaveLength(1);

    const otherUnit = await runTap({ config: config({ unit_split: 'prefix:1' }), args: ['--unit', 'orders:prefix:2018'], state });
    expect(otherUnit.exitCode).toBe(1);
    expect(errorLines(otherUnit)).toEqual([expect.stringMatching(/\[STATE_UNIT_MISMATCH\]$/)]);

    const wholeRun = await runTap({ config: config(), state });
    expect(wholeRun.exitCode).toBe(1);
    expect(wholeRun.records).toHaveLength(0);
    expect(errorLines(wholeRun)).toEqual([expect.stringMatching(/this run syncs whole tables.*--merge-states.*\[STATE_SPLIT_MISMATCH\]$/)]);

    const listing = await runTap({ config: config({ unit_split: 'prefix:3' }), args: ['--list-units'], state });
    expect(listing.exitCode).toBe(1);
    expect(errorLines(listing)).toEqual([expect.stringMatching(/\[STATE_SPLIT_MISMATCH\]$/)]);

    const unknown = await runTap({ config: config({ unit_split: 'prefix:1' }), args: ['--unit', 'orders:hash:0of3'] });
    expect(unknown.exitCode).toBe(1);
    expect(errorLines(unknown)).toEqual([expect.stringMatching(/unit "orders:hash:0of3" is not a unit of this config \(unit_split prefix:1\).*--list-units/)]);
  });

  it('changes the split through --merge-states, losing and repeating nothing', async () => {
    const whole = await runTap({ config: config() });
    await putAll(bucket, { 'orders/2018/03/01/orders.csv': 2 });
    const reference = [...rowsOf(whole), 'orders/2018/03/01/orders.csv#2', 'orders/2018/03/01/orders.csv#3'].sort();

    // Round 1 under prefix:1, one unit failing halfway (its state covers what it finished)
    // and one never run at all.
    const oldStates = new Map<string, unknown>();
    const read: string[] = [];
    const r2017 = await runTap({
      config: config({ unit_split: 'prefix:1' }),
      catalog: await discovered(),
      args: ['--unit', 'orders:prefix:2017'],
      store: (_config, s3) => {
        let reads = 0;
        return new HookedStore(s3, async () => {
          reads += 1;
          if (reads === 2) throw new Error('connection reset');
        });
      },
    });
    expect(r2017.exitCode).toBe(1);
    // One of its three objects was read before the failure.
    expect(new Set(rowsOf(r2017).map((row) => row.split('#')[0])).size).toBe(1);
    read.push(...rowsOf(r2017));
    oldStates.set('orders:prefix:2017', lastState(r2017));
    for (const unit of ['orders:prefix:2018', 'customers:prefix:2017']) {
      const result = await runTap({ config: config({ unit_split: 'prefix:1' }), args: ['--unit', unit] });
      expect(result.exitCode).toBe(0);
      read.push(...rowsOf(result));
      oldStates.set(unit, lastState(result));
    }
    // Between the rounds, objects arrive in old units, read and unread.
    await putAll(bucket, { 'orders/2017/10/02/again.csv': 1, 'orders/2018/03/02/orders.csv': 1 });
    reference.push('orders/2017/10/02/again.csv#2', 'orders/2018/03/02/orders.csv#2');
    reference.sort();

    const dir = await mkdtemp(join(tmpdir(), 'tap-minio-csv-merge-'));
    try {
      const files: string[] = [];
      for (const [unit, state] of oldStates) {
        const file = join(dir, `${unit.replace(/[^a-z0-9]/gi, '_')}.json`);
        await writeFile(file, JSON.stringify(state));
        files.push(file);
      }
      const merged = await runTap({ config: config(), args: ['--merge-states', ...files] });
      expect(merged.exitCode).toBe(0);
      expect(merged.output).toHaveLength(1);
      const base = merged.output[0] as { bookmarks: Record<string, { earlier_split: { split: string; bookmarks: Record<string, unknown> } }> };
      expect(Object.keys(base.bookmarks.orders!.earlier_split.bookmarks)).toEqual(['orders:prefix:2017', 'orders:prefix:2018']);

      // Round 2 under hash:3, every unit starting from the merged state.
      const newStates = new Map<string, unknown>();
      const second = await syncEveryUnit('hash:3', newStates, base);
      read.push(...second.rows);
      expect([...read].sort()).toEqual(reference);
      // The merged bookmarks are behind every unit now: the states forget them.
      for (const [unit, state] of newStates) expect({ unit, state: JSON.stringify(state) }).toEqual({ unit, state: expect.not.stringContaining('earlier_split') });
      const third = await syncEveryUnit('hash:3', newStates, base);
      expect(third.rows).toEqual([]);

      // And back to no split: the hash units merged into one whole state.
      await putAll(bucket, { 'orders/2019/01/01/orders.csv': 1 });
      const files2: string[] = [];
      for (const [unit, state] of newStates) {
        const file = join(dir, `new-${unit.replace(/[^a-z0-9]/gi, '_')}.json`);
        await writeFile(file, JSON.stringify(state));
        files2.push(file);
      }
      const mergedAgain = await runTap({ config: config(), args: ['--merge-states', ...files2] });
      const back = await runTap({ config: config(), state: mergedAgain.output[0] });
      expect(back.exitCode).toBe(0);
      expect(rowsOf(back)).toEqual(['orders/2019/01/01/orders.csv#2']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts the units of a split from the state of a run without units', async () => {
    const whole = await runTap({ config: config() });
    await putAll(bucket, { 'orders/2017/10/02/b.csv': 1, 'customers/2018/01/01/customers.csv': 1 });
    const round = await syncEveryUnit('prefix:2', new Map(), lastState(whole));
    expect([...round.rows].sort()).toEqual(['customers/2018/01/01/customers.csv#2', 'orders/2017/10/02/b.csv#2']);
  });

  it('refuses to split a stream the catalog syncs FULL_TABLE (a full-table version)', async () => {
    const catalog = {
      streams: [
        {
          tap_stream_id: 'orders',
          stream: 'orders',
          schema: { type: 'object', properties: { id: { type: 'integer' } } },
          metadata: [{ breadcrumb: [], metadata: { selected: true, 'replication-method': 'FULL_TABLE' } }],
        },
      ],
    };
    const sync = await runTap({ config: config({ unit_split: 'prefix:1' }), catalog, args: ['--unit', 'orders:prefix:2017'] });
    expect(sync.exitCode).toBe(1);
    expect(errorLines(sync)).toEqual([expect.stringMatching(/cannot be split into units.*\[UNIT_NOT_SPLITTABLE\]$/)]);
    const list = await runTap({ config: config({ unit_split: 'hash:2' }), catalog, args: ['--list-units'] });
    expect(list.exitCode).toBe(1);
    expect(errorLines(list)).toEqual([expect.stringMatching(/\[UNIT_NOT_SPLITTABLE\]$/)]);
  });

  it('offers the unit flags in the executable, next to the Singer flags Meltano passes', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tap-minio-csv-bin-'));
    try {
      const configPath = join(dir, 'config.json');
      await writeFile(configPath, JSON.stringify(config({ unit_split: 'prefix:1' })));
      const run = (args: string[]) => promisify(execFile)(process.execPath, [TAP_BIN, ...args], { env: { ...process.env, LOG_LEVEL: 'warning' } });
      const listing = await run(['--config', configPath, '--list-units']);
      const lines = listing.stdout.trim().split('\n').map((line) => JSON.parse(line) as { unit: string });
      expect(lines.map((l) => l.unit)).toEqual(['orders:prefix:', 'orders:prefix:2017', 'orders:prefix:2018', 'customers:prefix:2017']);
      const sync = await run(['--config', configPath, '--unit', 'orders:prefix:2018']);
      const messages = sync.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; value?: unknown });
      const state = messages.filter((m) => m.type === 'STATE').pop()?.value;
      expect(state).toMatchObject({ unit: { id: 'orders:prefix:2018', split: 'prefix:1' } });
      const statePath = join(dir, 'state.json');
      await writeFile(statePath, JSON.stringify(state));
      // As Meltano calls it, with the unit in the config.
      await writeFile(configPath, JSON.stringify(config({ unit_split: 'prefix:1', unit: 'orders:prefix:2018' })));
      const again = await run(['--config', configPath, '--state', statePath]);
      expect(again.stdout).not.toContain('"RECORD"');
      const merged = await run(['--merge-states', statePath]);
      expect(JSON.parse(merged.stdout)).toEqual({
        bookmarks: { orders: { earlier_split: { split: 'prefix:1', bookmarks: { 'orders:prefix:2018': (state as { bookmarks: { orders: unknown } }).bookmarks.orders } } } },
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
