import type { Client } from 'pg';

import { columnTypes, connect, errorLines, runBin, runTarget, select, uniqueSchema } from './helpers';

/**
 * Message shapes and orders that ordinary taps send (multi-table incremental re-runs,
 * tap-mysql's ACTIVATE_VERSION first, streams without records, changed keys, Python's split
 * surrogate pairs), each of which once failed or changed data.
 */

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

type Message = Record<string, unknown>;
const schemaMessage = (stream: string, properties: Record<string, unknown>, keys: string[] = ['id']): Message => ({
  type: 'SCHEMA',
  stream,
  schema: { type: 'object', properties },
  key_properties: keys,
});
const recordMessage = (stream: string, record: Record<string, unknown>, extra: Message = {}): Message => ({
  type: 'RECORD',
  stream,
  record,
  ...extra,
});
const stateMessage = (value: unknown): Message => ({ type: 'STATE', value });
const lines = (messages: Message[]): string => `${messages.map((m) => JSON.stringify(m)).join('\n')}\n`;

const ID_NAME = { id: { type: 'integer' }, name: { type: ['null', 'string'] } };

describe('target-postgres under real Singer traffic', () => {
  it('re-runs two keyed streams over one connection without aborting the transaction', async () => {
    const schema = uniqueSchema('rerun');
    const input = lines([
      schemaMessage('orders', ID_NAME),
      schemaMessage('customers', ID_NAME),
      ...[1, 2, 3].flatMap((id) => [recordMessage('orders', { id, name: `o${id}` }), recordMessage('customers', { id, name: `c${id}` })]),
      stateMessage({ bookmarks: { orders: 3, customers: 3 } }),
    ]);
    for (let run = 0; run < 2; run++) {
      const result = await runBin(input, { default_target_schema: schema, batch_size_rows: 2 });
      expect(result.stderr).not.toMatch(/ERROR|already executing a query/);
      expect(result.exitCode).toBe(0);
    }
    expect(await select(client, `SELECT id, name FROM "${schema}".orders ORDER BY id`)).toEqual([
      { id: '1', name: 'o1' },
      { id: '2', name: 'o2' },
      { id: '3', name: 'o3' },
    ]);
    expect(await select(client, `SELECT count(*) AS n FROM "${schema}".customers`)).toEqual([{ n: '3' }]);
  });

  it('loads six interleaved streams, keyed and keyless, where a later interval re-sends keys committed earlier', async () => {
    const schema = uniqueSchema('six');
    const streams = ['a', 'b', 'c', 'd', 'e', 'f'];
    const keyed = (stream: string) => stream < 'd';
    const messages: Message[] = streams.map((s) => schemaMessage(s, ID_NAME, keyed(s) ? ['id'] : []));
    for (let n = 0; n < 30; n++) {
      for (const s of streams) messages.push(recordMessage(s, { id: n % 7, name: `${s}${n}` }));
      if (n % 5 === 4) messages.push(stateMessage({ n }));
    }
    const result = await runTarget(lines(messages), { default_target_schema: schema, batch_size_rows: 4 });
    expect(errorLines(result.logs)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toEqual([4, 9, 14, 19, 24, 29].map((n) => ({ n })));
    for (const s of streams) {
      const rows = await select(client, `SELECT id, name FROM "${schema}"."${s}" ORDER BY id, name`);
      if (keyed(s)) {
        // The last record per key wins: n = 23..29 cover the seven keys.
        expect(rows).toEqual([28, 29, 23, 24, 25, 26, 27].map((n, id) => ({ id: String(id), name: `${s}${n}` })));
      } else {
        expect(rows).toHaveLength(30);
      }
    }
  });

  it('reports the first failure with its stream and runs nothing after it', async () => {
    const schema = uniqueSchema('root');
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE "${schema}".checked (id bigint PRIMARY KEY, name text CHECK (name <> 'bad'))`);
    const messages: Message[] = [schemaMessage('checked', ID_NAME), schemaMessage('other', ID_NAME)];
    for (let n = 0; n < 12; n++) {
      messages.push(recordMessage('checked', { id: n, name: n === 5 ? 'bad' : `ok${n}` }));
      messages.push(recordMessage('other', { id: n, name: `x${n}` }));
    }
    const result = await runTarget(lines(messages), { default_target_schema: schema, batch_size_rows: 3 });
    expect(result.exitCode).toBe(1);
    const errors = errorLines(result.logs);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/stream "checked".*violates check constraint/);
    expect(errors[0]).not.toMatch(/current transaction is aborted/);
    expect(await select(client, `SELECT count(*) AS n FROM "${schema}".checked`)).toEqual([{ n: '0' }]);
  });

  it('takes an ACTIVATE_VERSION before the SCHEMA as tap-mysql sends it: a warning, applied when the SCHEMA comes', async () => {
    const schema = uniqueSchema('early');
    const run = (version: number, ids: number[]) =>
      runTarget(
        lines([
          { type: 'ACTIVATE_VERSION', stream: 'items', version },
          schemaMessage('items', ID_NAME),
          ...ids.map((id) => recordMessage('items', { id, name: `v${version}` }, { version })),
          { type: 'ACTIVATE_VERSION', stream: 'items', version },
          stateMessage({ version }),
        ]),
        { default_target_schema: schema },
      );
    const first = await run(1, [1, 2, 3]);
    expect(first.exitCode).toBe(0);
    expect(first.logs).toMatch(/WARNING stream "items", line 1: ACTIVATE_VERSION 1 came before the stream's SCHEMA/);
    const second = await run(2, [2, 3]);
    expect(second.exitCode).toBe(0);
    expect(await select(client, `SELECT id, name, _sdc_deleted_at IS NOT NULL AS deleted FROM "${schema}".items ORDER BY id`)).toEqual([
      { id: '1', name: 'v1', deleted: 't' },
      { id: '2', name: 'v2', deleted: 'f' },
      { id: '3', name: 'v2', deleted: 'f' },
    ]);
  });

  it('ignores an ACTIVATE_VERSION whose SCHEMA never comes', async () => {
    const result = await runTarget(lines([{ type: 'ACTIVATE_VERSION', stream: 'ghost', version: 1 }, stateMessage({ a: 1 })]), {
      default_target_schema: uniqueSchema('ghost'),
    });
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toEqual([{ a: 1 }]);
  });

  it('creates the table, and every column a SCHEMA adds, at the next commit even without records', async () => {
    const schema = uniqueSchema('empty');
    const first = await runTarget(lines([schemaMessage('quiet', ID_NAME), stateMessage({ a: 1 })]), { default_target_schema: schema });
    expect(first.exitCode).toBe(0);
    expect(first.stateValues).toEqual([{ a: 1 }]);
    expect(await columnTypes(client, schema, 'quiet')).toEqual({ id: 'bigint', name: 'text' });
    const second = await runTarget(
      lines([
        schemaMessage('quiet', ID_NAME),
        recordMessage('quiet', { id: 1, name: 'x' }),
        schemaMessage('quiet', { ...ID_NAME, added: { type: ['null', 'number'] } }),
      ]),
      { default_target_schema: schema },
    );
    expect(second.exitCode).toBe(0);
    expect(await columnTypes(client, schema, 'quiet')).toEqual({ id: 'bigint', name: 'text', added: 'numeric' });
  });

  it('moves the primary key when key_properties change and the rows allow it', async () => {
    const schema = uniqueSchema('rekey');
    const properties = { ...ID_NAME, tenant: { type: 'string' } };
    const first = await runTarget(
      lines([schemaMessage('accounts', properties, ['id']), recordMessage('accounts', { id: 1, tenant: 'a', name: 'x' })]),
      { default_target_schema: schema },
    );
    expect(first.exitCode).toBe(0);
    const second = await runTarget(
      lines([
        schemaMessage('accounts', properties, ['id', 'tenant']),
        recordMessage('accounts', { id: 1, tenant: 'b', name: 'y' }),
        recordMessage('accounts', { id: 1, tenant: 'a', name: 'z' }),
      ]),
      { default_target_schema: schema },
    );
    expect(errorLines(second.logs)).toEqual([]);
    expect(second.exitCode).toBe(0);
    expect(await select(client, `SELECT id, tenant, name FROM "${schema}".accounts ORDER BY tenant`)).toEqual([
      { id: '1', tenant: 'a', name: 'z' },
      { id: '1', tenant: 'b', name: 'y' },
    ]);
    const key = await select(
      client,
      `SELECT array_agg(a.attname ORDER BY a.attname)::text AS columns FROM pg_index i
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
        WHERE i.indrelid = $1::regclass AND i.indisprimary`,
      [`"${schema}".accounts`],
    );
    expect(key).toEqual([{ columns: '{id,tenant}' }]);
  });

  it('stops with one line naming stream, old and new keys when the rows do not allow the new key', async () => {
    const schema = uniqueSchema('rekeybad');
    const properties = { ...ID_NAME, tenant: { type: ['null', 'string'] } };
    await runTarget(lines([schemaMessage('accounts', properties, ['id']), recordMessage('accounts', { id: 1, name: 'x' })]), {
      default_target_schema: schema,
    });
    const result = await runTarget(
      lines([schemaMessage('accounts', properties, ['id', 'tenant']), recordMessage('accounts', { id: 2, tenant: 'b' })]),
      { default_target_schema: schema },
    );
    expect(result.exitCode).toBe(1);
    const errors = errorLines(result.logs);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/stream "accounts".*key_properties changed from \(id\) to \(id, tenant\).*PG_KEY_CHANGE_REFUSED/);
    expect(await select(client, `SELECT id FROM "${schema}".accounts`)).toEqual([{ id: '1' }]);
  });

  it('names stream, record and column of a null key property', async () => {
    const result = await runTarget(
      lines([schemaMessage('keys', { id: { type: ['null', 'integer'] } }), recordMessage('keys', { id: 1 }), recordMessage('keys', { id: null })]),
      { default_target_schema: uniqueSchema('nullkey'), validate_records: false },
    );
    expect(result.exitCode).toBe(1);
    expect(errorLines(result.logs)[0]).toMatch(/stream "keys".*record 2.*column "id".*\[KEY_MISSING\]/);
  });

  it('replaces lone surrogates by U+FFFD in text and jsonb alike, with one warning per stream and column', async () => {
    const schema = uniqueSchema('surrogate');
    // Python's json.dumps writes half a pair as a bare escape.
    const input = [
      JSON.stringify(schemaMessage('notes', { id: { type: 'integer' }, body: { type: 'string' }, doc: { type: 'object' } })),
      '{"type":"RECORD","stream":"notes","record":{"id":1,"body":"cut \\ud83d here","doc":{"k":"x\\ude00"}}}',
      '{"type":"RECORD","stream":"notes","record":{"id":2,"body":"\\ud83d\\ude00 whole","doc":{"\\ud83d":"key"}}}',
      '{"type":"RECORD","stream":"notes","record":{"id":3,"body":"again \\udc00","doc":{"k":"fine"}}}',
    ].join('\n');
    const result = await runTarget(input, { default_target_schema: schema });
    expect(errorLines(result.logs)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT id, body, doc::text AS doc FROM "${schema}".notes ORDER BY id`)).toEqual([
      { id: '1', body: 'cut \ufffd here', doc: '{"k": "x\ufffd"}' },
      { id: '2', body: '\u{1f600} whole', doc: '{"\ufffd": "key"}' },
      { id: '3', body: 'again \ufffd', doc: '{"k": "fine"}' },
    ]);
    const warnings = result.logs.split('\n').filter((line) => line.includes('UTF-16'));
    expect(warnings).toEqual([
      expect.stringMatching(/^WARNING stream "notes": column "body": replaced 2 lone UTF-16 surrogate\(s\).*first in record 1/),
      expect.stringMatching(/^WARNING stream "notes": column "doc": replaced 2 lone UTF-16 surrogate\(s\).*first in record 1/),
    ]);
  });
});
