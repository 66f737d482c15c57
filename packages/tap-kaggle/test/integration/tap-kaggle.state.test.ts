import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

import { type KaggleStandIn, startKaggleStandIn } from '../../../../scripts/devkit/src/kaggle-stand-in';
import { fixtureFiles, fixtureZip, KEY, lastState, makeZip, runTap, Scratch, USERNAME } from './helpers';

const DATASET = 'olistbr/brazilian-ecommerce';

describe('tap-kaggle state and cache', () => {
  let standIn: KaggleStandIn;
  let scratch: Scratch;
  let config: Record<string, unknown>;

  beforeEach(async () => {
    standIn = await startKaggleStandIn({
      datasets: { [DATASET]: { versions: { 2: await fixtureZip() } } },
      username: USERNAME,
      key: KEY,
    });
    scratch = await Scratch.create();
    config = {
      dataset: DATASET,
      username: USERNAME,
      key: KEY,
      api_base_url: standIn.baseUrl.rpc,
      files: ['olist_orders_dataset.csv', 'olist_customers_dataset.csv'],
      stream_names: { 'olist_orders_dataset.csv': 'orders', 'olist_customers_dataset.csv': 'customers' },
    };
  });

  afterEach(async () => {
    await standIn.stop();
    await scratch.remove();
  });

  const storageRequests = (): number => standIn.requests.filter((r) => r.kind === 'storage').length;

  it('neither downloads nor emits anything when the dataset version is the one in state', async () => {
    const first = await runTap(scratch, config);
    expect(first.records).toHaveLength(5);
    standIn.clearRequests();

    const second = await runTap(scratch, config, { state: lastState(first) });
    expect(second.exitCode).toBe(0);
    expect(second.schemas).toHaveLength(0);
    expect(second.records).toHaveLength(0);
    expect(storageRequests()).toBe(0);
    expect(standIn.requests.map((r) => r.url)).toEqual(['/v1/datasets.DatasetApiService/GetDataset']);
    expect(second.logs).toContain('dataset olistbr/brazilian-ecommerce is still at version 2, as at the last run: nothing to download or emit');
    expect(lastState(second)).toEqual(lastState(first));
  });

  it('emits only the files a new version changed, and moves every bookmark to it', async () => {
    const first = await runTap(scratch, config);
    const files = await fixtureFiles();
    const customers = files['olist_customers_dataset.csv']!.toString();
    files['olist_customers_dataset.csv'] = Buffer.from(customers.replace(/\n$/, '\n"c9","u9","01151","são paulo","SP"\n'));
    standIn.setCurrentVersion(DATASET, 3, await makeZip(files));
    const second = await runTap(scratch, config, { state: lastState(first) });
    expect(second.exitCode).toBe(0);
    expect(second.schemas.map((s) => s.stream)).toEqual(['customers']);
    expect(second.records.map((r) => r.stream)).toEqual(new Array(second.records.length).fill('customers'));
    expect(second.records.at(-1)?.record).toMatchObject({ customer_id: 'c9', customer_zip_code_prefix: '01151' });
    expect(second.logs).toContain('stream orders: olist_orders_dataset.csv is the same in version 3 as in version 2 (same CRC-32 and size); left out');
    expect(lastState(second)).toMatchObject({ bookmarks: { orders: { version: 3, done: true }, customers: { version: 3, done: true } } });

    // Everything is current now: the next run neither downloads nor emits.
    standIn.clearRequests();
    const third = await runTap(scratch, config, { state: lastState(second) });
    expect(third.records).toHaveLength(0);
    expect(storageRequests()).toBe(0);
  });

  it('emits a file again when a new version has the same name but other bytes', async () => {
    const first = await runTap(scratch, config);
    standIn.setCurrentVersion(DATASET, 3, await makeZip({ ...(await fixtureFiles()), 'olist_orders_dataset.csv': Buffer.from('order_id\nnew\n') }));
    const second = await runTap(scratch, config, { state: lastState(first) });
    expect(second.records.filter((r) => r.stream === 'orders').map((r) => r.record)).toEqual([{ order_id: 'new' }]);
  });

  it('does the same with a catalog: streams emitted whole at this version are left out', async () => {
    const discovered = await runTap(scratch, config, { discover: true });
    const catalog = discovered.output[0];
    const first = await runTap(scratch, config, { catalog });
    const state = lastState(first) as { bookmarks: Record<string, unknown> };
    delete state.bookmarks.customers;
    standIn.clearRequests();
    const second = await runTap(scratch, config, { catalog, state });
    expect(second.schemas.map((s) => s.stream)).toEqual(['customers']);
    expect(second.records).toHaveLength(3);
    expect(second.logs).toContain('stream orders: already emitted whole from version 2; left out');
  });

  it('emits again without a catalog when the selection of files changed', async () => {
    const first = await runTap(scratch, { ...config, files: ['olist_orders_dataset.csv'] });
    const second = await runTap(scratch, config, { state: lastState(first) });
    expect(new Set(second.records.map((r) => r.stream))).toEqual(new Set(['orders', 'customers']));
  });

  it('resumes a file after the line of an in-progress bookmark of the same version', async () => {
    const state = {
      bookmarks: { customers: { dataset: DATASET, version: 2, file: 'olist_customers_dataset.csv', done: false, line: 3 } },
    };
    const result = await runTap(scratch, { ...config, files: ['olist_customers_dataset.csv'] }, { state });
    expect(result.records.map((r) => r.record.customer_zip_code_prefix)).toEqual(['01151']);
    expect(result.logs).toContain('after line 3');
  });

  it('does not resume from a bookmark of another version', async () => {
    const state = {
      bookmarks: { customers: { dataset: DATASET, version: 1, file: 'olist_customers_dataset.csv', done: false, line: 3 } },
    };
    const result = await runTap(scratch, { ...config, files: ['olist_customers_dataset.csv'] }, { state });
    expect(result.records).toHaveLength(3);
  });

  it('writes resumable bookmarks every state_interval_rows rows', async () => {
    const result = await runTap(scratch, { ...config, files: ['olist_customers_dataset.csv'], state_interval_rows: 2 });
    const customers = result.states.map((s) => (s.value as { bookmarks: Record<string, unknown> }).bookmarks.customers);
    expect(customers).toEqual([
      expect.objectContaining({ done: false, line: 3 }),
      expect.objectContaining({ done: true }),
      expect.objectContaining({ done: true }),
    ]);
    const order = result.messages.map((m) => m.type);
    expect(order.indexOf('STATE')).toBe(3); // SCHEMA, RECORD, RECORD, STATE
  });

  it('keeps the download in cache_dir and reuses it while the version is current', async () => {
    const cacheDir = join(scratch.dir, 'cache');
    const first = await runTap(scratch, { ...config, cache_dir: cacheDir });
    expect(first.exitCode).toBe(0);
    expect(storageRequests()).toBe(1);
    const record = JSON.parse(await readFile(join(cacheDir, 'olistbr', 'brazilian-ecommerce', 'archive.json'), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ dataset: DATASET, version: 2, size: (await fixtureZip()).length, etag: expect.stringMatching(/^".+"$/) });

    const second = await runTap(scratch, { ...config, cache_dir: cacheDir });
    expect(second.records.map((r) => r.record)).toEqual(first.records.map((r) => r.record));
    expect(storageRequests()).toBe(1);
    expect(standIn.requests.filter((r) => r.url.endsWith('DownloadDataset'))).toHaveLength(1);
    expect(second.logs).toContain('using the cached download of olistbr/brazilian-ecommerce version 2');

    standIn.setCurrentVersion(DATASET, 3, await makeZip({ 'olist_orders_dataset.csv': 'order_id\nnew\n', 'olist_customers_dataset.csv': 'customer_id\nc\n' }));
    const third = await runTap(scratch, { ...config, cache_dir: cacheDir });
    expect(storageRequests()).toBe(2);
    expect(third.records.map((r) => r.record)).toEqual([{ order_id: 'new' }, { customer_id: 'c' }]);
    expect((await readdir(join(cacheDir, 'olistbr', 'brazilian-ecommerce'))).sort()).toEqual(['archive', 'archive.json']);
  });

  it('downloads again when the cached archive does not match its record', async () => {
    const cacheDir = join(scratch.dir, 'cache');
    await runTap(scratch, { ...config, cache_dir: cacheDir });
    await scratch.write(join('cache', 'olistbr', 'brazilian-ecommerce', 'archive'), 'truncated');
    const second = await runTap(scratch, { ...config, cache_dir: cacheDir });
    expect(second.exitCode).toBe(0);
    expect(second.records).toHaveLength(5);
    expect(storageRequests()).toBe(2);
  });

  it('leaves no temp download behind without a cache_dir', async () => {
    const result = await runTap(scratch, config, { args: ['--log-level', 'debug'] });
    expect(result.exitCode).toBe(0);
    const spooled = /spooling the download to (\S+)/.exec(result.logs)?.[1];
    expect(spooled).toBeDefined();
    await expect(readdir(spooled!)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
