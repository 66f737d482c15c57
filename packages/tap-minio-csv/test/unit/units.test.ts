import { pick, random } from '@singer-ts/devkit/testing';
import { ConfigError } from '@singer-ts/singer';

import type { TableSpec } from '../../src/config';
import { mergeUnitStates } from '../../src/merge-states';
import { findUnit, fnv1a32, formatSplit, keyLevels, parseSplit, unitIdOf, type UnitSplit } from '../../src/units';

const orders: TableSpec = {
  tableName: 'orders',
  searchPrefix: 'orders/',
  searchPattern: /\.csv$/,
  keyProperties: [],
  dateOverrides: [],
  delimiter: ',',
};
const legacy: TableSpec = { ...orders, tableName: 'legacy', searchPrefix: '' };
const PREFIX_1: UnitSplit = { kind: 'prefix', depth: 1 };
const PREFIX_3: UnitSplit = { kind: 'prefix', depth: 3 };
const HASH_4: UnitSplit = { kind: 'hash', shards: 4 };

describe('unit splits', () => {
  it('reads and writes "prefix:N", "hash:N" and "none"', () => {
    expect(parseSplit('prefix:3')).toEqual(PREFIX_3);
    expect(parseSplit(' hash:4 ')).toEqual(HASH_4);
    expect(parseSplit('none')).toEqual({ kind: 'none' });
    for (const bad of ['prefix:0', 'hash:', 'hash:-1', 'prefix:03', 'prefix', 'range:2', 'hash:1.5']) expect(parseSplit(bad)).toBeUndefined();
    expect(formatSplit(PREFIX_3)).toBe('prefix:3');
    expect(formatSplit(HASH_4)).toBe('hash:4');
  });

  it('hashes with 32-bit FNV-1a over the key\'s UTF-8 bytes', () => {
    // The reference values of the FNV test suite.
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Bytes, not UTF-16 code units: "é" is 0xc3 0xa9 (checked against Python's bytes).
    expect(fnv1a32('é')).toBe(0x1e9de8c1);
  });

  it('names units after the key levels under search_prefix, or the shard of the key', () => {
    const key = 'orders/2017/10/02/orders.csv';
    expect(keyLevels(orders, key)).toEqual(['2017', '10', '02']);
    expect(unitIdOf(orders, PREFIX_1, key)).toBe('orders:prefix:2017');
    expect(unitIdOf(orders, PREFIX_3, key)).toBe('orders:prefix:2017/10/02');
    expect(unitIdOf(orders, { kind: 'prefix', depth: 9 }, key)).toBe('orders:prefix:2017/10/02');
    // Fewer levels than the depth: the unit of the levels the key has.
    expect(unitIdOf(orders, PREFIX_3, 'orders/2017/late.csv')).toBe('orders:prefix:2017');
    expect(unitIdOf(orders, PREFIX_3, 'orders/top.csv')).toBe('orders:prefix:');
    expect(unitIdOf(legacy, PREFIX_1, 'olist_orders_dataset.csv')).toBe('legacy:prefix:');
    expect(unitIdOf(orders, { kind: 'none' }, key)).toBe('orders');
    // Pinned: unit states depend on the hash never changing.
    expect(fnv1a32(key)).toBe(0xeb79d47e);
    expect(unitIdOf(orders, HASH_4, key)).toBe('orders:hash:2of4');
  });

  it('finds a unit by its id, with a listing prefix that holds all its objects', () => {
    expect(findUnit('orders:prefix:2017/10', [orders], { kind: 'prefix', depth: 2 }).listPrefix).toBe('orders/2017/10/');
    expect(findUnit('orders:prefix:', [orders], PREFIX_3).listPrefix).toBe('orders/');
    expect(findUnit('orders:hash:3of4', [orders], HASH_4).listPrefix).toBe('orders/');
    expect(findUnit('orders', [orders, legacy], { kind: 'none' }).table).toBe(orders);
    const unit = findUnit('orders:prefix:2017', [orders], PREFIX_3);
    expect(unit.contains('orders/2017/a.csv')).toBe(true);
    expect(unit.contains('orders/2017/10/02/a.csv')).toBe(false);
  });

  it('refuses a unit id that is not one of the split\'s, saying what ids look like', () => {
    const attempt = (id: string, split: UnitSplit): string => {
      try {
        findUnit(id, [orders], split);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as ConfigError).code).toBe('UNIT_UNKNOWN');
        return (error as ConfigError).toUserLine();
      }
      throw new Error(`${id} was accepted`);
    };
    expect(attempt('orders:hash:4of4', HASH_4)).toMatch(/<table_name>:hash:<k>of4 with k from 0 to 3/);
    expect(attempt('orders:hash:1of3', HASH_4)).toMatch(/not a unit of this config \(unit_split hash:4\)/);
    expect(attempt('orders:prefix:2017/10', PREFIX_1)).toMatch(/up to 1 level/);
    expect(attempt('orders', PREFIX_1)).toMatch(/--list-units/);
    expect(attempt('customers:prefix:2017', PREFIX_1)).toMatch(/configured tables: orders/);
  });

  it('finds every key under the listing prefix of the unit it belongs to (generated keys)', () => {
    const next = random(20240501);
    const parts = ['2017', '10', '02', '', 'a b', 'x:y', 'é'];
    for (let i = 0; i < 2000; i += 1) {
      const depth = Math.floor(next() * 5);
      const key = `orders/${Array.from({ length: depth }, () => `${pick(next, parts)}/`).join('')}f${i}.csv`;
      const split = pick<UnitSplit>(next, [PREFIX_1, { kind: 'prefix', depth: 2 }, PREFIX_3, HASH_4, { kind: 'hash', shards: 1 }]);
      const id = unitIdOf(orders, split, key);
      const unit = findUnit(id, [orders], split);
      expect(unit.contains(key)).toBe(true);
      expect(key.startsWith(unit.listPrefix)).toBe(true);
    }
  });
});

describe('merging unit states', () => {
  const unitState = (id: string, split: string, bookmark: unknown, table = 'orders') => ({
    file: `${id}.json`,
    state: { bookmarks: { [table]: bookmark }, unit: { id, table, split } },
  });
  const mark = (at: string, ...keys: string[]) => ({ modified_since: at, keys_at_modified_since: keys });

  it('keeps each unit\'s bookmark under the table\'s earlier_split', () => {
    const merged = mergeUnitStates([
      unitState('orders:prefix:2018', 'prefix:1', mark('2024-01-01T00:00:09Z', 'orders/2018/a.csv')),
      unitState('orders:prefix:2017', 'prefix:1', mark('2024-01-01T00:00:05Z', 'orders/2017/a.csv')),
      unitState('customers:prefix:', 'prefix:1', mark('2024-01-01T00:00:01Z', 'customers/c.csv'), 'customers'),
    ]);
    expect(merged).toEqual({
      bookmarks: {
        customers: { earlier_split: { split: 'prefix:1', bookmarks: { 'customers:prefix:': mark('2024-01-01T00:00:01Z', 'customers/c.csv') } } },
        orders: {
          earlier_split: {
            split: 'prefix:1',
            bookmarks: {
              'orders:prefix:2017': mark('2024-01-01T00:00:05Z', 'orders/2017/a.csv'),
              'orders:prefix:2018': mark('2024-01-01T00:00:09Z', 'orders/2018/a.csv'),
            },
          },
        },
      },
    });
  });

  it('gives a whole-table state back for units of no split', () => {
    expect(mergeUnitStates([unitState('orders', 'none', mark('2024-01-01T00:00:05Z', 'orders/a.csv'))])).toEqual({
      bookmarks: { orders: mark('2024-01-01T00:00:05Z', 'orders/a.csv') },
    });
  });

  it('lets a state without units speak for the units that have no state of their own', () => {
    const whole = { modified_since: '2024-01-01T00:00:03Z', keys_at_modified_since: ['orders/2019/z.csv'] };
    const customers = mark('2024-01-01T00:00:01Z', 'customers/c.csv');
    const merged = mergeUnitStates([
      { file: 'merged-before.json', state: { bookmarks: { orders: whole, customers } } },
      unitState('orders:prefix:2017', 'prefix:1', mark('2024-01-01T00:00:05Z', 'orders/2017/a.csv')),
      unitState('orders:prefix:2018', 'prefix:1', undefined),
      { file: 'copy.json', state: { bookmarks: { customers, orders: whole } } },
    ]);
    expect(merged).toEqual({
      bookmarks: {
        customers,
        orders: {
          earlier_split: {
            split: 'prefix:1',
            bookmarks: { 'orders:prefix:2017': mark('2024-01-01T00:00:05Z', 'orders/2017/a.csv'), 'orders:prefix:2018': {} },
            other_units: whole,
          },
        },
      },
    });
  });

  it('refuses states of two splits, a unit twice, and two different states without units', () => {
    const a = unitState('orders:prefix:2017', 'prefix:1', mark('2024-01-01T00:00:05Z', 'orders/2017/a.csv'));
    expect(() => mergeUnitStates([a, unitState('orders:hash:0of2', 'hash:2', undefined)])).toThrow(/units of one split are merged at a time/);
    expect(() => mergeUnitStates([a, a])).toThrow(/second state of unit "orders:prefix:2017"/);
    expect(() =>
      mergeUnitStates([
        { file: 'one.json', state: { bookmarks: {} } },
        { file: 'two.json', state: { bookmarks: { orders: mark('2024-01-01T00:00:05Z') } } },
      ]),
    ).toThrow(/two different states without units/);
    expect(() => mergeUnitStates([unitState('orders:prefix:2017', 'prefix:1', { modified_since: 'soon' })])).toThrow(/modified_since/);
  });
});
