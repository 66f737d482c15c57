import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { type KaggleStandIn, startKaggleStandIn } from '../../../../scripts/devkit/src/kaggle-stand-in';
import { fixtureFiles, fixtureZip, KEY, makeZip, runTap, Scratch, USERNAME } from './helpers';

describe('tap-kaggle archives', () => {
  let scratch: Scratch;

  beforeEach(async () => {
    scratch = await Scratch.create();
  });

  afterEach(async () => {
    await scratch.remove();
  });

  const counts = (records: Array<{ stream: string }>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const r of records) out[r.stream] = (out[r.stream] ?? 0) + 1;
    return out;
  };

  it('reads an already-downloaded zip from archive_path without calling the API', async () => {
    const path = await scratch.write('dataset.zip', await fixtureZip());
    const result = await runTap(scratch, { dataset: 'olistbr/brazilian-ecommerce', archive_path: path, api_base_url: 'http://127.0.0.1:9/v1' });
    expect(result.exitCode).toBe(0);
    expect(counts(result.records)).toEqual({
      olist_customers_dataset: 3,
      olist_order_items_dataset: 3,
      olist_orders_dataset: 2,
      product_category_name_translation: 2,
    });
    expect(result.logs).toContain('no "dataset_version"');
  });

  it('reads a folder of CSVs from archive_path, gzipped and zipped ones included', async () => {
    const files = await fixtureFiles();
    const folder = join(scratch.dir, 'folder');
    await mkdir(join(folder, 'nested'), { recursive: true });
    await writeFile(join(folder, 'olist_customers_dataset.csv'), files['olist_customers_dataset.csv']!);
    await writeFile(join(folder, 'olist_orders_dataset.csv.gz'), gzipSync(files['olist_orders_dataset.csv']!));
    await writeFile(join(folder, 'nested', 'olist_order_items_dataset.csv.zip'), await makeZip({ 'olist_order_items_dataset.csv': files['olist_order_items_dataset.csv']! }));
    await writeFile(join(folder, 'notes.txt'), 'not a csv');
    const result = await runTap(scratch, { dataset: 'olistbr/brazilian-ecommerce', archive_path: folder });
    expect(result.exitCode).toBe(0);
    expect(counts(result.records)).toEqual({ olist_customers_dataset: 3, olist_order_items_dataset: 3, olist_orders_dataset: 2 });
    const orders = result.records.filter((r) => r.stream === 'olist_orders_dataset').map((r) => r.record.order_id);
    expect(orders).toEqual(['e481f51cbdc54678b7cc49136f2d6af7', '53cdb2fc8bc7dce0b6741e2150273451']);
  });

  it('skips a pinned archive_path version already emitted, as it does for downloads', async () => {
    const path = await scratch.write('dataset.zip', await fixtureZip());
    const config = { dataset: 'olistbr/brazilian-ecommerce', archive_path: path, dataset_version: 2, files: ['olist_orders_dataset.csv'] };
    const first = await runTap(scratch, config);
    const state = first.states[first.states.length - 1]?.value;
    const second = await runTap(scratch, config, { state });
    expect(first.records).toHaveLength(2);
    expect(second.records).toHaveLength(0);
  });

  it('fails clearly when archive_path does not exist', async () => {
    const result = await runTap(scratch, { dataset: 'a/b', archive_path: join(scratch.dir, 'nope.zip') });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/file ".*nope\.zip": the dataset archive does not exist or cannot be read/);
  });

  describe('downloads', () => {
    let standIn: KaggleStandIn;

    beforeEach(async () => {
      standIn = await startKaggleStandIn({ datasets: {}, username: USERNAME, key: KEY });
    });

    afterEach(async () => {
      await standIn.stop();
    });

    const config = (dataset: string): Record<string, unknown> => ({ dataset, username: USERNAME, key: KEY, api_base_url: standIn.baseUrl.rpc });

    it('handles a single-file dataset that arrives as a bare CSV', async () => {
      standIn.setDataset('owner/single', {
        versions: { 1: await fixtureFiles().then((f) => f['olist_orders_dataset.csv']!) },
        fileName: 'orders.csv',
        contentType: 'text/csv',
      });
      const result = await runTap(scratch, config('owner/single'));
      expect(result.exitCode).toBe(0);
      expect(result.schemas.map((s) => s.stream)).toEqual(['orders']);
      expect(result.records).toHaveLength(2);
    });

    it('handles a large file zipped inside the dataset zip', async () => {
      const files = await fixtureFiles();
      const inner = await makeZip({ 'olist_customers_dataset.csv': files['olist_customers_dataset.csv']! });
      standIn.setDataset('owner/nested', { versions: { 1: await makeZip({ 'olist_customers_dataset.csv.zip': inner }) } });
      const result = await runTap(scratch, config('owner/nested'));
      expect(result.exitCode).toBe(0);
      expect(result.schemas.map((s) => s.stream)).toEqual(['olist_customers_dataset']);
      expect(result.records.map((r) => r.record.customer_zip_code_prefix)).toEqual(['14409', '09790', '01151']);
    });

    it('reads stored (uncompressed) zip entries and files in archive folders', async () => {
      const files = await fixtureFiles();
      standIn.setDataset('owner/stored', {
        versions: { 1: await makeZip({ 'data/olist_orders_dataset.csv': files['olist_orders_dataset.csv']!, 'data/README.md': '# hi' }, false) },
      });
      const result = await runTap(scratch, { ...config('owner/stored'), files: ['olist_orders_dataset.csv'] });
      expect(result.exitCode).toBe(0);
      expect(result.schemas.map((s) => s.stream)).toEqual(['olist_orders_dataset']);
      expect(result.records).toHaveLength(2);
    });

    it('names the missing file and lists what the dataset has when files names a file it lacks', async () => {
      standIn.setDataset('owner/data', { versions: { 1: await fixtureZip() } });
      const result = await runTap(scratch, { ...config('owner/data'), files: ['olist_order_dataset.csv'] });
      expect(result.exitCode).toBe(1);
      expect(result.logs).toMatch(/"files" names "olist_order_dataset\.csv", which the dataset does not have\. The dataset has: olist_customers_dataset\.csv/);
    });
  });
});
