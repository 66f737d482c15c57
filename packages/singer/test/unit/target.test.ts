import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';

import { isLosslessNumber } from '../../src';
import { runTargetInProcess } from '../../src/testing';
import { MemoryTarget, memoryTargetSpec, newStore } from '../support/memory-connectors';

const schema = (stream = 's', properties: object = { id: { type: 'integer' }, name: { type: ['null', 'string'] } }) =>
  JSON.stringify({ type: 'SCHEMA', stream, schema: { type: 'object', properties }, key_properties: ['id'] });
const record = (id: unknown, stream = 's', extra: object = {}) => JSON.stringify({ type: 'RECORD', stream, record: { id, ...extra } });
const state = (value: unknown) => JSON.stringify({ type: 'STATE', value });

async function configFile(config: object): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'singer-target-'));
  const path = join(dir, 'config.json');
  await writeFile(path, JSON.stringify(config));
  return path;
}

async function run(lines: string[], config: object = { batch_size_rows: 2 }) {
  const store = newStore();
  const result = await runTargetInProcess(
    memoryTargetSpec,
    (c, ctx) => new MemoryTarget(c, ctx, store),
    lines,
    { args: ['-c', await configFile(config)], env: {} },
  );
  return { ...result, store };
}

describe('Target', () => {
  it('prints each state value only after the records before it are committed', async () => {
    const { exitCode, stateValues, store } = await run([
      schema(),
      record(1),
      record(2),
      record(3),
      state({ at: 3 }),
      record(4),
      state({ at: 4 }),
    ]);
    expect(exitCode).toBe(0);
    expect(stateValues).toEqual([{ at: 3 }, { at: 4 }]);
    // The first commit holds all three records: drains inside, commit at the STATE.
    expect(store.events).toEqual(['drain s 2', 'drain s 1', 'commit 3', 'drain s 1', 'commit 1', 'clean-up s']);
    expect(store.committed.s).toHaveLength(4);
  });

  it('commits what follows the last STATE at end of input and prints that state once', async () => {
    const { stateValues, store } = await run([schema(), state({ a: 1 }), record(1), state({ a: 1 }), record(2)]);
    expect(stateValues).toEqual([{ a: 1 }]);
    expect(store.committed.s?.map((r) => r.id)).toEqual([1, 2]);
  });

  it('never prints the same state twice in a row', async () => {
    const { stateValues } = await run([schema(), state({ a: 1 }), state({ a: 1 }), record(1), state({ a: 2 }), state({ a: 2 })]);
    expect(stateValues).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('rejects a RECORD before its SCHEMA, naming stream and line, and prints no state', async () => {
    const { exitCode, stateValues, logs, store } = await run([schema(), record(1), state({ a: 1 }), record(2, 'other')]);
    expect(exitCode).toBe(1);
    expect(stateValues).toEqual([{ a: 1 }]);
    expect(logs).toMatch(/stream "other", line 4: RECORD for a stream that has had no SCHEMA yet.*\[RECORD_BEFORE_SCHEMA\]/);
    expect(store.events.slice(-3)).toEqual(['abort s', 'rollback 0', 'clean-up s']);
  });

  it('reads message types case-insensitively and skips unknown types with one warning per type', async () => {
    const lines = [
      schema().replace('"SCHEMA"', '"schema"'),
      JSON.stringify({ type: 'Record', stream: 's', record: { id: 1 }, extra_field: true }),
      JSON.stringify({ type: 'BATCH', stream: 's' }),
      JSON.stringify({ type: 'BATCH', stream: 's' }),
      record(2),
    ];
    const { exitCode, logs, store } = await run(lines);
    expect(exitCode).toBe(0);
    expect(store.committed.s).toHaveLength(2);
    expect(logs.match(/unknown type "BATCH"/g)).toHaveLength(1);
  });

  it('keeps integers beyond 2^53 and long decimals exact', async () => {
    const line = '{"type":"RECORD","stream":"s","record":{"id":12345678901234567890,"name":"x","amount":0.1000000000000000055511151231257827}}';
    const { store } = await run([schema('s', { id: { type: 'integer' }, name: { type: 'string' }, amount: { type: 'number' } }), line]);
    const committed = store.committed.s?.[0];
    expect(isLosslessNumber(committed?.id)).toBe(true);
    expect(String(committed?.id)).toBe('12345678901234567890');
    expect(String(committed?.amount)).toBe('0.1000000000000000055511151231257827');
  });

  it('names stream, record number, line and column when a record does not match its schema', async () => {
    const { exitCode, logs } = await run([schema(), record(1), record('two')]);
    expect(exitCode).toBe(1);
    expect(logs).toMatch(/stream "s", line 3, record 2, column "id": must be of type integer \(value "two"\)/);
  });

  it('accepts decimals against singer-python\'s "multipleOf": 0.01', async () => {
    const lines = [
      schema('m', { id: { type: 'integer' }, price: { type: 'number', multipleOf: 0.01 } }),
      JSON.stringify({ type: 'RECORD', stream: 'm', record: { id: 1, price: 19.99 } }),
      JSON.stringify({ type: 'RECORD', stream: 'm', record: { id: 2, price: 0.07 } }),
    ];
    expect((await run(lines)).exitCode).toBe(0);
    const bad = await run([lines[0]!, JSON.stringify({ type: 'RECORD', stream: 'm', record: { id: 3, price: 0.005 } })]);
    expect(bad.logs).toMatch(/column "price": must be multiple of 0.01/);
  });

  it('loads values as given when validate_records is false', async () => {
    const { exitCode, store } = await run([schema(), record('two')], { batch_size_rows: 2, validate_records: false });
    expect(exitCode).toBe(0);
    expect(store.committed.s?.[0]?.id).toBe('two');
  });

  it('accepts date-times without an offset as valid', async () => {
    const lines = [
      schema('t', { id: { type: 'integer' }, at: { type: ['null', 'string'], format: 'date-time' } }),
      record(1, 't', { at: '2017-10-02 10:56:33' }),
      record(2, 't', { at: '2017-10-02T10:56:33.5+03:00' }),
      record(3, 't', { at: null }),
    ];
    const { exitCode, store } = await run(lines);
    expect(exitCode).toBe(0);
    expect(store.committed.t).toHaveLength(3);
  });

  it('drops a property missing from the SCHEMA with one warning per property', async () => {
    const { store, logs } = await run([schema(), record(1, 's', { surprise: 1 }), record(2, 's', { surprise: 2 })]);
    expect(store.committed.s).toEqual([{ id: 1 }, { id: 2 }]);
    expect(logs.match(/property "surprise" is not in the stream's SCHEMA/g)).toHaveLength(1);
  });

  it('rolls back and prints nothing more when a commit fails', async () => {
    const { exitCode, stateValues, store } = await run([schema(), record(1), state({ a: 1 }), record(2), state({ a: 2 })], {
      batch_size_rows: 2,
      fail_on_commit: 2,
    });
    expect(exitCode).toBe(1);
    expect(stateValues).toEqual([{ a: 1 }]);
    expect(store.committed.s?.map((r) => r.id)).toEqual([1]);
  });

  it('names the line of input that is not JSON', async () => {
    const { exitCode, logs } = await run([schema(), '{"type": "RECORD", oops}']);
    expect(exitCode).toBe(1);
    expect(logs).toMatch(/line 2: input is not valid JSON.*\[INPUT_NOT_JSON\]/);
  });

  it('adopts a changed SCHEMA after draining what came before it', async () => {
    const { store } = await run([schema(), record(1), schema('s', { id: { type: 'integer' }, extra: { type: 'string' } }), record(2, 's', { extra: 'x' })]);
    expect(store.events[0]).toBe('drain s 1');
    expect(store.committed.s).toEqual([{ id: 1 }, { id: 2, extra: 'x' }]);
  });

  it('stops on abort without committing the open batch or printing a state', async () => {
    const controller = new AbortController();
    const store = newStore();
    const input = new PassThrough();
    const running = runTargetInProcess(memoryTargetSpec, (c, ctx) => new MemoryTarget(c, ctx, store), input, {
      args: ['-c', await configFile({ batch_size_rows: 100 })],
      env: {},
      signal: controller.signal,
    });
    // Record 2 reaches the sink only after the STATE before it was committed and printed.
    const secondRecord = new Promise<void>((resolve) => {
      store.onRecord = (_stream, r) => {
        if (r.id === 2) resolve();
      };
    });
    input.write(`${schema()}\n${record(1)}\n${state({ a: 1 })}\n${record(2)}\n`);
    await secondRecord;
    controller.abort('SIGTERM');
    input.end();
    const result = await running;
    expect(result.exitCode).toBe(143);
    expect(result.stateValues).toEqual([{ a: 1 }]);
    expect(store.committed.s?.map((r) => r.id)).toEqual([1]);
    expect(result.logs).toMatch(/interrupted by SIGTERM/);
  });
});
