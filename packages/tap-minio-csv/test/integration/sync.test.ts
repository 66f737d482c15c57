import { gzipSync } from 'node:zlib';

import type { CatalogEntry } from '@singer-ts/singer';

import { createTestBucket, HookedStore, lastState, runTap } from '../support/s3';

const table = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  table_name: 'things',
  search_prefix: 'things/',
  search_pattern: '\\.csv(\\.gz)?$',
  key_properties: 'id',
  ...extra,
});

function recordsOf(result: Awaited<ReturnType<typeof runTap>>, stream = 'things'): Record<string, unknown>[] {
  return result.records.filter((m) => m.stream === stream).map((m) => m.record);
}

describe('tap-minio-csv sync against a real S3 server', () => {
  it('reads a table of more than 1000 objects across listing pages', async () => {
    const bucket = await createTestBucket('pages');
    const count = 1001;
    const keys = Array.from({ length: count }, (_, i) => `things/part-${String(i).padStart(4, '0')}.csv`);
    for (let i = 0; i < keys.length; i += 25) {
      await Promise.all(keys.slice(i, i + 25).map((key, j) => bucket.put(key, `id,n\n${i + j},${i + j}\n`)));
    }
    const result = await runTap({ config: bucket.config({ tables: [table()] }) });
    expect(result.exitCode).toBe(0);
    const records = recordsOf(result);
    expect(records).toHaveLength(count);
    expect(new Set(records.map((r) => r._sdc_source_file)).size).toBe(count);
    // One STATE per object, then the final one.
    expect(result.states.length).toBeGreaterThanOrEqual(count);
  });

  it('skips objects modified before start_date', async () => {
    const bucket = await createTestBucket('start');
    const old = await bucket.put('things/old.csv', 'id\n1\n');
    const startDate = new Date(old.lastModified.getTime() + 1000);
    await bucket.waitPast(startDate);
    await bucket.put('things/new.csv', 'id\n2\n');
    const result = await runTap({ config: bucket.config({ tables: [table()], start_date: startDate.toISOString() }) });
    expect(result.exitCode).toBe(0);
    expect(recordsOf(result).map((r) => r.id)).toEqual([2]);
  });

  it('reads an object sharing the bookmark second exactly once, whether or not its key was read', async () => {
    const bucket = await createTestBucket('second');
    let a = await bucket.put('things/a.csv', 'id\n1\n');
    let b = await bucket.put('things/b.csv', 'id\n2\n');
    // Both in one second, as S3 stamps them (retry in the rare case a second boundary fell between).
    for (let attempt = 0; a.lastModified.getTime() !== b.lastModified.getTime() && attempt < 5; attempt += 1) {
      a = await bucket.put('things/a.csv', 'id\n1\n');
      b = await bucket.put('things/b.csv', 'id\n2\n');
    }
    expect(a.lastModified).toEqual(b.lastModified);
    const second = a.lastModified.toISOString().replace('.000Z', 'Z');
    // As a run that stopped after a.csv left it.
    const state = { bookmarks: { things: { modified_since: second, keys_at_modified_since: ['things/a.csv'] } } };
    const resumed = await runTap({ config: bucket.config({ tables: [table()] }), state });
    expect(resumed.exitCode).toBe(0);
    expect(recordsOf(resumed).map((r) => r._sdc_source_file)).toEqual(['things/b.csv']);
    expect(lastState(resumed)).toEqual({
      bookmarks: { things: { modified_since: second, keys_at_modified_since: ['things/a.csv', 'things/b.csv'] } },
    });

    const again = await runTap({ config: bucket.config({ tables: [table()] }), state: lastState(resumed) });
    expect(again.exitCode).toBe(0);
    expect(recordsOf(again)).toEqual([]);
  });

  it('reads an object written while a sync runs in the next sync, and nothing twice', async () => {
    const bucket = await createTestBucket('during');
    await bucket.put('things/a.csv', 'id\n1\n');
    await bucket.put('things/b.csv', 'id\n2\n');
    const config = bucket.config({ tables: [table()] });
    // With a catalog, so that the hook fires in the sync (discovery reads objects too).
    const catalog = (await runTap({ config, discover: true })).output[0] as object;
    let written = false;
    const first = await runTap({
      config,
      catalog,
      store: (_config, s3) =>
        new HookedStore(s3, async () => {
          if (written) return;
          written = true;
          await bucket.put('things/0-late.csv', 'id\n3\n');
        }),
    });
    expect(first.exitCode).toBe(0);
    expect(written).toBe(true);
    expect(recordsOf(first).map((r) => r.id)).toEqual([1, 2]);

    const second = await runTap({ config, catalog, state: lastState(first) });
    expect(second.exitCode).toBe(0);
    expect(recordsOf(second).map((r) => r.id)).toEqual([3]);

    const third = await runTap({ config, catalog, state: lastState(second) });
    expect(recordsOf(third)).toEqual([]);
  });

  it('fails with S3_OBJECT_CHANGED, emitting nothing of it, when an object is replaced after listing', async () => {
    const bucket = await createTestBucket('etag');
    await bucket.put('things/a.csv', 'id\n1\n2\n');
    const result = await runTap({
      config: bucket.config({ tables: [table()] }),
      catalog: {
        streams: [
          {
            tap_stream_id: 'things',
            stream: 'things',
            schema: { type: 'object', properties: { id: { type: 'integer' } } },
            metadata: [{ breadcrumb: [], metadata: { selected: true } }],
          },
        ],
      },
      store: (_config, s3) =>
        new HookedStore(s3, async (ref) => {
          await bucket.put(ref.key, 'id\n7\n8\n9\n');
        }),
    });
    expect(result.exitCode).toBe(1);
    expect(recordsOf(result)).toEqual([]);
    expect(result.logs).toMatch(/s3:\/\/tmc-etag[^"]*\/things\/a\.csv.*changed since it was listed.*\[S3_OBJECT_CHANGED\]/);
  });

  it('reads gzipped objects, by suffix or by magic bytes', async () => {
    const bucket = await createTestBucket('gzip');
    await bucket.put('things/a.csv.gz', gzipSync('id,name\n1,one\n'));
    await bucket.put('things/b.csv', gzipSync('id,name\n2,two\n'));
    const result = await runTap({ config: bucket.config({ tables: [table()] }) });
    expect(result.exitCode).toBe(0);
    expect(recordsOf(result).map((r) => [r.id, r.name])).toEqual([
      [1, 'one'],
      [2, 'two'],
    ]);
  });

  it('skips empty objects but records them as read', async () => {
    const bucket = await createTestBucket('empty');
    await bucket.put('things/a.csv', 'id\n1\n');
    await bucket.put('things/empty.csv', '');
    const result = await runTap({ config: bucket.config({ tables: [table()] }) });
    expect(result.exitCode).toBe(0);
    expect(recordsOf(result).map((r) => r.id)).toEqual([1]);
    const bookmark = (lastState(result) as { bookmarks: Record<string, { keys_at_modified_since: string[] }> })
      .bookmarks.things;
    expect(bookmark?.keys_at_modified_since).toContain('things/empty.csv');
  });

  it('emits the union of columns, null where an object lacks one', async () => {
    const bucket = await createTestBucket('union');
    await bucket.put('things/1.csv', 'id,name\n1,one\n');
    await bucket.put('things/2.csv', 'id,city,name\n2,Recife,two\n');
    const result = await runTap({ config: bucket.config({ tables: [table()] }) });
    expect(result.exitCode).toBe(0);
    expect(result.schemas[0]?.schema.properties?.city).toEqual({ type: ['null', 'string'] });
    const byId = new Map(recordsOf(result).map((r) => [r.id, r]));
    expect(byId.get(1)).toMatchObject({ id: 1, name: 'one', city: null, _sdc_source_lineno: 2 });
    expect(byId.get(2)).toMatchObject({ id: 2, name: 'two', city: 'Recife', _sdc_source_file: 'things/2.csv' });
  });

  it('emits only the streams and columns the catalog selects, with --catalog or -p', async () => {
    const bucket = await createTestBucket('select');
    await bucket.put('things/1.csv', 'id,name,secret\n1,one,s\n');
    await bucket.put('others/1.csv', 'id\n9\n');
    const config = bucket.config({
      tables: [table(), { table_name: 'others', search_prefix: 'others/', search_pattern: 'csv' }],
    });
    const discovered = await runTap({ config, discover: true });
    expect(discovered.exitCode).toBe(0);
    const catalog = discovered.output[0] as { streams: CatalogEntry[] };
    expect(catalog.streams.map((s) => s.stream)).toEqual(['things', 'others']);
    for (const stream of catalog.streams) {
      const root = stream.metadata.find((m) => m.breadcrumb.length === 0);
      root!.metadata.selected = stream.stream === 'things';
      for (const m of stream.metadata) {
        if (m.breadcrumb[1] === 'secret' || m.breadcrumb[1] === '_sdc_source_bucket') m.metadata.selected = false;
        // A key is emitted even when deselected: it is automatic.
        if (m.breadcrumb[1] === 'id') m.metadata.selected = false;
      }
    }
    for (const legacyFlag of [false, true]) {
      const result = await runTap({ config, catalog, legacyFlag });
      expect(result.exitCode).toBe(0);
      expect(result.schemas.map((s) => s.stream)).toEqual(['things']);
      expect(result.records.map((m) => m.record)).toEqual([
        { id: 1, name: 'one', _sdc_source_file: 'things/1.csv', _sdc_source_lineno: 2 },
      ]);
    }
  });

  it('names object, line, column and value when a value does not fit the catalog', async () => {
    const bucket = await createTestBucket('badvalue');
    await bucket.put('things/1.csv', 'id,amount\n1,2.5\n2,lots\n');
    const result = await runTap({
      config: bucket.config({ tables: [table()] }),
      catalog: {
        streams: [
          {
            tap_stream_id: 'things',
            stream: 'things',
            schema: { type: 'object', properties: { id: { type: 'integer' }, amount: { type: ['null', 'number'] } } },
            metadata: [{ breadcrumb: [], metadata: { selected: true } }],
          },
        ],
      },
    });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(
      /stream "things", file "s3:\/\/[^"]+\/things\/1\.csv", line 3, column "amount": .*\(value "lots"\).*\[VALUE_NOT_NUMBER\]/,
    );
  });
});

describe('tap-minio-csv on types inferred from a sample', () => {
  it('loads an empty value beyond the sample in a column the sample never saw empty', async () => {
    const bucket = await createTestBucket('latenull');
    // As the 2,132-row contacts file whose first empty MailingStateProvince is on line 1540.
    const rows = Array.from({ length: 2132 }, (_, i) => `${i + 1},${i + 2 === 1540 ? '' : 'SP'}`);
    await bucket.put('things/contacts.csv', `id,MailingStateProvince\n${rows.join('\n')}\n`);
    const result = await runTap({ config: bucket.config({ tables: [table()] }) });
    expect(result.exitCode).toBe(0);
    expect(result.schemas[0]?.schema.properties?.MailingStateProvince).toEqual({ type: ['null', 'string'] });
    const records = recordsOf(result);
    expect(records).toHaveLength(2132);
    expect(records[1538]).toMatchObject({ id: 1539, MailingStateProvince: null, _sdc_source_lineno: 1540 });
  });

  it('names object, line and column of a value beyond the sample that does not fit, pointing at sample_size', async () => {
    const bucket = await createTestBucket('latetype');
    await bucket.put('things/1.csv', 'id,amount\n1,2\n2,3\n3,4.5\n');
    const result = await runTap({ config: bucket.config({ sample_size: 2, tables: [table()] }) });
    expect(result.exitCode).toBe(1);
    expect(recordsOf(result).map((r) => r.amount)).toEqual([2, 3]);
    expect(result.logs).toMatch(
      /file "s3:\/\/[^"]+\/things\/1\.csv", line 4, column "amount": .*\(value "4\.5"\)\. .*first 2 rows \(sample_size\), so raise sample_size and discover again \[VALUE_NOT_INTEGER\]/,
    );
  });

  it('refuses an empty key beyond the sample, naming object, line and column', async () => {
    const bucket = await createTestBucket('latekey');
    await bucket.put('things/1.csv', 'id,name\n1,a\n,b\n');
    const result = await runTap({ config: bucket.config({ sample_size: 1, tables: [table()] }) });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/file "s3:\/\/[^"]+\/things\/1\.csv", line 3, column "id": .*\[VALUE_NOT_NULLABLE\]/);
  });
});

describe('tap-minio-csv failures against a real S3 server', () => {
  it('reports refused credentials without ever printing the secret', async () => {
    const bucket = await createTestBucket('auth');
    await bucket.put('things/1.csv', 'id\n1\n');
    const secret = 'not-the-right-secret-4711';
    const result = await runTap({
      config: bucket.config({ aws_access_key_id: 'NOBODY', aws_secret_access_key: secret, tables: [table()] }),
    });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/\[SOURCE_AUTH\]/);
    expect(result.logs).not.toContain(secret);
  });

  it('skips an object deleted between listing and reading, with a warning, and moves on', async () => {
    const bucket = await createTestBucket('deleted');
    await bucket.put('things/a.csv', 'id\n1\n');
    await bucket.put('things/b.csv', 'id\n2\n');
    const config = bucket.config({ tables: [table()] });
    const catalog = (await runTap({ config, discover: true })).output[0] as object;
    const result = await runTap({
      config,
      catalog,
      store: (_config, s3) =>
        new HookedStore(s3, async (ref) => {
          if (ref.key === 'things/a.csv') await bucket.remove(ref.key);
        }),
    });
    expect(result.exitCode).toBe(0);
    expect(recordsOf(result).map((r) => r.id)).toEqual([2]);
    expect(result.logs).toMatch(/WARNING .*things\/a\.csv was deleted after it was listed: skipped/);
  });
});
