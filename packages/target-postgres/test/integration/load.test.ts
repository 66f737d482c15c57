import type { Client } from 'pg';

import { columnTypes, connect, databaseUrl, errorLines, fixture, runBin, runTarget, select, uniqueSchema } from './helpers';

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

describe('target-postgres loading fixtures into a real PostgreSQL', () => {
  it('stores tabs, backslashes, newlines, \\N, quotes, emoji, empty strings, nulls and "NULL" exactly', async () => {
    const schema = uniqueSchema('text');
    const input = await fixture('text-escaping.singer');
    const result = await runTarget(input, { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    const expected = input
      .split('\n')
      .filter((line) => line.includes('"RECORD"'))
      .map((line) => (JSON.parse(line) as { record: { id: number; value: string | null } }).record);
    const rows = await select(client, `SELECT id, value FROM "${schema}".texts ORDER BY id`);
    expect(rows).toEqual(expected.map((r) => ({ id: String(r.id), value: r.value })));
    const nulls = await select(client, `SELECT count(*) AS n FROM "${schema}".texts WHERE value IS NULL`);
    expect(nulls).toEqual([{ n: '1' }]);
  });

  it('refuses a NUL character naming stream, record and column, and commits nothing of that transaction', async () => {
    const schema = uniqueSchema('nul');
    const result = await runTarget(await fixture('nul-character.singer'), { default_target_schema: schema });
    expect(result.exitCode).not.toBe(0);
    const errors = errorLines(result.logs);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/stream "nul_texts".*record 2.*column "value".*NUL.*\[VALUE_HAS_NUL\]/);
    expect(result.stateValues).toEqual([]);
    const exists = await select(client, `SELECT to_regclass($1) AS t`, [`"${schema}".nul_texts`]);
    expect(exists).toEqual([{ t: null }]);
  });

  it('removes NUL characters from text and JSON when sanitize_null_text_characters is set, and says so', async () => {
    const schema = uniqueSchema('nulok');
    const result = await runTarget(await fixture('nul-character.singer'), {
      default_target_schema: schema,
      sanitize_null_text_characters: true,
    });
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT id, value, doc::text AS doc FROM "${schema}".nul_texts ORDER BY id`)).toEqual([
      { id: '1', value: 'fine', doc: null },
      { id: '2', value: 'hasnul', doc: '{"k": "alsohere"}' },
    ]);
    expect(result.logs).toMatch(/removed 1 NUL character\(s\) from column "value"/);
  });

  it('keeps bigint and numeric values exact to the last digit', async () => {
    const schema = uniqueSchema('num');
    const result = await runTarget(await fixture('exact-numbers.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT id, big, amount FROM "${schema}".numbers ORDER BY id`)).toEqual([
      { id: '1', big: '9007199254740993', amount: '0.1' },
      { id: '2', big: '9223372036854775807', amount: '123456789012345678901234567890.12345678901234567890' },
      { id: '3', big: '-9223372036854775808', amount: '1.1' },
      { id: '4', big: null, amount: '0.0000001' },
      { id: '5', big: '0', amount: '-0.000000000000000000000000000001' },
    ]);
    expect(await columnTypes(client, schema, 'numbers')).toEqual({ id: 'bigint', big: 'bigint', amount: 'numeric' });
  });

  it('widens an integer column to numeric when a value exceeds bigint, keeping every earlier value', async () => {
    const schema = uniqueSchema('huge');
    const result = await runTarget(await fixture('integer-beyond-bigint.singer'), {
      default_target_schema: schema,
      batch_size_rows: 2,
    });
    expect(result.exitCode).toBe(0);
    expect((await columnTypes(client, schema, 'huge_ints')).n).toBe('numeric');
    expect(await select(client, `SELECT id, n FROM "${schema}".huge_ints ORDER BY id`)).toEqual([
      { id: '1', n: '42' },
      { id: '2', n: '-7' },
      { id: '3', n: '123456789012345678901234567890' },
      { id: '4', n: '5' },
    ]);
  });

  it('reads date-times without an offset as UTC whatever the server and machine zones, and moves offset times to UTC', async () => {
    const schema = uniqueSchema('tz');
    const role = `${schema}_kiritimati`;
    // A login whose default zone is UTC+14 and a process in UTC-3: the target must use neither.
    await client.query(`CREATE ROLE "${role}" LOGIN PASSWORD 'pw'`);
    await client.query(`ALTER ROLE "${role}" SET timezone TO 'Pacific/Kiritimati'`);
    await client.query(`CREATE SCHEMA "${schema}" AUTHORIZATION "${role}"`);
    const url = new URL(databaseUrl());
    url.username = role;
    url.password = 'pw';
    try {
      const result = await runBin(
        await fixture('timestamps.singer'),
        { default_target_schema: schema, connection_string: url.toString() },
        { ...process.env, TZ: 'America/Sao_Paulo' },
      );
      expect(result.stderr).not.toMatch(/ERROR/);
      expect(result.exitCode).toBe(0);
      expect(
        await select(
          client,
          `SELECT id, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS ts, d::text AS d, t::text AS t FROM "${schema}".times ORDER BY id`,
        ),
      ).toEqual([
        { id: '1', ts: '2017-10-02 10:56:33.000000', d: '2017-10-02', t: '13:45:30' },
        { id: '2', ts: '2017-10-02 10:56:33.000000', d: '2020-02-29', t: '13:45:30.123456' },
        { id: '3', ts: '2017-10-02 08:56:33.500000', d: null, t: '11:45:30' },
        { id: '4', ts: '2017-10-02 13:56:33.000000', d: '0001-01-01', t: '01:30:00' },
        { id: '5', ts: null, d: '9999-12-31', t: null },
      ]);
      expect(await columnTypes(client, schema, 'times')).toEqual({
        id: 'bigint',
        ts: 'timestamp with time zone',
        d: 'date',
        t: 'time without time zone',
      });
    } finally {
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.query(`DROP ROLE IF EXISTS "${role}"`);
    }
  });

  it('upserts on the key: the last record per key wins within a batch and across batches', async () => {
    const schema = uniqueSchema('upsert');
    const input = await fixture('upsert.singer');
    const result = await runTarget(input, { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toEqual([{ step: 1 }, { step: 2 }]);
    const expected = [
      { id: '1', name: 'Ana Maria Souza', age: '32' },
      { id: '2', name: 'Bia', age: '41' },
      { id: '3', name: 'Caio', age: null },
      { id: '4', name: 'Davi', age: '20' },
    ];
    expect(await select(client, `SELECT id, name, age FROM "${schema}".people ORDER BY id`)).toEqual(expected);
    const primaryKey = await select(
      client,
      `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p'`,
      [`"${schema}".people`],
    );
    expect(primaryKey).toEqual([{ def: 'PRIMARY KEY (id)' }]);

    // The same data again, with tiny batches: still no duplicates, nothing changed.
    const again = await runTarget(input, { default_target_schema: schema, batch_size_rows: 1 });
    expect(again.exitCode).toBe(0);
    expect(await select(client, `SELECT id, name, age FROM "${schema}".people ORDER BY id`)).toEqual(expected);
  });

  it('upserts on a composite key', async () => {
    const schema = uniqueSchema('composite');
    const result = await runTarget(await fixture('composite-key.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(
      await select(client, `SELECT order_id, order_item_id, price FROM "${schema}".order_items ORDER BY 1, 2`),
    ).toEqual([
      { order_id: 'a', order_item_id: '1', price: '13.25' },
      { order_id: 'a', order_item_id: '2', price: '11' },
      { order_id: 'b', order_item_id: '1', price: '12' },
    ]);
  });

  it('appends every record as sent with append-only, duplicates included, and creates no key', async () => {
    const schema = uniqueSchema('append');
    const input = await fixture('append-only.singer');
    const first = await runTarget(input, { default_target_schema: schema, load_method: 'append-only' });
    expect(first.exitCode).toBe(0);
    const second = await runTarget(input, { default_target_schema: schema, load_method: 'append-only' });
    expect(second.exitCode).toBe(0);
    expect(await select(client, `SELECT id, kind, count(*) AS n FROM "${schema}".events GROUP BY 1, 2 ORDER BY 1`)).toEqual([
      { id: '1', kind: 'open', n: '4' },
      { id: '2', kind: 'close', n: '2' },
    ]);
    const constraints = await select(client, `SELECT conname FROM pg_constraint WHERE conrelid = $1::regclass`, [
      `"${schema}".events`,
    ]);
    expect(constraints).toEqual([]);
  });

  it('appends a stream without key properties by default', async () => {
    const schema = uniqueSchema('nokeys');
    const result = await runTarget(await fixture('no-keys.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT msg FROM "${schema}".logs ORDER BY msg`)).toEqual([
      { msg: 'a' },
      { msg: 'a' },
      { msg: 'b' },
    ]);
  });

  it('replaces the table contents with overwrite', async () => {
    const schema = uniqueSchema('overwrite');
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE "${schema}".snapshot (id bigint PRIMARY KEY, v text)`);
    await client.query(`INSERT INTO "${schema}".snapshot VALUES (1, 'old'), (10, 'old ten')`);
    const result = await runTarget(await fixture('overwrite.singer'), { default_target_schema: schema, load_method: 'overwrite' });
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT id, v FROM "${schema}".snapshot ORDER BY id`)).toEqual([
      { id: '10', v: 'new' },
      { id: '11', v: 'newer' },
    ]);
  });

  it('evolves the table in place: adds columns, widens types without data loss, keeps vanished columns nullable', async () => {
    const schema = uniqueSchema('evolve');
    const result = await runTarget(await fixture('schema-evolution.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(await columnTypes(client, schema, 'evolving')).toEqual({
      id: 'bigint',
      n: 'text',
      ts: 'text',
      gone: 'text',
      added: 'boolean',
    });
    expect(await select(client, `SELECT id, n, ts, gone, added::text AS added FROM "${schema}".evolving ORDER BY id`)).toEqual([
      { id: '1', n: '1', ts: '2017-10-02 10:56:33+00', gone: 'x', added: null },
      { id: '2', n: '2.5', ts: '2018-01-01 00:00:00+00', gone: null, added: 'true' },
      { id: '3', n: 'three', ts: 'sometime', gone: null, added: null },
    ]);
  });

  it('widens integer to numeric in place between runs', async () => {
    const schema = uniqueSchema('widen');
    const first = [
      '{"type":"SCHEMA","stream":"w","schema":{"properties":{"id":{"type":"integer"},"x":{"type":"integer"}}},"key_properties":["id"]}',
      '{"type":"RECORD","stream":"w","record":{"id":1,"x":12345678901234}}',
    ];
    expect((await runTarget(first, { default_target_schema: schema })).exitCode).toBe(0);
    const second = [
      '{"type":"SCHEMA","stream":"w","schema":{"properties":{"id":{"type":"integer"},"x":{"type":"number"}}},"key_properties":["id"]}',
      '{"type":"RECORD","stream":"w","record":{"id":2,"x":0.5}}',
    ];
    expect((await runTarget(second, { default_target_schema: schema })).exitCode).toBe(0);
    expect((await columnTypes(client, schema, 'w')).x).toBe('numeric');
    expect(await select(client, `SELECT id, x FROM "${schema}".w ORDER BY id`)).toEqual([
      { id: '1', x: '12345678901234' },
      { id: '2', x: '0.5' },
    ]);
  });

  it('soft-deletes rows of older versions at ACTIVATE_VERSION and revives rows sent again', async () => {
    const schema = uniqueSchema('version');
    const result = await runTarget(await fixture('activate-version.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    const rows = await select(
      client,
      `SELECT id, v, _sdc_table_version AS version, _sdc_deleted_at IS NOT NULL AS deleted FROM "${schema}".versioned ORDER BY id`,
    );
    expect(rows).toEqual([
      { id: '1', v: 'one again', version: '2', deleted: 'f' },
      { id: '2', v: 'two', version: '1', deleted: 't' },
      { id: '3', v: 'three again', version: '2', deleted: 'f' },
    ]);
  });

  it('deletes rows of older versions at ACTIVATE_VERSION with hard_delete', async () => {
    const schema = uniqueSchema('versionhard');
    const result = await runTarget(await fixture('activate-version.singer'), { default_target_schema: schema, hard_delete: true });
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT id, v FROM "${schema}".versioned ORDER BY id`)).toEqual([
      { id: '1', v: 'one again' },
      { id: '3', v: 'three again' },
    ]);
  });

  it('deletes rows whose last record carries _sdc_deleted_at with hard_delete', async () => {
    const schema = uniqueSchema('harddel');
    const result = await runTarget(await fixture('hard-delete.singer'), { default_target_schema: schema, hard_delete: true });
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT id, name, _sdc_deleted_at FROM "${schema}".customers ORDER BY id`)).toEqual([
      { id: '1', name: 'a', _sdc_deleted_at: null },
      { id: '3', name: 'c revived', _sdc_deleted_at: null },
    ]);
  });

  it('keeps deleted rows marked in _sdc_deleted_at without hard_delete', async () => {
    const schema = uniqueSchema('softdel');
    const result = await runTarget(await fixture('hard-delete.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT id, _sdc_deleted_at IS NOT NULL AS deleted FROM "${schema}".customers ORDER BY id`)).toEqual([
      { id: '1', deleted: 'f' },
      { id: '2', deleted: 't' },
      { id: '3', deleted: 'f' },
    ]);
  });

  it('adds the _sdc_* metadata columns with add_record_metadata', async () => {
    const schema = uniqueSchema('meta');
    const before = Date.now();
    const result = await runTarget(await fixture('record-metadata.singer'), { default_target_schema: schema, add_record_metadata: true });
    expect(result.exitCode).toBe(0);
    expect(await columnTypes(client, schema, 'meta')).toEqual({
      id: 'bigint',
      _sdc_extracted_at: 'timestamp with time zone',
      _sdc_received_at: 'timestamp with time zone',
      _sdc_batched_at: 'timestamp with time zone',
      _sdc_deleted_at: 'timestamp with time zone',
      _sdc_sequence: 'bigint',
      _sdc_table_version: 'bigint',
    });
    const rows = await select(
      client,
      `SELECT id, _sdc_extracted_at AS extracted, extract(epoch FROM _sdc_received_at) * 1000 >= $1::float8 - 1000 AS recent,
              _sdc_batched_at IS NOT NULL AS batched, _sdc_deleted_at AS deleted, _sdc_sequence AS seq, _sdc_table_version AS version
         FROM "${schema}".meta ORDER BY id`,
      [before],
    );
    expect(rows).toMatchObject([
      { id: '1', extracted: '2017-01-01 00:00:00+00', recent: 't', batched: 't', deleted: null, version: '7' },
      { id: '2', extracted: null, recent: 't', batched: 't', deleted: null, version: null },
    ]);
    expect(BigInt(rows[1]?.seq as string)).toBeGreaterThan(BigInt(rows[0]?.seq as string));
  });

  it('names tables and columns verbatim, quoted, shortened past 63 bytes, so no name can inject SQL', async () => {
    const schema = uniqueSchema('idents');
    const result = await runTarget(await fixture('identifiers.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    const tables = await select(client, `SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE nspname = $1 AND relkind = 'r' ORDER BY relname COLLATE "C"`, [schema]);
    const names = tables.map((t) => t.relname as string);
    expect(names).toContain('x"; DROP TABLE evil; --');
    expect(names).toContain('Orders');
    expect(names).toContain('orders');
    const long = names.find((n) => n.startsWith('stream_ê'));
    expect(long).toMatch(/_[0-9a-f]{8}$/);
    expect(Buffer.byteLength(long as string)).toBeLessThanOrEqual(63);
    const columns = Object.keys(await columnTypes(client, schema, 'x"; DROP TABLE evil; --'));
    expect(columns.slice(0, 3)).toEqual(['Id', 'Mixed Case', 'quote"col']);
    expect(columns).toHaveLength(5);
    expect(new Set(columns).size).toBe(5);
    const row = await select(client, `SELECT * FROM "${schema}"."x""; DROP TABLE evil; --"`);
    expect(Object.values(row[0] ?? {}).sort()).toEqual(['1', 'a', 'one', 'q', 'two']);
  });

  it('drops properties missing from the SCHEMA with one warning per property', async () => {
    const schema = uniqueSchema('unknown');
    const result = await runTarget(await fixture('unknown-property.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    const warnings = result.logs.split('\n').filter((line) => line.startsWith('WARNING'));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/"extra"/);
    expect(warnings[1]).toMatch(/"other"/);
    expect(Object.keys(await columnTypes(client, schema, 'partial'))).toEqual(['id']);
  });

  it('with validate_records false, loads values as given and names stream, record and column of a value PostgreSQL refuses', async () => {
    const schema = uniqueSchema('novalidate');
    const result = await runTarget(await fixture('rejected-value.singer'), { default_target_schema: schema, validate_records: false });
    expect(result.exitCode).not.toBe(0);
    expect(result.stateValues).toEqual([{ step: 1 }]);
    const errors = errorLines(result.logs);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/stream "loose".*line 6.*record 4.*column "qty".*invalid input syntax for type bigint: "seven"/);
    expect(await select(client, `SELECT id, qty FROM "${schema}".loose ORDER BY id`)).toEqual([
      { id: '1', qty: '5' },
      { id: '2', qty: '7' },
    ]);
  });

  it('with validation on, refuses the same value before it reaches PostgreSQL', async () => {
    const schema = uniqueSchema('validate');
    const result = await runTarget(await fixture('rejected-value.singer'), { default_target_schema: schema });
    expect(result.exitCode).not.toBe(0);
    expect(errorLines(result.logs)[0]).toMatch(/stream "loose".*record 2.*column "qty"/);
  });

  it('maps unions to the narrowest column type holding every member', async () => {
    const schema = uniqueSchema('unions');
    const result = await runTarget(await fixture('union-types.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(await columnTypes(client, schema, 'unions')).toEqual({
      id: 'bigint',
      int_or_num: 'numeric',
      int_or_str: 'text',
      any_of_ts: 'timestamp with time zone',
      obj_or_str: 'jsonb',
      arr: 'jsonb',
      flag: 'boolean',
      anything: 'jsonb',
    });
    expect(
      await select(client, `SELECT id, int_or_num, int_or_str, obj_or_str::text AS o, arr::text AS arr, flag::text AS flag, anything::text AS anything FROM "${schema}".unions ORDER BY id`),
    ).toEqual([
      { id: '1', int_or_num: '1', int_or_str: '5', o: '{"a": [1, 2]}', arr: '[1, 2, 3]', flag: 'true', anything: '{"x": null}' },
      { id: '2', int_or_num: '2.25', int_or_str: 'five', o: '"plain"', arr: '[]', flag: 'false', anything: '"s"' },
    ]);
  });

  it('commits all streams together at STATE and rolls back every stream after the last state on failure', async () => {
    const schema = uniqueSchema('tx');
    const result = await runTarget(await fixture('transaction-across-streams.singer'), { default_target_schema: schema });
    expect(result.exitCode).not.toBe(0);
    expect(result.stateValues).toEqual([{ step: 1 }]);
    expect(await select(client, `SELECT id FROM "${schema}".left_side ORDER BY id`)).toEqual([{ id: '1' }]);
    expect(await select(client, `SELECT id, v FROM "${schema}".right_side ORDER BY id`)).toEqual([{ id: '1', v: 'a' }]);
  });

  it('creates the default_target_schema when it is missing', async () => {
    const schema = uniqueSchema('Created Schema');
    const result = await runTarget(await fixture('no-keys.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(await select(client, 'SELECT nspname FROM pg_namespace WHERE nspname = $1', [schema])).toEqual([{ nspname: schema }]);
  });

  it('works with the original pipeline config unchanged apart from the host', async () => {
    const url = new URL(process.env.TEST_DATABASE_URL as string);
    const schema = uniqueSchema('original');
    await client.query(`CREATE SCHEMA "${schema}"`);
    const original = JSON.parse(await fixture('original-target-postgres.json')) as Record<string, unknown>;
    // Only the host (and here the port of the test server) differ from the original deployment.
    const config = { ...original, postgres_host: url.hostname, postgres_port: Number(url.port), connection_string: undefined };
    // The test server's password may differ from the original's "postgres": pass it the libpq way.
    const env = { ...process.env, PGPASSWORD: decodeURIComponent(url.password) };
    const result = await runTarget(
      await fixture('upsert.singer'),
      { ...config, postgres_password: decodeURIComponent(url.password), postgres_schema: schema },
      { env },
    );
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT count(*) AS n FROM "${schema}".people`)).toEqual([{ n: '4' }]);
  });

  it('never prints the password, even when the connection fails', async () => {
    const result = await runTarget(await fixture('no-keys.singer'), {
      connection_string: 'postgres://someone:Sup3rSecretPw@127.0.0.1:1/nodb',
    });
    expect(result.exitCode).not.toBe(0);
    expect(result.logs).not.toContain('Sup3rSecretPw');
    expect(errorLines(result.logs)[0]).toMatch(/cannot connect to PostgreSQL at 127\.0\.0\.1:1\/nodb.*\[PG_CONNECT_FAILED\]/);
  });
});
