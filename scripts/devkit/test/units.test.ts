import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { runPool } from '../src/pipeline/pool';
import { runStageUnits } from '../src/pipeline/run-units';
import { type PipelineStages, pipelineStages, type Stage } from '../src/pipeline/stages';
import { FileStateBackend } from '../src/pipeline/state';
import { listUnits, stateIdOf, unitCommands } from '../src/pipeline/units';

const FIXTURES = join(__dirname, 'fixtures');
const CONFIG_DIR = resolve(__dirname, '..', '..', '..', 'singer-config');
const quiet = (): void => undefined;

describe('runPool', () => {
  it('runs at most the limit at once, every item once, results in item order', async () => {
    let running = 0;
    let most = 0;
    const results = await runPool(
      [50, 10, 30, 20, 40, 5],
      3,
      async (ms, index) => {
        running += 1;
        most = Math.max(most, running);
        await new Promise((r) => setTimeout(r, ms));
        running -= 1;
        return index;
      },
      () => false,
    );
    expect(results).toEqual([0, 1, 2, 3, 4, 5]);
    expect(most).toBe(3);
  });

  it('starts nothing more after a failure, and lets the running ones finish', async () => {
    const started: number[] = [];
    const results = await runPool(
      [0, 1, 2, 3, 4],
      2,
      async (item) => {
        started.push(item);
        await new Promise((r) => setTimeout(r, item === 0 ? 10 : 60));
        return item === 0 ? 'failed' : 'ok';
      },
      (result) => result === 'failed',
    );
    expect(started).toEqual([0, 1]);
    expect(results).toEqual(['failed', 'ok', undefined, undefined, undefined]);
  });
});

describe('units of a tap that splits its work', () => {
  let dir: string;
  let pipeline: PipelineStages;
  let stage: Stage;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'units-'));
    const config = join(dir, 'tap.json');
    // A split in the tap's config is what makes the runner ask the tap for its units.
    await writeFile(config, '{"unit_split": "prefix:1"}');
    stage = {
      stage: 2,
      title: 'fake-units-tap | fake-target',
      tap: { name: 'fake-units-tap', bin: join(FIXTURES, 'fake-units-tap.js'), configs: [config] },
      target: { name: 'fake-target', bin: join(FIXTURES, 'fake-target.js'), configs: [config] },
    };
    pipeline = { configDir: dir, runDir: join(dir, 'run'), bucket: 'b', schema: 's', tables: [], stages: { 1: stage, 2: stage } };
  });

  const env = (): NodeJS.ProcessEnv => ({ ...process.env, FAKE_UNITS_LOG: join(dir, 'units.log'), FAKE_TARGET_LOG: join(dir, 'target.log') });
  const calls = async (): Promise<{ unit: string; state: { bookmarks?: Record<string, { runs: number }> }; catalog: string | null }[]> =>
    (await readFile(join(dir, 'units.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));

  it('takes the units the tap lists, in its order', async () => {
    const units = await listUnits(stage, env(), quiet);
    expect(units.map((u) => [u.id, u.table, u.mode, u.objects, u.bytes])).toEqual([
      ['t/p1', 't', 'tap', 2, 10],
      ['t/p2', 't', 'tap', 1, 5],
      ['u#0', 'u', 'tap', 3, 7],
    ]);
  });

  it('runs each unit once with --unit and its own state, which the next run starts from', async () => {
    const units = await listUnits(stage, env(), quiet);
    const backend = new FileStateBackend(join(dir, 'state'));
    const catalog = join(dir, 'catalog.json');
    await writeFile(catalog, '{"streams":[]}');
    const done: string[] = [];
    const first = await runStageUnits(units, { pipeline, name: 'p', backend, env: env(), log: quiet, catalog, parallel: 2, onUnitDone: (r) => done.push(r.unit.id) });
    expect(first.ok).toBe(true);
    expect(done.sort()).toEqual(['t/p1', 't/p2', 'u#0']);
    expect(first.records).toEqual({ s: 3 });
    for (const unit of units) {
      expect(JSON.parse((await backend.read(stateIdOf('p', unit)))!)).toEqual({ bookmarks: { [unit.id]: { runs: 1 } } });
    }
    expect((await calls()).map((c) => [c.unit, c.state, c.catalog]).sort()).toEqual([
      ['t/p1', {}, catalog],
      ['t/p2', {}, catalog],
      ['u#0', {}, catalog],
    ]);

    const second = await runStageUnits(units, { pipeline, name: 'p', backend, env: env(), log: quiet, catalog, parallel: 3 });
    expect(second.ok).toBe(true);
    const again = (await calls()).slice(3);
    for (const call of again) expect(call.state).toEqual({ bookmarks: { [call.unit]: { runs: 1 } } });
    expect(JSON.parse((await backend.read('p:stage2:u#0'))!)).toEqual({ bookmarks: { 'u#0': { runs: 2 } } });
  });

  it('fails the stage with the first failed unit, starts no further unit, and keeps the finished units\' states', async () => {
    const units = await listUnits(stage, env(), quiet);
    const backend = new FileStateBackend(join(dir, 'state'));
    const result = await runStageUnits(units, { pipeline, name: 'p', backend, env: { ...env(), FAKE_UNITS_FAIL: 't/p2' }, log: quiet, parallel: 1 });
    expect(result.ok).toBe(false);
    expect(result.failure?.unit.id).toBe('t/p2');
    expect(result.failure?.error).toBe('unit t/p2 broke [SOURCE_UNAVAILABLE]');
    expect((await calls()).map((c) => c.unit)).toEqual(['t/p1', 't/p2']);
    expect(await backend.read('p:stage2:t/p1')).toBe('{"bookmarks":{"t/p1":{"runs":1}}}');
    expect(await backend.read('p:stage2:u#0')).toBeUndefined();
  });
});

describe('units of taps that do not split their work', () => {
  let pipeline: PipelineStages;
  let runDir: string;

  beforeAll(async () => {
    runDir = await mkdtemp(join(tmpdir(), 'units-config-'));
    pipeline = await pipelineStages({ configDir: CONFIG_DIR, runDir, bucket: 'olist-units' });
  });

  it('makes each configured table a unit of stage 2, run with a config and a catalog of that table only', async () => {
    const units = await listUnits(pipeline.stages[2], process.env, quiet);
    expect(units.map((u) => [u.id, u.table, u.mode])).toEqual([
      ['customers', 'customers', 'selection'],
      ['order_items', 'order_items', 'selection'],
      ['orders', 'orders', 'selection'],
      ['products', 'products', 'selection'],
    ]);
    const catalog = join(runDir, 'catalog.json');
    await writeFile(catalog, JSON.stringify({ streams: pipeline.tables.map((t) => ({ tap_stream_id: t, stream: t, schema: {}, metadata: [] })) }));
    const orders = units[2]!;
    const { tap, target } = await unitCommands(pipeline.stages[2], orders, join(runDir, 'u'), { catalog, state: '{"bookmarks":{"orders":{"modified_since":"2024-01-01T00:00:00Z"}}}' });
    const configs = tap.args.filter((_, i) => tap.args[i - 1] === '-c');
    expect(configs.slice(0, 2)).toEqual(pipeline.stages[2].tap.configs);
    const selection = JSON.parse(await readFile(configs[2]!, 'utf8')) as { tables: { table_name: string; key_properties: string[] }[] };
    expect(selection.tables.map((t) => [t.table_name, t.key_properties])).toEqual([['orders', ['order_id']]]);
    const own = JSON.parse(await readFile(tap.args[tap.args.indexOf('--catalog') + 1]!, 'utf8')) as { streams: { stream: string }[] };
    expect(own.streams.map((s) => s.stream)).toEqual(['orders']);
    expect(await readFile(tap.args[tap.args.indexOf('--state') + 1]!, 'utf8')).toBe('{"bookmarks":{"orders":{"modified_since":"2024-01-01T00:00:00Z"}}}\n');
    expect(tap.args).not.toContain('--unit');
    expect(target.args).toEqual(pipeline.stages[2].target.configs.flatMap((c) => ['-c', c]));
  });

  it('makes each file named in tap-kaggle\'s files a unit of stage 1, or the whole selection one unit when files holds a glob', async () => {
    const units = await listUnits(pipeline.stages[1], process.env, quiet);
    expect(units.map((u) => [u.id, u.table, u.selection])).toEqual([
      ['olist_customers_dataset.csv', 'customers', { files: ['olist_customers_dataset.csv'] }],
      ['olist_order_items_dataset.csv', 'order_items', { files: ['olist_order_items_dataset.csv'] }],
      ['olist_orders_dataset.csv', 'orders', { files: ['olist_orders_dataset.csv'] }],
      ['olist_products_dataset.csv', 'products', { files: ['olist_products_dataset.csv'] }],
    ]);
    const globbing = await pipelineStages({ configDir: CONFIG_DIR, runDir: await mkdtemp(join(tmpdir(), 'units-glob-')), kaggle: { files: 'olist_*.csv' } });
    expect((await listUnits(globbing.stages[1], process.env, quiet)).map((u) => [u.id, u.selection])).toEqual([['all', {}]]);
  });
});
