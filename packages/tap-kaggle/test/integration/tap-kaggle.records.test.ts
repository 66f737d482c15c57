import { isLosslessNumber, type RecordMessage } from '@singer-ts/singer';

import { type KaggleStandIn, startKaggleStandIn } from '../../../../scripts/devkit/src/kaggle-stand-in';
import { fixtureZip, KEY, lastState, makeZip, runTap, Scratch, USERNAME } from './helpers';

const DATASET = 'olistbr/brazilian-ecommerce';

describe('tap-kaggle discovery and records', () => {
  let standIn: KaggleStandIn;
  let scratch: Scratch;
  let base: Record<string, unknown>;

  beforeAll(async () => {
    standIn = await startKaggleStandIn({
      datasets: { [DATASET]: { versions: { 2: await fixtureZip() } } },
      username: USERNAME,
      key: KEY,
    });
    base = { dataset: DATASET, username: USERNAME, key: KEY, api_base_url: standIn.baseUrl.rpc };
  });

  afterAll(async () => {
    await standIn.stop();
  });

  beforeEach(async () => {
    scratch = await Scratch.create();
  });

  afterEach(async () => {
    await scratch.remove();
  });

  function recordsOf(records: RecordMessage[], stream: string): Record<string, unknown>[] {
    return records.filter((r) => r.stream === stream).map((r) => r.record);
  }

  it('discovers one stream per CSV with types inferred from the rows, nullable but for keys, leading zeros kept as strings', async () => {
    const keys = { olist_customers_dataset: ['customer_id'], olist_order_items_dataset: ['order_id', 'order_item_id'] };
    const result = await runTap(scratch, { ...base, key_properties: keys }, { discover: true });
    expect(result.exitCode).toBe(0);
    const catalog = result.output[0] as { streams: Array<{ stream: string; schema: { properties: Record<string, unknown> }; metadata: unknown[] }> };
    expect(catalog.streams.map((s) => s.stream)).toEqual([
      'olist_customers_dataset',
      'olist_order_items_dataset',
      'olist_orders_dataset',
      'product_category_name_translation',
    ]);
    const byName = Object.fromEntries(catalog.streams.map((s) => [s.stream, s.schema.properties]));
    expect(byName.olist_customers_dataset).toEqual({
      customer_id: { type: 'string' },
      customer_unique_id: { type: ['null', 'string'] },
      customer_zip_code_prefix: { type: ['null', 'string'] },
      customer_city: { type: ['null', 'string'] },
      customer_state: { type: ['null', 'string'] },
    });
    expect(byName.olist_orders_dataset).toMatchObject({
      order_purchase_timestamp: { type: ['null', 'string'], format: 'date-time' },
      order_delivered_customer_date: { type: ['null', 'string'], format: 'date-time' },
    });
    expect(byName.olist_order_items_dataset).toMatchObject({
      order_id: { type: 'string' },
      order_item_id: { type: 'integer' },
      price: { type: ['null', 'number'] },
      freight_value: { type: ['null', 'number'] },
    });
    expect(catalog.streams[0]?.metadata).toContainEqual({
      breadcrumb: [],
      metadata: expect.objectContaining({ 'kaggle-file': 'olist_customers_dataset.csv', 'selected-by-default': true }),
    });
  });

  it('emits every row of every CSV as a RECORD with time_extracted, values converted exactly', async () => {
    const result = await runTap(scratch, { ...base, stream_names: { 'olist_customers_dataset.csv': 'customers' } });
    expect(result.logs).not.toMatch(/ERROR/);
    expect(result.exitCode).toBe(0);
    expect(recordsOf(result.records, 'customers')).toEqual([
      {
        customer_id: '06b8999e2fba1a1fbc88172c00ba8bc7',
        customer_unique_id: '861eff4711a542e4b93843c6dd7febb0',
        customer_zip_code_prefix: '14409',
        customer_city: 'franca',
        customer_state: 'SP',
      },
      {
        customer_id: '18955e83d337fd6b2def6b18a428ac77',
        customer_unique_id: '290c77bc529b7ac935b93aa66c333dc3',
        customer_zip_code_prefix: '09790',
        customer_city: 'sao bernardo do campo',
        customer_state: 'SP',
      },
      {
        customer_id: '4e7b3e00288586ebd08712fdd0374a03',
        customer_unique_id: '060e732b5b29e8181a18229c7b0b2b5e',
        customer_zip_code_prefix: '01151',
        customer_city: 'são paulo',
        customer_state: 'SP',
      },
    ]);
    expect(recordsOf(result.records, 'olist_orders_dataset')).toEqual([
      {
        order_id: 'e481f51cbdc54678b7cc49136f2d6af7',
        customer_id: '9ef432eb6251297304e76186b10a928d',
        order_status: 'delivered',
        order_purchase_timestamp: '2017-10-02 10:56:33',
        order_delivered_customer_date: '2017-10-10 21:25:13',
      },
      {
        order_id: '53cdb2fc8bc7dce0b6741e2150273451',
        customer_id: 'b0830fb4747a6c6d20dea0b8c802d7ef',
        order_status: 'shipped',
        order_purchase_timestamp: '2018-07-24 20:41:37',
        order_delivered_customer_date: null,
      },
    ]);
    const items = recordsOf(result.records, 'olist_order_items_dataset');
    expect(items.map((r) => [r.order_item_id, r.price, r.freight_value]).slice(0, 2)).toEqual([
      [1, 58.9, 13.29],
      [1, 239.9, 19.93],
    ]);
    const big = items[2]?.price;
    expect(isLosslessNumber(big) && big.toString()).toBe('12345678901234567.25');
    for (const record of result.records) expect(record.time_extracted).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(result.schemas.map((s) => s.stream)).toEqual([
      'customers',
      'olist_order_items_dataset',
      'olist_orders_dataset',
      'product_category_name_translation',
    ]);
  });

  it('writes a bookmark per stream naming dataset, version and file', async () => {
    const result = await runTap(scratch, { ...base, files: ['olist_orders_dataset.csv'], stream_names: { 'olist_orders_dataset.csv': 'orders' } });
    expect(result.exitCode).toBe(0);
    expect(lastState(result)).toEqual({
      bookmarks: { orders: expect.objectContaining({ dataset: DATASET, version: 2, file: 'olist_orders_dataset.csv', done: true }) },
    });
  });

  it('emits only the files that files selects, under the names stream_names gives', async () => {
    const result = await runTap(scratch, {
      ...base,
      files: ['olist_order*_dataset.csv'],
      stream_names: { 'olist_orders_dataset.csv': 'orders', 'olist_order_items_dataset.csv': 'order_items' },
    });
    expect(result.exitCode).toBe(0);
    expect(result.schemas.map((s) => s.stream)).toEqual(['order_items', 'orders']);
    expect(new Set(result.records.map((r) => r.stream))).toEqual(new Set(['order_items', 'orders']));
  });

  it('emits only the streams and columns a catalog selects', async () => {
    const discovered = await runTap(scratch, base, { discover: true });
    const catalog = discovered.output[0] as { streams: Array<{ stream: string; metadata: Array<{ breadcrumb: string[]; metadata: Record<string, unknown> }> }> };
    for (const entry of catalog.streams) {
      const root = entry.metadata.find((m) => m.breadcrumb.length === 0);
      if (root) root.metadata.selected = entry.stream === 'olist_customers_dataset';
      const city = entry.metadata.find((m) => m.breadcrumb[1] === 'customer_city');
      if (city) city.metadata.selected = false;
    }
    const result = await runTap(scratch, base, { catalog });
    expect(result.exitCode).toBe(0);
    expect(result.schemas.map((s) => s.stream)).toEqual(['olist_customers_dataset']);
    expect(Object.keys(result.records[0]?.record ?? {})).toEqual([
      'customer_id',
      'customer_unique_id',
      'customer_zip_code_prefix',
      'customer_state',
    ]);
    expect(result.records).toHaveLength(3);
  });

  it('fails naming file, line, column and value when a value does not fit the catalog', async () => {
    const discovered = await runTap(scratch, { ...base, files: ['olist_customers_dataset.csv'] }, { discover: true });
    const catalog = discovered.output[0] as { streams: Array<{ schema: { properties: Record<string, unknown> } }> };
    catalog.streams[0]!.schema.properties.customer_state = { type: 'integer' };
    const result = await runTap(scratch, { ...base, files: ['olist_customers_dataset.csv'] }, { catalog });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(
      /stream "olist_customers_dataset", file ".*!olist_customers_dataset\.csv", line 2, column "customer_state": is not an integer \(value "SP"\)/,
    );
  });

  it('reads a catalog without the file metadata by matching stream names to files', async () => {
    const catalog = {
      streams: [
        {
          tap_stream_id: 'orders',
          stream: 'orders',
          schema: { type: 'object', properties: { order_id: { type: 'string' }, order_status: { type: 'string' } } },
          metadata: [{ breadcrumb: [], metadata: { selected: true } }],
        },
      ],
    };
    const result = await runTap(scratch, { ...base, stream_names: { 'olist_orders_dataset.csv': 'orders' } }, { catalog });
    expect(result.exitCode).toBe(0);
    expect(result.records.map((r) => r.record)).toEqual([
      { order_id: 'e481f51cbdc54678b7cc49136f2d6af7', order_status: 'delivered' },
      { order_id: '53cdb2fc8bc7dce0b6741e2150273451', order_status: 'shipped' },
    ]);
  });

  it('fails naming the file when a row has more fields than the header', async () => {
    standIn.setDataset('owner/ragged', { versions: { 1: await makeZip({ 'r.csv': 'a,b\n1,2\n3,4,5\n' }) } });
    const discovered = await runTap(scratch, { ...base, dataset: 'owner/ragged' }, { discover: true });
    expect(discovered.exitCode).toBe(1);
    expect(discovered.logs).toMatch(/stream "r", file ".*!r\.csv", line 3: .*\[CSV_RAGGED_ROW\]/);

    const catalog = {
      streams: [
        {
          tap_stream_id: 'r',
          stream: 'r',
          schema: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'integer' } } },
          metadata: [{ breadcrumb: [], metadata: { selected: true } }],
        },
      ],
    };
    const result = await runTap(scratch, { ...base, dataset: 'owner/ragged' }, { catalog });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/stream "r", file ".*!r\.csv", line 3: .*\[CSV_RAGGED_ROW\]/);
  });

  it('emits the records before a value that does not fit, with their bookmark, then fails naming its line and column', async () => {
    standIn.setDataset('owner/bad-value', { versions: { 1: await makeZip({ 'v.csv': 'a,b\n1,2.50\n3,4\nx,6\n7,8\n' }) } });
    const catalog = {
      streams: [
        {
          tap_stream_id: 'v',
          stream: 'v',
          schema: { type: 'object', properties: { a: { type: 'integer' }, b: { type: 'number' } } },
          metadata: [{ breadcrumb: [], metadata: { selected: true } }],
        },
      ],
    };
    const result = await runTap(scratch, { ...base, dataset: 'owner/bad-value', state_interval_rows: 1 }, { catalog });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/stream "v", file ".*!v\.csv", line 4, column "a": is not an integer \(value "x"\)/);
    expect(result.records.map((r) => r.record)).toEqual([
      { a: 1, b: 2.5 },
      { a: 3, b: 4 },
    ]);
    // Each STATE follows exactly the records up to its line: a re-run resumes after line 3.
    expect(result.messages.map((m) => (m.type === 'STATE' ? `STATE ${JSON.stringify((m.value as { bookmarks: Record<string, { line?: number }> }).bookmarks.v?.line)}` : m.type))).toEqual([
      'SCHEMA',
      'RECORD',
      'STATE 2',
      'RECORD',
      'STATE 3',
    ]);
  });

  it('never shows the key in its output, even at debug level', async () => {
    const result = await runTap(scratch, { ...base, files: ['product_category_name_translation.csv'] }, { args: ['--log-level', 'debug'] });
    expect(result.exitCode).toBe(0);
    expect(result.logs).toContain('HTTP Basic as kaggle-user');
    expect(result.logs).not.toContain(KEY);
    expect(result.logs).not.toContain(Buffer.from(`${USERNAME}:${KEY}`).toString('base64'));
    expect(JSON.stringify(result.output)).not.toContain(KEY);
  });
});
