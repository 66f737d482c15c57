import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runTargetInProcess } from '../../src/testing';
import { MemoryTarget, memoryTargetSpec, newStore } from '../support/memory-connectors';

const schema = (stream = 's', properties: object = { id: { type: 'integer' } }, keys = ['id']) =>
  JSON.stringify({ type: 'SCHEMA', stream, schema: { type: 'object', properties }, key_properties: keys });
const record = (id: unknown, stream = 's') => JSON.stringify({ type: 'RECORD', stream, record: { id } });
const state = (value: unknown) => JSON.stringify({ type: 'STATE', value });
const activate = (version: number, stream = 's') => JSON.stringify({ type: 'ACTIVATE_VERSION', stream, version });

async function run(lines: string[], setUp: (target: MemoryTarget) => void = () => undefined) {
  const store = newStore();
  const dir = await mkdtemp(join(tmpdir(), 'singer-lifecycle-'));
  await writeFile(join(dir, 'config.json'), JSON.stringify({ batch_size_rows: 2 }));
  const result = await runTargetInProcess(
    memoryTargetSpec,
    (c, ctx) => {
      const target = new MemoryTarget(c, ctx, store);
      setUp(target);
      return target;
    },
    lines,
    { args: ['-c', join(dir, 'config.json')], env: {} },
  );
  return { ...result, store };
}

describe('the sink lifecycle', () => {
  it('settles the work drains left running before it commits, and prints the state only then', async () => {
    const { exitCode, stateValues, store } = await run([schema(), record(1), record(2), record(3), state({ a: 1 })], (target) => {
      // Each drain's work finishes a macrotask later than the drain itself.
      target.background = () => new Promise((resolve) => setImmediate(resolve));
    });
    expect(exitCode).toBe(0);
    expect(stateValues).toEqual([{ a: 1 }]);
    const commit = store.events.indexOf('commit 3');
    expect(commit).toBeGreaterThan(store.events.indexOf('settled s 2'));
    expect(commit).toBeGreaterThan(store.events.indexOf('settled s 1'));
  });

  it('fails the run with the error of work a drain left running, naming nothing committed after it', async () => {
    const { exitCode, stateValues, store, logs } = await run([schema(), record(1), record(2), state({ a: 1 })], (target) => {
      target.background = () => Promise.reject(new Error('the merge failed'));
    });
    expect(exitCode).toBe(1);
    expect(stateValues).toEqual([]);
    expect(logs).toMatch(/the merge failed/);
    expect(store.events).toContain('abort s');
    expect(store.events.filter((e) => e.startsWith('commit'))).toEqual([]);
  });

  it('applies an ACTIVATE_VERSION that came before its SCHEMA once the SCHEMA arrives, with a warning', async () => {
    const { exitCode, logs, store } = await run([activate(7), schema(), record(1), activate(7)]);
    expect(exitCode).toBe(0);
    expect(logs).toMatch(/WARNING stream "s", line 1: ACTIVATE_VERSION 7 came before the stream's SCHEMA/);
    expect(store.events.filter((e) => e.startsWith('activate'))).toEqual(['activate s 7', 'activate s 7']);
    expect(store.committed.s).toEqual([{ id: 1 }]);
  });

  it('ignores an ACTIVATE_VERSION whose stream never gets a SCHEMA', async () => {
    const { exitCode, store } = await run([activate(1, 'ghost'), schema(), record(1)]);
    expect(exitCode).toBe(0);
    expect(store.events.filter((e) => e.startsWith('activate'))).toEqual([]);
  });

  it('commits after a SCHEMA even when no record follows, so a target can make the table', async () => {
    const { exitCode, stateValues, store } = await run([schema(), state({ a: 1 })]);
    expect(exitCode).toBe(0);
    expect(stateValues).toEqual([{ a: 1 }]);
    expect(store.events).toEqual(['commit 0', 'clean-up s']);
  });

  it('refuses a SCHEMA without properties or with a key that is not a property, naming the stream', async () => {
    const empty = await run([schema('e', {})]);
    expect(empty.logs).toMatch(/stream "e".*SCHEMA has no properties.*\[SCHEMA_WITHOUT_PROPERTIES\]/);
    const key = await run([schema('k', { name: { type: 'string' } })]);
    expect(key.logs).toMatch(/stream "k".*column "id".*key property "id" is not in the stream's SCHEMA.*\[KEY_NOT_IN_SCHEMA\]/);
    const later = await run([schema(), record(1), schema('s', {}, [])]);
    expect(later.exitCode).toBe(1);
    expect(later.logs).toMatch(/\[SCHEMA_WITHOUT_PROPERTIES\]/);
  });

  it('aborts every sink on failure and cleans every sink up once, after success or failure', async () => {
    const failed = await run([schema('a'), schema('b'), record(1, 'a'), record('x', 'b')]);
    expect(failed.exitCode).toBe(1);
    expect(failed.store.events.slice(-5)).toEqual(['abort a', 'abort b', 'rollback 0', 'clean-up a', 'clean-up b']);
    const passed = await run([schema('a'), record(1, 'a')]);
    expect(passed.store.events.filter((e) => e.startsWith('clean-up'))).toEqual(['clean-up a']);
    expect(passed.store.events.filter((e) => e.startsWith('abort'))).toEqual([]);
  });
});
