import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type Catalog, type ConnectorSpec, type State } from '../../src';
import { runTapInProcess } from '../../src/testing';
import { type CountingConfig, CountingTap, countingTapSpec } from '../support/memory-connectors';

async function file(content: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'singer-units-'));
  const path = join(dir, 'f.json');
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

interface UnitConfig extends CountingConfig {
  unit?: string;
}

/** A counting tap whose streams are its units. */
class UnitTap extends CountingTap {
  override async *listUnits(_catalog: Catalog | undefined, state: State): AsyncIterable<object> {
    for (const [name, count] of Object.entries(this.config.streams)) {
      if ((this.config as UnitConfig).unit !== undefined && (this.config as UnitConfig).unit !== name) continue;
      const done = (state.bookmarks?.[name] as { done?: number } | undefined)?.done ?? 0;
      yield { unit: name, records: count - done };
    }
  }

  protected override async entriesToSync(catalog: Catalog | undefined, state: State) {
    const unit = (this.config as UnitConfig).unit;
    const entries = await super.entriesToSync(catalog, state);
    return unit === undefined ? entries : entries.filter((entry) => entry.tap_stream_id === unit);
  }
}

const unitSpec: ConnectorSpec<CountingConfig> = {
  ...countingTapSpec,
  configSchema: { ...countingTapSpec.configSchema, properties: { ...countingTapSpec.configSchema.properties, unit: { type: 'string' } } },
  units: {
    configKey: 'unit',
    mergeStates: (states) => ({
      bookmarks: Object.assign({}, ...states.map(({ state }) => state.bookmarks)),
      files: states.map((s) => s.file.slice(-6)),
    }),
  },
};

const run = (args: string[], spec: ConnectorSpec<CountingConfig> = unitSpec) =>
  runTapInProcess(spec, (c, ctx) => new UnitTap(c, ctx), { args, env: {} });

describe('units of work in the tap harness', () => {
  it('prints one JSON line per unit with --list-units, counting from the state', async () => {
    const config = await file({ streams: { a: 3, b: 5 } });
    const result = await run(['-c', config, '--list-units', '-s', await file({ bookmarks: { b: { done: 2 } } })]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toEqual([
      { unit: 'a', records: 3 },
      { unit: 'b', records: 3 },
    ]);
  });

  it('sets the config key with --unit, over the config files', async () => {
    const config = await file({ streams: { a: 3, b: 5 }, unit: 'a' });
    const result = await run(['-c', config, '--unit', 'b']);
    expect(result.exitCode).toBe(0);
    expect(new Set(result.records.map((r) => r.stream))).toEqual(new Set(['b']));
  });

  it('prints the merged state of --merge-states on one line, without a config', async () => {
    const a = await file({ bookmarks: { a: { done: 2 } } });
    const b = await file('{"bookmarks":{"b":{"done":1}}}\n{"bookmarks":{"b":{"done":4}}}\n');
    const result = await run(['--merge-states', a, b]);
    expect(result.exitCode).toBe(0);
    expect(result.output).toEqual([{ bookmarks: { a: { done: 2 }, b: { done: 4 } }, files: ['f.json', 'f.json'] }]);
  });

  it('offers no unit flags to a tap whose spec declares no units', async () => {
    const result = await run(['-c', await file({ streams: { a: 2 } }), '--help'], countingTapSpec);
    expect(result.output[0]).not.toMatch(/--list-units|--unit|--merge-states/);
    const withUnits = await run(['-c', await file({ streams: { a: 2 } }), '--help']);
    expect(withUnits.output[0]).toMatch(/--list-units/);
    expect(withUnits.output[0]).toMatch(/--merge-states/);
  });
});
