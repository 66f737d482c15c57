import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type KaggleStandIn, startKaggleStandIn } from '../../../../scripts/devkit/src/kaggle-stand-in';
import { FIXTURE_DIR, fixtureZip, KEY, lastState, runTap, Scratch, USERNAME } from './helpers';

const DATASET = 'olistbr/brazilian-ecommerce';
const ORDERS = 'olist_orders_dataset.csv';
const CUSTOMERS = 'olist_customers_dataset.csv';

describe('tap-kaggle units of work: one file per unit', () => {
  let standIn: KaggleStandIn;
  let scratch: Scratch;
  let config: Record<string, unknown>;

  beforeEach(async () => {
    standIn = await startKaggleStandIn({ datasets: { [DATASET]: { versions: { 2: await fixtureZip() } } }, username: USERNAME, key: KEY });
    scratch = await Scratch.create();
    config = {
      dataset: DATASET,
      username: USERNAME,
      key: KEY,
      api_base_url: standIn.baseUrl.rpc,
      files: [ORDERS, CUSTOMERS, 'olist_order_items_dataset.csv'],
      stream_names: { [ORDERS]: 'orders', [CUSTOMERS]: 'customers' },
    };
  });

  afterEach(async () => {
    await standIn.stop();
    await scratch.remove();
  });

  const storageRequests = (): number => standIn.requests.filter((r) => r.kind === 'storage').length;
  const size = async (name: string): Promise<number> => (await readFile(join(FIXTURE_DIR, name))).length;

  it('lists each selected file with its stream and size, from the downloaded archive', async () => {
    const result = await runTap(scratch, config, { args: ['--list-units'] });
    expect(result.exitCode).toBe(0);
    expect(result.output).toEqual([
      { unit: CUSTOMERS, stream: 'customers', bytes: await size(CUSTOMERS) },
      { unit: 'olist_order_items_dataset.csv', stream: 'olist_order_items_dataset', bytes: await size('olist_order_items_dataset.csv') },
      { unit: ORDERS, stream: 'orders', bytes: await size(ORDERS) },
    ]);
    expect(storageRequests()).toBe(1);
    // The same from archive_path, and --unit narrows the listing to that file.
    const local = await runTap(scratch, { dataset: DATASET, archive_path: FIXTURE_DIR }, { args: ['--list-units', '--unit', ORDERS] });
    expect(local.output).toEqual([{ unit: ORDERS, stream: 'olist_orders_dataset', bytes: await size(ORDERS) }]);
  });

  it('lists only the files of the streams a catalog selects', async () => {
    const discovered = await runTap(scratch, config, { discover: true });
    const catalog = discovered.output[0] as { streams: { stream: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[] };
    for (const stream of catalog.streams) stream.metadata[0]!.metadata.selected = stream.stream === 'customers';
    const result = await runTap(scratch, config, { catalog, args: ['--list-units'] });
    expect(result.output).toEqual([{ unit: CUSTOMERS, stream: 'customers', bytes: await size(CUSTOMERS) }]);
  });

  it('emits only the unit\'s file, and its state holds only that file\'s bookmark', async () => {
    const whole = await runTap(scratch, config);
    const result = await runTap(scratch, config, { args: ['--unit', ORDERS] });
    expect(result.exitCode).toBe(0);
    expect(result.schemas.map((s) => s.stream)).toEqual(['orders']);
    expect(result.records.map((r) => r.record)).toEqual(whole.records.filter((r) => r.stream === 'orders').map((r) => r.record));
    expect(lastState(result)).toEqual({ bookmarks: { orders: expect.objectContaining({ file: ORDERS, version: 2, done: true }) } });

    // From the whole run's state, the unit keeps its own bookmark only, and finds it current.
    standIn.clearRequests();
    const fromWhole = await runTap(scratch, config, { args: ['--unit', CUSTOMERS], state: lastState(whole) });
    expect(fromWhole.records).toHaveLength(0);
    expect(storageRequests()).toBe(0);
    expect(lastState(fromWhole)).toEqual({ bookmarks: { customers: (lastState(whole).bookmarks as Record<string, unknown>).customers } });
  });

  it('runs the units side by side with states that never overlap, and merges them into a whole state', async () => {
    const listing = await runTap(scratch, config, { args: ['--list-units'] });
    const states: unknown[] = [];
    const streams: string[] = [];
    for (const { unit } of listing.output as { unit: string }[]) {
      const result = await runTap(scratch, { ...config, unit });
      expect(result.exitCode).toBe(0);
      streams.push(...new Set(result.records.map((r) => r.stream)));
      states.push(lastState(result));
    }
    expect(streams).toEqual(['customers', 'olist_order_items_dataset', 'orders']);
    const keys = states.map((state) => Object.keys((state as { bookmarks: object }).bookmarks));
    expect(keys).toEqual([['customers'], ['olist_order_items_dataset'], ['orders']]);

    // Each unit, run again from its own state at the same version, downloads nothing.
    standIn.clearRequests();
    const again = await runTap(scratch, { ...config, unit: ORDERS }, { state: states[2] });
    expect(again.records).toHaveLength(0);
    expect(storageRequests()).toBe(0);

    const files = await Promise.all(states.map((state, i) => scratch.write(`unit-state-${i}.json`, state)));
    const merged = await runTap(scratch, config, { args: ['--merge-states', ...files] });
    expect(merged.exitCode).toBe(0);
    const whole = await runTap(scratch, config, { state: merged.output[0] });
    expect(whole.records).toHaveLength(0);
    expect(whole.logs).toContain('nothing to download or emit');
  });

  it('emits the unit\'s catalog entry only, and refuses a catalog that does not select it', async () => {
    const discovered = await runTap(scratch, config, { discover: true });
    const catalog = discovered.output[0] as { streams: { stream: string; metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[] }[] };
    const result = await runTap(scratch, config, { catalog, args: ['--unit', CUSTOMERS] });
    expect(result.schemas.map((s) => s.stream)).toEqual(['customers']);
    expect(result.records).toHaveLength(3);
    for (const stream of catalog.streams) stream.metadata[0]!.metadata.selected = stream.stream !== 'customers';
    const refused = await runTap(scratch, config, { catalog, args: ['--unit', CUSTOMERS] });
    expect(refused.exitCode).toBe(1);
    expect(refused.logs).toMatch(/the catalog does not select a stream reading file "olist_customers_dataset.csv".*\[CATALOG_INVALID\]/);
  });

  it('refuses, with one line, a unit that is not a selected file', async () => {
    const result = await runTap(scratch, config, { args: ['--unit', 'product_category_name_translation.csv'] });
    expect(result.exitCode).toBe(1);
    const errors = result.logs.split('\n').filter((line) => line.includes('ERROR'));
    expect(errors).toEqual([
      expect.stringMatching(
        /unit "product_category_name_translation.csv" is not a file of dataset olistbr\/brazilian-ecommerce that the config selects.*--list-units.*olist_orders_dataset\.csv.*\[UNIT_UNKNOWN\]$/,
      ),
    ]);
  });

  it('refuses to merge two different bookmarks of one stream', async () => {
    const a = await scratch.write('a.json', { bookmarks: { orders: { dataset: DATASET, version: 2, file: ORDERS, done: true } } });
    const b = await scratch.write('b.json', { bookmarks: { orders: { dataset: DATASET, version: 1, file: ORDERS, done: true } } });
    const result = await runTap(scratch, config, { args: ['--merge-states', a, b] });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/holds a bookmark of stream "orders" other than the one in .*a\.json.*\[STATE_UNIT_MISMATCH\]/);
  });
});
