import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runTapInProcess } from '../../src/testing';
import { CountingTap, countingTapSpec } from '../support/memory-connectors';

async function file(content: unknown, name = 'f.json'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'singer-tap-'));
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const run = (args: string[]) => runTapInProcess(countingTapSpec, (c, ctx) => new CountingTap(c, ctx), { args, env: {} });

describe('Tap', () => {
  it('prints the discovered catalog with --discover', async () => {
    const result = await run(['--discover', '-c', await file({ streams: { a: 1, b: 2 } })]);
    expect(result.exitCode).toBe(0);
    const catalog = result.output[0] as { streams: { tap_stream_id: string }[] };
    expect(catalog.streams.map((s) => s.tap_stream_id)).toEqual(['a', 'b']);
  });

  it('syncs every discovered stream without a catalog: SCHEMA, RECORDs with time_extracted, STATEs', async () => {
    const result = await run(['-c', await file({ streams: { a: 3 } })]);
    expect(result.exitCode).toBe(0);
    expect(result.messages.map((m) => m.type)).toEqual(['SCHEMA', 'RECORD', 'RECORD', 'STATE', 'RECORD', 'STATE']);
    expect(result.schemas[0]?.key_properties).toEqual(['n']);
    expect(result.records[0]?.time_extracted).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(result.states.at(-1)?.value).toEqual({ bookmarks: { a: { done: 2 } } });
  });

  it('honours --catalog and the legacy -p/--properties: selected streams and properties only', async () => {
    const catalog = {
      streams: [
        {
          tap_stream_id: 'a',
          stream: 'a',
          schema: { properties: { n: { type: 'integer' }, square: { type: 'integer' }, label: { type: 'string' } } },
          metadata: [
            { breadcrumb: [], metadata: { selected: true } },
            { breadcrumb: ['properties', 'n'], metadata: { inclusion: 'automatic' } },
            { breadcrumb: ['properties', 'square'], metadata: { selected: false } },
          ],
        },
        { tap_stream_id: 'b', stream: 'b', schema: { properties: {} }, metadata: [{ breadcrumb: [], metadata: { selected: false } }] },
      ],
    };
    const config = await file({ streams: { a: 1, b: 1 } });
    for (const flag of ['--catalog', '-p', '--properties']) {
      const result = await run(['-c', config, flag, await file(catalog)]);
      expect(result.records.map((r) => r.stream)).toEqual(['a']);
      expect(result.records[0]?.record).toEqual({ n: 1, label: '#1' });
      expect(Object.keys(result.schemas[0]?.schema.properties ?? {})).toEqual(['n', 'label']);
    }
  });

  it('resumes from the last line of a state file a target appended to', async () => {
    const stateFile = await file('{"bookmarks":{"a":{"done":2}}}\n{"bookmarks":{"a":{"done":4}}}\n');
    const result = await run(['-c', await file({ streams: { a: 6 } }), '-s', stateFile]);
    expect(result.records.map((r) => r.record.n)).toEqual([5, 6]);
  });

  it('writes a state only after the records it covers', async () => {
    const result = await run(['-c', await file({ streams: { a: 4 } })]);
    const order = result.messages.map((m) => (m.type === 'RECORD' ? m.record.n : m.type === 'STATE' ? JSON.stringify(m.value) : m.type));
    expect(order).toEqual(['SCHEMA', 1, 2, '{"bookmarks":{"a":{"done":2}}}', 3, 4, '{"bookmarks":{"a":{"done":4}}}', '{"bookmarks":{"a":{"done":4}}}']);
  });

  it('reads a state file holding a STATE message or Meltano\'s wrapped state', async () => {
    const config = await file({ streams: { a: 6 } });
    const message = await run(['-c', config, '-s', await file('{"type":"STATE","value":{"bookmarks":{"a":{"done":4}}}}')]);
    expect(message.records.map((r) => r.record.n)).toEqual([5, 6]);
    const wrapped = await run(['-c', config, '-s', await file({ singer_state: { bookmarks: { a: { done: 2 } } } })]);
    expect(wrapped.records.map((r) => r.record.n)).toEqual([3, 4, 5, 6]);
  });

  it('still writes what it emitted before failing, and closes the tap', async () => {
    const closedBefore = CountingTap.closed;
    const result = await run(['-c', await file({ streams: { a: 9 }, fail_at: 4 })]);
    expect(result.exitCode).toBe(1);
    expect(result.records.map((r) => r.record.n)).toEqual([1, 2, 3]);
    expect(result.states.map((s) => s.value)).toEqual([{ bookmarks: { a: { done: 2 } } }]);
    expect(result.logs).toMatch(/ERROR unexpected error: record 4 is broken/);
    expect(CountingTap.closed).toBe(closedBefore + 1);
  });
});
