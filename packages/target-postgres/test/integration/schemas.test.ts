import type { Client } from 'pg';

import { columnTypes, connect, errorLines, fixture, runTarget, select, uniqueSchema } from './helpers';

let client: Client;

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

/** The input with one RECORD line replaced by another record of the same stream. */
function withRecord(input: string, stream: string, record: string): string {
  const lines = input.trimEnd().split('\n');
  const first = lines.findIndex((line) => line.includes('"type":"RECORD"'));
  return [...lines.slice(0, first), `{"type":"RECORD","stream":"${stream}","record":${record}}`, ''].join('\n');
}

describe('SCHEMA messages as database taps write them', () => {
  it('loads a tap-postgres stream: draft-4 bounds, BIGINT limits, numeric(100,38), recursive array $refs', async () => {
    const schema = uniqueSchema('tappg');
    const result = await runTarget(await fixture('tap-postgres-schemas.singer'), { default_target_schema: schema });
    expect(errorLines(result.logs)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toHaveLength(2);
    expect(await columnTypes(client, schema, 'pg_orders')).toMatchObject({
      id: 'bigint',
      qty: 'bigint',
      price: 'numeric',
      ratio: 'numeric',
      tags: 'jsonb',
      scores: 'jsonb',
      doc: 'jsonb',
      attrs: 'jsonb',
      blob: 'jsonb',
      created_at: 'timestamp with time zone',
      at_time: 'time without time zone',
      code: 'text',
    });
    expect(
      await select(client, `SELECT id, qty, price, ratio, tags::text, scores::text, doc::text, attrs::text, blob::text, created_at, at_time, code FROM "${schema}".pg_orders ORDER BY id`),
    ).toEqual([
      {
        id: '-9223372036854775808',
        qty: null,
        price: '9999999999.99',
        ratio: `${'9'.repeat(62)}.${'9'.repeat(38)}`,
        tags: null,
        scores: null,
        doc: '[1, "x"]',
        attrs: null,
        blob: null,
        created_at: null,
        at_time: null,
        code: null,
      },
      {
        id: '42',
        qty: null,
        price: '0.07',
        ratio: '-0.00000000000000000000000000000000000001',
        tags: null,
        scores: null,
        doc: null,
        attrs: null,
        blob: null,
        created_at: null,
        at_time: null,
        code: null,
      },
      {
        id: '9223372036854775807',
        qty: '3',
        price: '19.99',
        ratio: '0.12345678901234567890123456789012345678',
        tags: '["a", ["b", "c"]]',
        scores: '[1.5, [2.25]]',
        doc: '{"k": [1, 2]}',
        attrs: '{"color": "red"}',
        blob: '"\\\\x0102"',
        created_at: '2017-10-02 10:56:33+00',
        at_time: '13:45:30',
        code: 'ABC',
      },
    ]);
  });

  it('loads a tap-mysql stream: BIGINT UNSIGNED as numeric, DECIMAL bounds of 1e38, binary and spatial formats', async () => {
    const schema = uniqueSchema('tapmy');
    const result = await runTarget(await fixture('tap-mysql-schemas.singer'), { default_target_schema: schema });
    expect(errorLines(result.logs)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(await columnTypes(client, schema, 'my_items')).toMatchObject({
      id: 'numeric',
      signed_big: 'bigint',
      price: 'numeric',
      total: 'numeric',
      active: 'boolean',
      name: 'text',
      payload: 'text',
      location: 'jsonb',
      meta: 'jsonb',
      updated_at: 'timestamp with time zone',
      weight: 'numeric',
    });
    expect(await select(client, `SELECT id, signed_big, price, total, active, name, payload, location::text FROM "${schema}".my_items ORDER BY id`)).toEqual([
      { id: '1', signed_big: '-9223372036854775808', price: '0.1', total: '0.3', active: 'f', name: null, payload: null, location: null },
      {
        id: '18446744073709551615',
        signed_big: '9223372036854775807',
        price: '19.99',
        total: '12345678901234567890123456789012345.67',
        active: 't',
        name: 'São Paulo',
        payload: '0a0b',
        location: '{"type": "Point", "coordinates": [1.5, 2]}',
      },
    ]);
  });

  it.each([
    ['{"id":9223372036854775808}', 'column "id": must be <= 9223372036854775807 (value 9223372036854775808)'],
    ['{"id":-9223372036854775809}', 'column "id": must be >= -9223372036854775808 (value -9223372036854775809)'],
    ['{"id":1,"price":10000000000}', 'column "price": must be < 10000000000 (value 10000000000)'],
    ['{"id":1,"scores":[1.5,[2.255]]}', 'column "scores": scores.1.0 must be multiple of 0.01'],
    // NOTE: these two hold once the sink stops removing fractional multipleOf from the SCHEMA
    // before the validator sees it (prepareSchema's dropInexactMultipleOf in sink.ts).
    ['{"id":1,"price":0.005}', 'column "price": must be multiple of 0.01 (value 0.005)'],
    ['{"id":1,"ratio":1e-39}', 'column "ratio": must be multiple of 1e-38'],
  ])('refuses %s exactly, naming stream, record and column', async (record, message) => {
    const schema = uniqueSchema('tappgbad');
    const input = withRecord(await fixture('tap-postgres-schemas.singer'), 'pg_orders', record);
    const result = await runTarget(input, { default_target_schema: schema });
    expect(result.exitCode).toBe(1);
    const errors = errorLines(result.logs);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('stream "pg_orders"');
    expect(errors[0]).toContain('record 1');
    expect(errors[0]).toContain(message);
    expect(errors[0]).toContain('[RECORD_INVALID]');
  });

  it('loads a Meltano SDK stream: 2020-12, $defs, allOf of a $ref, anyOf/oneOf with null, {} and type null', async () => {
    const schema = uniqueSchema('sdk');
    const result = await runTarget(await fixture('schema-refs.singer'), { default_target_schema: schema });
    expect(errorLines(result.logs)).toEqual([]);
    expect(result.exitCode).toBe(0);
    expect(await columnTypes(client, schema, 'sdk_orders')).toMatchObject({
      id: 'bigint',
      placed_at: 'timestamp with time zone',
      note: 'text',
      nothing_yet: 'text',
      extra: 'jsonb',
      code: 'text',
      lines: 'jsonb',
      added: 'boolean',
    });
    expect(await select(client, `SELECT id, placed_at, note, extra::text, code, lines::text FROM "${schema}".sdk_orders ORDER BY id`)).toEqual([
      { id: '1', placed_at: '2024-01-01 00:00:00+00', note: null, extra: '{"any": "thing"}', code: 'AB-12', lines: '[{"qty": 2, "sku": "x"}]' },
      { id: '2', placed_at: null, note: 'n', extra: '5', code: null, lines: '[]' },
      { id: '3', placed_at: null, note: null, extra: null, code: null, lines: null },
    ]);
  });

  // NOTE: these read columns whose type sits behind a $ref (amount, status), and a warning given
  // through the run's logger: they hold once the target loop normalizes every SCHEMA message
  // (normalizeSchema, the first and each later one of a stream) before the sink maps its
  // columns, and hands normalizeSchema and the validator its logger.
  it('maps columns behind a $ref and warns once about a pattern JavaScript cannot read', async () => {
    const schema = uniqueSchema('sdkref');
    const result = await runTarget(await fixture('schema-refs.singer'), { default_target_schema: schema });
    expect(result.exitCode).toBe(0);
    expect(await columnTypes(client, schema, 'sdk_orders')).toMatchObject({ amount: 'numeric', status: 'text' });
    expect(await select(client, `SELECT id, amount, status FROM "${schema}".sdk_orders ORDER BY id`)).toEqual([
      { id: '1', amount: '19.99', status: 'open' },
      { id: '2', amount: '12345678901234567890.12', status: 'closed' },
      { id: '3', amount: '0.10', status: 'open' },
    ]);
    const warnings = result.logs.split('\n').filter((line) => line.startsWith('WARNING') && line.includes('keyword "pattern"'));
    expect(warnings).toEqual([
      'WARNING stream "sdk_orders": SCHEMA keyword "pattern" "^(?P<prefix>[A-Z]+)-\\\\d+$" is not a regular expression JavaScript reads: it is not checked',
    ]);
  });

  it('honours additionalProperties: false inside a value, naming the property', async () => {
    const schema = uniqueSchema('sdkbad');
    const input = withRecord(await fixture('schema-refs.singer'), 'sdk_orders', '{"id":9,"lines":[{"sku":"x","qty":1,"color":"red"}]}');
    const result = await runTarget(input, { default_target_schema: schema });
    expect(result.exitCode).toBe(1);
    expect(errorLines(result.logs)[0]).toContain('column "lines": lines.0 must not have property "color"');
  });
});
