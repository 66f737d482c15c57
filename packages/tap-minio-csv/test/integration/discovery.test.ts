import type { CatalogEntry } from '@singer-ts/singer';

import { createTestBucket, runTap } from '../support/s3';

async function discover(config: Record<string, unknown>): Promise<{ streams: CatalogEntry[]; logs: string; exitCode: number }> {
  const result = await runTap({ config, discover: true });
  const catalog = (result.output[0] ?? { streams: [] }) as { streams: CatalogEntry[] };
  return { streams: catalog.streams, logs: result.logs, exitCode: result.exitCode };
}

describe('tap-minio-csv discovery against a real S3 server', () => {
  it('infers integer, number, boolean, date-time and string, nullable but for keys, a leading zero staying a string', async () => {
    const bucket = await createTestBucket('types');
    await bucket.put(
      'data/customers.csv',
      [
        'id,zip,price,active,created_at,city,note,shipped_at',
        '1,01151,10.5,true,2017-10-02 10:56:33,Franca,,2017-10-03',
        '2,09790,3,False,2018-01-01T00:00:00Z,"São Paulo","",',
        '3,12345,-0.25,TRUE,2018-02-03 04:05:06,Recife,x,2017-10-05',
      ].join('\n'),
    );
    const { streams, exitCode } = await discover(
      bucket.config({
        tables: [
          { table_name: 'customers', search_pattern: 'customers', key_properties: 'id', date_overrides: 'shipped_at' },
        ],
      }),
    );
    expect(exitCode).toBe(0);
    expect(streams).toHaveLength(1);
    const entry = streams[0]!;
    expect(entry.tap_stream_id).toBe('customers');
    expect(entry.schema.properties).toEqual({
      id: { type: 'integer' },
      zip: { type: ['null', 'string'] },
      price: { type: ['null', 'number'] },
      active: { type: ['null', 'boolean'] },
      created_at: { type: ['null', 'string'], format: 'date-time' },
      city: { type: ['null', 'string'] },
      note: { type: ['null', 'string'] },
      shipped_at: { type: ['null', 'string'], format: 'date-time' },
      _sdc_source_bucket: { type: 'string' },
      _sdc_source_file: { type: 'string' },
      _sdc_source_lineno: { type: 'integer' },
    });
    expect(entry.key_properties).toEqual(['id']);
    const root = entry.metadata.find((m) => m.breadcrumb.length === 0)?.metadata;
    expect(root).toMatchObject({ 'table-key-properties': ['id'], 'selected-by-default': true });
    const inclusion = (name: string): unknown =>
      entry.metadata.find((m) => m.breadcrumb[1] === name)?.metadata.inclusion;
    expect(inclusion('id')).toBe('automatic');
    expect(inclusion('zip')).toBe('available');
    expect(inclusion('_sdc_source_file')).toBe('available');
  });

  it('samples only sample_size rows but reads every object header for the union of columns', async () => {
    const bucket = await createTestBucket('sample');
    await bucket.put('t/1.csv', 'id,code\n1,7\n2,8\n3,x\n');
    await bucket.put('t/2.csv', 'id,extra\n4,5\n');
    const { streams } = await discover(
      bucket.config({ sample_size: 2, tables: [{ table_name: 't', search_prefix: 't/', search_pattern: '.' }] }),
    );
    const properties = streams[0]?.schema.properties ?? {};
    // `x` on line 4 is beyond the sample, so code is integer; `extra` comes from the second object's header.
    expect(properties.code).toEqual({ type: ['null', 'integer'] });
    expect(properties.extra).toEqual({ type: ['null', 'string'] });
    expect(Object.keys(properties).slice(0, 3)).toEqual(['id', 'code', 'extra']);
  });

  it('makes a column nullable that the sample never saw empty, and keeps key columns non-nullable', async () => {
    const bucket = await createTestBucket('nullable');
    await bucket.put('t/1.csv', 'id,state,code\n1,SP,7\n2,RJ,8\n');
    await bucket.put('t/2.csv', 'id,code\n3,9\n');
    const { streams } = await discover(
      bucket.config({ tables: [{ table_name: 't', search_prefix: 't/', search_pattern: '.', key_properties: 'id,code' }] }),
    );
    const properties = streams[0]?.schema.properties ?? {};
    expect(properties.id).toEqual({ type: 'integer' });
    expect(properties.code).toEqual({ type: 'integer' });
    expect(properties.state).toEqual({ type: ['null', 'string'] });
  });

  it('leaves out a table with no matching object, with a warning naming it', async () => {
    const bucket = await createTestBucket('missing');
    await bucket.put('a/present.csv', 'id\n1\n');
    const { streams, logs, exitCode } = await discover(
      bucket.config({
        tables: [
          { table_name: 'present', search_prefix: 'a/', search_pattern: 'present' },
          { table_name: 'absent', search_prefix: 'b/', search_pattern: 'nothing' },
        ],
      }),
    );
    expect(exitCode).toBe(0);
    expect(streams.map((s) => s.stream)).toEqual(['present']);
    expect(logs).toMatch(/WARNING .*table "absent": no object under s3:\/\/[^ ]+\/b\/ matching \/nothing\/; left out of the catalog/);
  });

  it('samples only objects a sync would read under start_date', async () => {
    const bucket = await createTestBucket('since');
    const old = await bucket.put('t/old.csv', 'id,value\n1,not-a-number\n');
    const startDate = new Date(old.lastModified.getTime() + 1000);
    await bucket.waitPast(startDate);
    await bucket.put('t/new.csv', 'id,value\n2,3.5\n');
    const { streams } = await discover(
      bucket.config({ start_date: startDate.toISOString(), tables: [{ table_name: 't', search_pattern: 'csv' }] }),
    );
    expect(streams[0]?.schema.properties?.value).toEqual({ type: ['null', 'number'] });
  });

  it('refuses key_properties that name a column no object has', async () => {
    const bucket = await createTestBucket('badkey');
    await bucket.put('t.csv', 'id\n1\n');
    const { exitCode, logs } = await discover(
      bucket.config({ tables: [{ table_name: 't', search_pattern: 'csv', key_properties: 'order_id' }] }),
    );
    expect(exitCode).toBe(1);
    expect(logs).toMatch(/stream "t".*key_properties name column\(s\) no object of the table has: "order_id"/);
  });
});
