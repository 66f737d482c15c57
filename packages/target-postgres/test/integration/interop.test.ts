import type { Client } from 'pg';
// singer-node is AGPL-3.0-only: a devDependency of this package, used by this test alone.
import { format_message, RecordMessage, SchemaMessage, StateMessage } from 'singer-node';

import { connect, fixture, runTarget, select, uniqueSchema } from './helpers';

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

describe('interop with other Singer writers', () => {
  it('loads a stream written the way singer-python writes it', async () => {
    const schema = uniqueSchema('singerpy');
    const result = await runTarget(await fixture('singer-python-style.singer'), {
      default_target_schema: schema,
      add_record_metadata: true,
    });
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toEqual([
      { bookmarks: { py_orders: { placed_at: '2017-10-02T10:56:33.000000Z' } }, currently_syncing: null },
    ]);
    expect(
      await select(
        client,
        `SELECT id, amount, placed_at, city, _sdc_extracted_at AS extracted, _sdc_table_version AS version, _sdc_deleted_at AS deleted
           FROM "${schema}".py_orders ORDER BY id`,
      ),
    ).toEqual([
      {
        id: '1',
        amount: '19.99',
        placed_at: '2017-10-02 10:56:33+00',
        city: 'São Paulo',
        extracted: '2017-10-03 00:00:00+00',
        version: '1700000000000',
        deleted: null,
      },
      {
        id: '2',
        amount: '12345678901234567890.12',
        placed_at: '2017-10-02 10:56:33+00',
        city: null,
        extracted: '2017-10-03 00:00:00+00',
        version: '1700000000000',
        deleted: null,
      },
    ]);
  });

  it("loads a stream serialised with singer-node's message classes", async () => {
    const schema = uniqueSchema('singernode');
    const extractedAt = Date.UTC(2021, 4, 6, 7, 8, 9);
    const messages = [
      new SchemaMessage(
        'node_items',
        {
          type: 'object',
          properties: {
            id: { type: 'integer' },
            label: { type: ['null', 'string'] },
            price: { type: 'number' },
            tags: { type: 'array', items: { type: 'string' } },
          },
        },
        // singer-node takes key properties as an immutable List; only its toArray() is used.
        { toArray: () => ['id'] } as never,
      ),
      new RecordMessage('node_items', { id: 1, label: 'tab\there "quoted"', price: 10.5, tags: ['a', 'b'] }, undefined, extractedAt),
      new RecordMessage('node_items', { id: 2, label: null, price: 0.3, tags: [] }, undefined, extractedAt),
      new StateMessage({ bookmarks: { node_items: { id: 2 } } } as never),
    ];
    const lines = messages.map((message) => format_message(message));
    // What singer-node adds beyond the spec (cleanFirst, time_extracted as epoch ms) must not trip the target.
    expect(lines[0]).toContain('"cleanFirst":false');
    expect(lines[1]).toContain(`"time_extracted":${extractedAt}`);
    const result = await runTarget(lines, { default_target_schema: schema, add_record_metadata: true });
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toEqual([{ bookmarks: { node_items: { id: 2 } } }]);
    expect(
      await select(
        client,
        `SELECT id, label, price, tags::text AS tags, _sdc_extracted_at AS extracted FROM "${schema}".node_items ORDER BY id`,
      ),
    ).toEqual([
      { id: '1', label: 'tab\there "quoted"', price: '10.5', tags: '["a", "b"]', extracted: '2021-05-06 07:08:09+00' },
      { id: '2', label: null, price: '0.3', tags: '[]', extracted: '2021-05-06 07:08:09+00' },
    ]);
  });
});
