import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { parse } from 'csv-parse/sync';
import { type Entry, open as openZip, type ZipFile } from 'yauzl';

import { main } from '../src/generate-sample';
import {
  generateSample,
  generateSampleZip,
  OLIST_FILES,
  OLIST_HEADERS,
  OLIST_ROW_COUNTS,
  PIPELINE_FILES,
  sampleCounts,
  type SampleResult,
  writeKaggleZip,
} from '../src/sample-dataset';

const SCALE = 0.01;
let root: string;
let sample: SampleResult;

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** Rows of a sample file as objects keyed by header name (the header itself excluded). */
async function readRows(dir: string, name: string): Promise<Record<string, string>[]> {
  return parse(await readFile(join(dir, name)), { columns: true, bom: true }) as Record<string, string>[];
}

async function rawLines(dir: string, name: string): Promise<string[]> {
  return (await readFile(join(dir, name), 'utf8')).split('\n');
}

function zipEntries(path: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    openZip(path, { lazyEntries: true }, (err: Error | null, zip?: ZipFile) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const names: string[] = [];
      zip.on('entry', (entry: { fileName: string }) => {
        names.push(entry.fileName);
        zip.readEntry();
      });
      zip.on('end', () => resolve(names));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** Each entry's name and compression method (0 stored, 8 deflated), in the zip's order. */
function zipMethods(path: string): Promise<{ name: string; method: number }[]> {
  return new Promise((resolve, reject) => {
    openZip(path, { lazyEntries: true }, (err: Error | null, zip?: ZipFile) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const methods: { name: string; method: number }[] = [];
      zip.on('entry', (entry: Entry) => {
        methods.push({ name: entry.fileName, method: entry.compressionMethod });
        zip.readEntry();
      });
      zip.on('end', () => resolve(methods));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** Each entry's bytes, by name. */
function zipContents(path: string): Promise<Record<string, Buffer>> {
  return new Promise((resolve, reject) => {
    openZip(path, { lazyEntries: true, validateEntrySizes: true }, (err: Error | null, zip?: ZipFile) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const contents: Record<string, Buffer> = {};
      zip.on('entry', (entry: Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            contents[entry.fileName] = Buffer.concat(chunks);
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(contents));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sample-dataset-'));
  sample = await generateSample({ scale: SCALE, seed: 7, outDir: join(root, 'a') });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the Olist sample dataset', () => {
  it('writes the same bytes for the same seed and scale, and other bytes for another seed', async () => {
    const again = await generateSample({ scale: SCALE, seed: 7, outDir: join(root, 'b') });
    const other = await generateSample({ scale: SCALE, seed: 8, outDir: join(root, 'c') });
    for (const [i, file] of sample.files.entries()) {
      expect(await sha256(again.files[i]!.path)).toBe(await sha256(file.path));
    }
    const orders = (r: SampleResult): string => r.files.find((f) => f.name === OLIST_FILES.orders)!.path;
    expect(await sha256(orders(other))).not.toBe(await sha256(orders(sample)));

    const zipA = await writeKaggleZip(join(root, 'a'), join(root, 'a.zip'));
    const zipB = await writeKaggleZip(again.files, join(root, 'b.zip'));
    expect(await sha256(zipB.path)).toBe(await sha256(zipA.path));
  });

  it('keeps the bytes of a seed from one version of the generator to the next', async () => {
    // sha256 of each file at scale 0.01, seed 7. A change that alters them changes every
    // sample made from then on: make it on purpose, and update these with it.
    const pinned: Record<string, string> = {
      [OLIST_FILES.customers]: '12026f503e0d9392aa0a7066080761ee07058e85dfd973362840f5e5d14f9e2b',
      [OLIST_FILES.geolocation]: 'e96a2fadbdcd44949dc444416ff215d56c625e7e60fdd55666fdd2166a9b756b',
      [OLIST_FILES.orderItems]: '85012a7fcf0fe150c9aace34e29acc5cf044ef0812eaaf986bd3f438e9b27404',
      [OLIST_FILES.payments]: 'd04696f4c9259f911d8ad376c86ef328b22394c30cd105a1a406636b8a182286',
      [OLIST_FILES.reviews]: 'c7cc44d9c23c14e80aef3a3f0f7910f3f5f7c56070eb03a133c930a005f94d23',
      [OLIST_FILES.orders]: '70943b4f38c128ebe171f5ddffe786984994f050f4d110aeb0e3acefd6723aa6',
      [OLIST_FILES.products]: '61eb59d5c889433606293a9227c072e35d56779e9b28eec3fe7ce6e79f1ae225',
      [OLIST_FILES.sellers]: 'b1855f7d9c66cceff0eaf0231f3559439d6ff146ac2ffb381690fc01f80482c6',
      [OLIST_FILES.categoryTranslation]: '5233473346639d5ff3da9b784385ba284778abfaac1062572abe99e8aba8b7e3',
    };
    const actual: Record<string, string> = {};
    for (const file of sample.files) actual[file.name] = await sha256(file.path);
    expect(actual).toEqual(pinned);
  });

  it('writes the same files into a zip, stored or deflated, the same bytes each time', async () => {
    for (const level of [0, 1]) {
      const zipped = await generateSampleZip({ scale: SCALE, seed: 7, zipPath: join(root, `direct-${level}.zip`), level });
      const again = await generateSampleZip({ scale: SCALE, seed: 7, zipPath: join(root, `direct-${level}-again.zip`), level });
      expect(await sha256(again.zip.path)).toBe(await sha256(zipped.zip.path));
      expect(zipped.zip.entries).toEqual(Object.values(OLIST_FILES).sort());
      expect(zipped.files).toEqual(sample.files.map(({ name, rows, bytes }) => ({ name, rows, bytes })));
      for (const [name, content] of Object.entries(await zipContents(zipped.zip.path))) {
        expect(createHash('sha256').update(content).digest('hex')).toBe(await sha256(join(root, 'a', name)));
      }
    }
    const lean = await generateSampleZip({ scale: SCALE, seed: 7, zipPath: join(root, 'lean-direct.zip'), extras: false });
    expect(lean.zip.entries).toEqual([...PIPELINE_FILES].sort());
  });

  it('stores the entries at level 0 and deflates them otherwise', async () => {
    const methods = async (level: number): Promise<number[]> => {
      const zipped = await generateSampleZip({ scale: 0.001, seed: 7, zipPath: join(root, `methods-${level}.zip`), level, extras: false });
      return (await zipMethods(zipped.zip.path)).map((m) => m.method);
    };
    expect(await methods(0)).toEqual([0, 0, 0, 0]);
    expect(await methods(1)).toEqual([8, 8, 8, 8]);
  });

  it('leaves no zip at the path, and nothing beside it, when generating fails', async () => {
    const dir = await mkdtemp(join(root, 'failed-'));
    await expect(generateSampleZip({ scale: 1e-9, seed: 7, zipPath: join(dir, 'never.zip') })).rejects.toThrow(RangeError);
    expect(await readdir(dir)).toEqual([]);
  });

  it('makes the geolocation file in a worker thread when built, with the same bytes', async () => {
    // The compiled module has its worker beside it (the sources here do not): from scale 0.1
    // up it makes the geolocation file in another thread.
    const built = createRequire(__filename)('../dist/sample-dataset.js') as typeof import('../src/sample-dataset');
    expect(existsSync(join(__dirname, '..', 'dist', 'sample-worker.js'))).toBe(true);
    const here = await generateSample({ scale: 0.1, seed: 3, outDir: join(root, 'geo-here') });
    const threaded = await built.generateSample({ scale: 0.1, seed: 3, outDir: join(root, 'geo-threaded') });
    expect(threaded.files.map(({ name, rows, bytes }) => ({ name, rows, bytes }))).toEqual(here.files.map(({ name, rows, bytes }) => ({ name, rows, bytes })));
    for (const [i, file] of here.files.entries()) expect(await sha256(threaded.files[i]!.path)).toBe(await sha256(file.path));
    const zipped = await built.generateSampleZip({ scale: 0.1, seed: 3, zipPath: join(root, 'geo-threaded.zip'), level: 0 });
    const contents = await zipContents(zipped.zip.path);
    expect(createHash('sha256').update(contents[OLIST_FILES.geolocation]!).digest('hex')).toBe(await sha256(join(root, 'geo-here', OLIST_FILES.geolocation)));
    expect(Object.keys(contents).sort()).toEqual(Object.values(OLIST_FILES).sort());
  });

  it('writes the real row counts times the scale', async () => {
    expect(sampleCounts(1)).toMatchObject({
      customers: 99_441,
      orders: 99_441,
      orderItems: 112_650,
      products: 32_951,
    });
    const expected: Record<string, number> = {
      [OLIST_FILES.customers]: Math.round(OLIST_ROW_COUNTS.customers * SCALE),
      [OLIST_FILES.orders]: Math.round(OLIST_ROW_COUNTS.orders * SCALE),
      [OLIST_FILES.orderItems]: Math.round(OLIST_ROW_COUNTS.orderItems * SCALE),
      [OLIST_FILES.products]: Math.round(OLIST_ROW_COUNTS.products * SCALE),
      [OLIST_FILES.sellers]: Math.round(OLIST_ROW_COUNTS.sellers * SCALE),
      [OLIST_FILES.payments]: Math.round(OLIST_ROW_COUNTS.payments * SCALE),
      [OLIST_FILES.geolocation]: Math.round(OLIST_ROW_COUNTS.geolocation * SCALE),
    };
    expect(expected[OLIST_FILES.orderItems]).toBe(1127);
    for (const [name, rows] of Object.entries(expected)) {
      expect((await readRows(join(root, 'a'), name)).length).toBe(rows);
      expect(sample.files.find((f) => f.name === name)?.rows).toBe(rows);
    }
  });

  it('writes the nine files of the Kaggle dataset with their real headers, misspellings included', async () => {
    expect(sample.files.map((f) => f.name)).toEqual(Object.values(OLIST_FILES).sort());
    expect((await readdir(join(root, 'a'))).sort()).toEqual(Object.values(OLIST_FILES).sort());
    const [productsHeader] = await rawLines(join(root, 'a'), OLIST_FILES.products);
    expect(productsHeader).toBe(
      '"product_id","product_category_name","product_name_lenght","product_description_lenght",' +
        '"product_photos_qty","product_weight_g","product_length_cm","product_height_cm","product_width_cm"',
    );
    const [customersHeader] = await rawLines(join(root, 'a'), OLIST_FILES.customers);
    expect(customersHeader).toBe(
      '"customer_id","customer_unique_id","customer_zip_code_prefix","customer_city","customer_state"',
    );
    const [ordersHeader] = await rawLines(join(root, 'a'), OLIST_FILES.orders);
    expect(ordersHeader).toBe(
      '"order_id","customer_id","order_status","order_purchase_timestamp","order_approved_at",' +
        '"order_delivered_carrier_date","order_delivered_customer_date","order_estimated_delivery_date"',
    );
    const [itemsHeader] = await rawLines(join(root, 'a'), OLIST_FILES.orderItems);
    expect(itemsHeader).toBe(
      '"order_id","order_item_id","product_id","seller_id","shipping_limit_date","price","freight_value"',
    );
    const [translationHeader] = await rawLines(join(root, 'a'), OLIST_FILES.categoryTranslation);
    expect(translationHeader).toBe('product_category_name,product_category_name_english');
    for (const name of Object.values(OLIST_FILES)) {
      const [header] = parse(await readFile(join(root, 'a', name)), { to_line: 1 }) as string[][];
      expect(header).toEqual(OLIST_HEADERS[name]);
    }
  });

  it('ends lines with a bare LF and quotes like the real files: a text value starting with a digit', async () => {
    const text = await readFile(join(root, 'a', OLIST_FILES.orderItems), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').slice(0, -1).every((l) => !l.endsWith('\r'))).toBe(true);
    for (const line of text.split('\n').slice(1, -1)) {
      const [orderId, itemId, productId] = line.split(',');
      for (const id of [orderId!, productId!]) {
        if (/^"/.test(id)) expect(id).toMatch(/^"[0-9][0-9a-f]{31}"$/);
        else expect(id).toMatch(/^[a-f][0-9a-f]{31}$/);
      }
      expect(itemId).toMatch(/^[1-9][0-9]*$/);
    }
    const customers = await rawLines(join(root, 'a'), OLIST_FILES.customers);
    expect(customers.slice(1, -1).every((l) => /^.*,"\d{5}",[^",]+,[A-Z]{2}$/.test(l))).toBe(true);
  });

  it('has the quirks of the real customers: accented lowercase cities, leading-zero zips, repeat buyers', async () => {
    const customers = await readRows(join(root, 'a'), OLIST_FILES.customers);
    expect(customers.every((c) => /^[0-9a-f]{32}$/.test(c.customer_id!))).toBe(true);
    expect(customers.every((c) => /^\d{5}$/.test(c.customer_zip_code_prefix!))).toBe(true);
    expect(customers.some((c) => c.customer_zip_code_prefix!.startsWith('0'))).toBe(true);
    expect(customers.every((c) => /^[A-Z]{2}$/.test(c.customer_state!))).toBe(true);
    expect(customers.every((c) => c.customer_city === c.customer_city!.toLowerCase())).toBe(true);
    const cities = new Set(customers.map((c) => c.customer_city));
    expect(cities.has('são paulo')).toBe(true);
    expect(cities.has('rio de janeiro')).toBe(true);
    expect([...cities].some((c) => /[áâãçéêíóôõú]/.test(c!) && c !== 'são paulo')).toBe(true);
    const unique = new Set(customers.map((c) => c.customer_unique_id));
    expect(unique.size).toBeLessThan(customers.length);
    expect(new Set(customers.map((c) => c.customer_id)).size).toBe(customers.length);
  });

  it('has empty timestamps where orders never shipped, and the real timestamp formats', async () => {
    const orders = await readRows(join(root, 'a'), OLIST_FILES.orders);
    const stamp = /^201[678]-\d\d-\d\d \d\d:\d\d:\d\d$/;
    for (const o of orders) {
      expect(o.order_purchase_timestamp).toMatch(stamp);
      expect(o.order_estimated_delivery_date).toMatch(/^201[678]-\d\d-\d\d 00:00:00$/);
      for (const column of ['order_approved_at', 'order_delivered_carrier_date', 'order_delivered_customer_date']) {
        if (o[column] !== '') expect(o[column]).toMatch(stamp);
      }
      if (o.order_status !== 'delivered') expect(o.order_delivered_customer_date).toBe('');
      if (o.order_status === 'delivered') expect(o.order_delivered_customer_date).not.toBe('');
      if (o.order_delivered_customer_date !== '') {
        expect(o.order_delivered_customer_date! > o.order_purchase_timestamp!).toBe(true);
      }
    }
    const canceled = orders.filter((o) => o.order_status === 'canceled');
    expect(canceled.some((o) => o.order_delivered_customer_date === '')).toBe(true);
    expect(orders.filter((o) => o.order_status === 'delivered').length / orders.length).toBeGreaterThan(0.9);
    const bigger = await generateSample({ scale: 0.05, seed: 7, outDir: join(root, 'big'), extras: false });
    const many = await readRows(join(root, 'big'), OLIST_FILES.orders);
    expect(bigger.counts.orders).toBe(many.length);
    expect(many.some((o) => o.order_approved_at === '')).toBe(true);
    expect(many.some((o) => o.order_status === 'shipped' && o.order_delivered_carrier_date !== '')).toBe(true);
    expect(new Set(many.map((o) => o.order_status))).toEqual(
      new Set(['delivered', 'shipped', 'canceled', 'unavailable', 'invoiced', 'processing']),
    );
  });

  it('has products without category or measurements, and prices with two decimals', async () => {
    const products = await readRows(join(root, 'a'), OLIST_FILES.products);
    const noCategory = products.filter((p) => p.product_category_name === '');
    expect(noCategory.length).toBeGreaterThan(0);
    for (const p of noCategory) {
      expect([p.product_name_lenght, p.product_description_lenght, p.product_photos_qty]).toEqual(['', '', '']);
    }
    expect(products.some((p) => p.product_weight_g === '' && p.product_width_cm === '')).toBe(true);
    const categories = new Set(products.map((p) => p.product_category_name));
    for (const c of ['cama_mesa_banho', 'beleza_saude', 'esporte_lazer', 'moveis_decoracao']) {
      expect(categories.has(c)).toBe(true);
    }
    for (const p of products) {
      for (const column of OLIST_HEADERS[OLIST_FILES.products]!.slice(2)) {
        expect(p[column]).toMatch(/^(\d+)?$/);
      }
    }
    const items = await readRows(join(root, 'a'), OLIST_FILES.orderItems);
    expect(items.every((i) => /^\d+\.\d\d$/.test(i.price!) && /^\d+\.\d\d$/.test(i.freight_value!))).toBe(true);
    expect(items.some((i) => i.price!.endsWith('.90'))).toBe(true);
    expect(items.every((i) => /^201[678]-\d\d-\d\d \d\d:\d\d:\d\d$/.test(i.shipping_limit_date!))).toBe(true);
  });

  it('keeps referential integrity between orders, items, products, sellers, customers and payments', async () => {
    const dir = join(root, 'a');
    const customers = await readRows(dir, OLIST_FILES.customers);
    const orders = await readRows(dir, OLIST_FILES.orders);
    const items = await readRows(dir, OLIST_FILES.orderItems);
    const products = await readRows(dir, OLIST_FILES.products);
    const sellers = await readRows(dir, OLIST_FILES.sellers);
    const payments = await readRows(dir, OLIST_FILES.payments);
    const reviews = await readRows(dir, OLIST_FILES.reviews);

    const orderIds = new Set(orders.map((o) => o.order_id));
    const productIds = new Set(products.map((p) => p.product_id));
    const sellerIds = new Set(sellers.map((s) => s.seller_id));
    expect(orderIds.size).toBe(orders.length);
    expect(productIds.size).toBe(products.length);

    // Every customer_id places exactly one order, as in the real data.
    expect(orders.map((o) => o.customer_id).sort()).toEqual(customers.map((c) => c.customer_id).sort());

    const itemsPerOrder = new Map<string, number[]>();
    for (const i of items) {
      expect(orderIds.has(i.order_id)).toBe(true);
      expect(productIds.has(i.product_id)).toBe(true);
      expect(sellerIds.has(i.seller_id)).toBe(true);
      itemsPerOrder.set(i.order_id!, [...(itemsPerOrder.get(i.order_id!) ?? []), Number(i.order_item_id)]);
    }
    for (const ids of itemsPerOrder.values()) {
      expect(ids).toEqual(ids.map((_, k) => k + 1));
    }
    expect(new Set(items.map((i) => `${i.order_id}/${i.order_item_id}`)).size).toBe(items.length);
    expect(orders.length - itemsPerOrder.size).toBe(sample.counts.ordersWithoutItems);
    for (const o of orders) {
      if (!itemsPerOrder.has(o.order_id!)) expect(['unavailable', 'canceled', 'created', 'invoiced']).toContain(o.order_status);
    }
    expect(payments.every((p) => orderIds.has(p.order_id))).toBe(true);
    expect(new Set(payments.map((p) => p.order_id)).size).toBe(orders.length);
    expect(reviews.every((r) => orderIds.has(r.order_id))).toBe(true);
    expect(reviews.some((r) => r.review_comment_message!.includes('\r\n'))).toBe(true);
  });

  it('writes the same four pipeline files without the extras', async () => {
    const lean = await generateSample({ scale: SCALE, seed: 7, outDir: join(root, 'lean'), extras: false });
    expect(lean.files.map((f) => f.name)).toEqual([...PIPELINE_FILES].sort());
    for (const file of lean.files) {
      expect(await sha256(file.path)).toBe(await sha256(join(root, 'a', file.name)));
    }
  });

  it('zips the CSV files at the root of the archive, as Kaggle serves the dataset', async () => {
    const zip = await writeKaggleZip(sample.files, join(root, 'brazilian-ecommerce.zip'));
    expect(zip.bytes).toBeGreaterThan(0);
    expect(await zipEntries(zip.path)).toEqual(Object.values(OLIST_FILES).sort());
  });

  it('rejects a scale that gives no rows', () => {
    expect(() => sampleCounts(0)).toThrow(/positive/);
    expect(() => sampleCounts(Number.NaN)).toThrow(/positive/);
    expect(() => sampleCounts(1e-7)).toThrow(/too small/);
  });

  it('is driven from the command line, writing the files and the zip', async () => {
    const out: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const dir = join(root, 'cli');
    const status = await main(['--scale', '0.001', '--seed', '7', '--out', dir, '--zip', join(root, 'cli.zip')]);
    expect(status).toBe(0);
    expect((await readdir(dir)).sort()).toEqual(Object.values(OLIST_FILES).sort());
    expect(out.join('')).toMatch(/olist_customers_dataset\.csv\s+99 rows/);
    expect(await zipEntries(join(root, 'cli.zip'))).toHaveLength(9);
    jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await main(['--scale', '0', '--out', dir])).toBe(2);
    expect(await main(['--scale', '1'])).toBe(2);
  });
});
