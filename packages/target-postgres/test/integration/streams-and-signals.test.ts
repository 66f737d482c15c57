import { spawn } from 'node:child_process';
import { once } from 'node:events';

import type { Client } from 'pg';

import { BIN, connect, databaseUrl, runTarget, select, uniqueSchema, writeConfig } from './helpers';
import { spawnTarget } from './source-stream';

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

describe('several streams on one connection', () => {
  it('loads interleaved streams exactly, taking turns on the COPY many times within one transaction', async () => {
    const schema = uniqueSchema('interleave');
    const lines: string[] = [
      '{"type":"SCHEMA","stream":"parents","schema":{"properties":{"id":{"type":"integer"},"body":{"type":"string"}}},"key_properties":["id"]}',
      '{"type":"SCHEMA","stream":"children","schema":{"properties":{"id":{"type":"integer"},"parent":{"type":"integer"},"body":{"type":"string"}}},"key_properties":[]}',
    ];
    const body = 'x'.repeat(300);
    for (let i = 0; i < 3000; i++) {
      lines.push(JSON.stringify({ type: 'RECORD', stream: 'parents', record: { id: i, body: `${body}${i}` } }));
      lines.push(JSON.stringify({ type: 'RECORD', stream: 'children', record: { id: 2 * i, parent: i, body: `${body}\t${i}` } }));
      lines.push(JSON.stringify({ type: 'RECORD', stream: 'children', record: { id: 2 * i + 1, parent: i, body: `${body}\n${i}` } }));
      if (i % 1000 === 999) lines.push(`{"type":"STATE","value":{"at":${i}}}`);
    }
    const result = await runTarget(lines, { default_target_schema: schema, batch_size_rows: 1_000_000 });
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toEqual([{ at: 999 }, { at: 1999 }, { at: 2999 }]);
    const parents = await select(client, `SELECT count(*) AS n, sum(length(body)) AS chars FROM "${schema}".parents`);
    const children = await select(
      client,
      `SELECT count(*) AS n, count(DISTINCT id) AS ids, sum(length(body)) AS chars,
              count(*) FILTER (WHERE body LIKE '%' || chr(9) || '%') AS tabs, count(*) FILTER (WHERE body LIKE '%' || chr(10) || '%') AS newlines
         FROM "${schema}".children`,
    );
    const digits = (n: number): number => String(n).length;
    let parentChars = 0;
    let childChars = 0;
    for (let i = 0; i < 3000; i++) {
      parentChars += 300 + digits(i);
      childChars += 2 * (301 + digits(i));
    }
    expect(parents).toEqual([{ n: '3000', chars: String(parentChars) }]);
    expect(children).toEqual([{ n: '6000', ids: '6000', chars: String(childChars), tabs: '3000', newlines: '3000' }]);
  });

  it('loads into a table the user made, casting into its own column types', async () => {
    const schema = uniqueSchema('usermade');
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(
      `CREATE TABLE "${schema}".accounts (id integer PRIMARY KEY, name varchar(20), balance numeric(12,2), opened timestamp without time zone, extra text DEFAULT 'kept')`,
    );
    const result = await runTarget(
      [
        '{"type":"SCHEMA","stream":"accounts","schema":{"properties":{"id":{"type":"integer"},"name":{"type":"string"},"balance":{"type":"number"},"opened":{"type":"string","format":"date-time"}}},"key_properties":["id"]}',
        '{"type":"RECORD","stream":"accounts","record":{"id":1,"name":"Ana","balance":10.5,"opened":"2020-01-02T03:04:05Z"}}',
        '{"type":"RECORD","stream":"accounts","record":{"id":1,"name":"Ana B","balance":11.25,"opened":"2020-01-02T03:04:05Z"}}',
        '{"type":"STATE","value":{"ok":true}}',
      ],
      { default_target_schema: schema },
    );
    expect(result.exitCode).toBe(0);
    expect(await select(client, `SELECT id, name, balance, opened, extra FROM "${schema}".accounts`)).toEqual([
      { id: '1', name: 'Ana B', balance: '11.25', opened: '2020-01-02 03:04:05', extra: 'kept' },
    ]);
    const types = await select(
      client,
      `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 ORDER BY attnum`,
      [`"${schema}".accounts`],
    );
    expect(types.map((r) => r.t)).toEqual([
      'integer',
      'character varying(20)',
      'numeric(12,2)',
      'timestamp without time zone',
      'text',
    ]);
  });
});

describe('failures inside PostgreSQL', () => {
  it('reports a merge PostgreSQL refuses (a CHECK constraint) naming the stream, and commits nothing after the last state', async () => {
    const schema = uniqueSchema('check');
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE "${schema}".ledger (id bigint PRIMARY KEY, amount numeric CHECK (amount >= 0), "_sdc_stage_seq" text)`);
    const result = await runTarget(
      [
        '{"type":"SCHEMA","stream":"ledger","schema":{"properties":{"id":{"type":"integer"},"amount":{"type":"number"},"_sdc_stage_seq":{"type":["null","string"]}}},"key_properties":["id"]}',
        '{"type":"RECORD","stream":"ledger","record":{"id":1,"amount":5,"_sdc_stage_seq":"a column named like the staging order"}}',
        '{"type":"STATE","value":{"step":1}}',
        // A key already there, in a batch of its own: from then on batches go through the
        // staging table and the merge.
        '{"type":"RECORD","stream":"ledger","record":{"id":1,"amount":6,"_sdc_stage_seq":null}}',
        '{"type":"RECORD","stream":"ledger","record":{"id":2,"amount":-1,"_sdc_stage_seq":null}}',
        '{"type":"STATE","value":{"step":2}}',
      ],
      { default_target_schema: schema, batch_size_rows: 1 },
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stateValues).toEqual([{ step: 1 }]);
    const errors = result.logs.split('\n').filter((line) => line.startsWith('ERROR'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/stream "ledger".*violates check constraint.*\[PG_QUERY_FAILED\]/);
    expect(await select(client, `SELECT id, amount, "_sdc_stage_seq" AS s FROM "${schema}".ledger`)).toEqual([
      { id: '1', amount: '5', s: 'a column named like the staging order' },
    ]);
  });

  it('reports a row PostgreSQL refuses while every key is new (straight into the table) naming its line and record', async () => {
    const schema = uniqueSchema('check_direct');
    await client.query(`CREATE SCHEMA "${schema}"`);
    await client.query(`CREATE TABLE "${schema}".ledger (id bigint PRIMARY KEY, amount numeric CHECK (amount >= 0))`);
    const result = await runTarget(
      [
        '{"type":"SCHEMA","stream":"ledger","schema":{"properties":{"id":{"type":"integer"},"amount":{"type":"number"}}},"key_properties":["id"]}',
        '{"type":"RECORD","stream":"ledger","record":{"id":1,"amount":5}}',
        '{"type":"STATE","value":{"step":1}}',
        '{"type":"RECORD","stream":"ledger","record":{"id":2,"amount":7}}',
        '{"type":"RECORD","stream":"ledger","record":{"id":3,"amount":-1}}',
        '{"type":"STATE","value":{"step":2}}',
      ],
      { default_target_schema: schema },
    );
    expect(result.exitCode).not.toBe(0);
    expect(result.stateValues).toEqual([{ step: 1 }]);
    const errors = result.logs.split('\n').filter((line) => line.startsWith('ERROR'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/stream "ledger", line 5, record 3: .*violates check constraint.*\[PG_VALUE_REJECTED\]/);
    expect(await select(client, `SELECT id, amount FROM "${schema}".ledger`)).toEqual([{ id: '1', amount: '5' }]);
  });
});

describe('signals', () => {
  it('on SIGTERM rolls back what came after the last printed state and exits non-zero', async () => {
    const schema = uniqueSchema('sigterm');
    const run = spawnTarget(
      { connection_string: databaseUrl(), default_target_schema: schema, batch_size_rows: 300 },
      { stream: 'signal', keys: ['id'], from: 0, to: 500_000, stateEvery: 1_000, chunk: 100, pauseMs: 5 },
    );
    await run.statesSeen(2);
    run.child.kill('SIGTERM');
    const { code } = await run.exited;
    expect(code).not.toBe(0);
    expect(run.stderr()).toMatch(/interrupted by SIGTERM/);
    const last = run.states.at(-1) as { bookmarks: { signal: { next: number } } };
    expect(await select(client, `SELECT count(*) AS n FROM "${schema}".signal`)).toEqual([{ n: String(last.bookmarks.signal.next) }]);
  });

  it('prints --about without any secret', async () => {
    const configPath = writeConfig({ password: 'AboutSecret123' });
    const child = spawn(process.execPath, [BIN, '--about', '--format', 'markdown', '-c', configPath]);
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    await once(child, 'close');
    expect(out).toContain('target-postgres');
    expect(out).toContain('batch_size_rows');
    expect(out).not.toContain('AboutSecret123');
  });
});
