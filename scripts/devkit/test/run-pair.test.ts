import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { type PairOptions, runPair } from '../src/pipeline/run-pair';

const TAP = { name: 'fake-tap', bin: join(__dirname, 'fixtures', 'fake-tap.js'), args: [] };
const TARGET = { name: 'fake-target', bin: join(__dirname, 'fixtures', 'fake-target.js'), args: [] };

async function pair(tapExit: number) {
  const dir = await mkdtemp(join(tmpdir(), 'run-pair-'));
  const logFile = join(dir, 'target.log');
  const stateFile = join(dir, 'state', 'state.json');
  const lines: string[] = [];
  const result = await runPair({
    tap: TAP,
    target: TARGET,
    env: { ...process.env, FAKE_TAP_EXIT: String(tapExit), FAKE_TARGET_LOG: logFile },
    stateFile,
    log: (line) => lines.push(line),
  });
  return { result, events: (await readFile(logFile, 'utf8')).trim().split('\n'), state: await readFile(stateFile, 'utf8'), lines };
}

/** A pair whose states go to a sink that records them, with extra variables for the fakes. */
async function sinkPair(env: NodeJS.ProcessEnv, extra: Partial<PairOptions> = {}, onSaved: (value: string) => void = () => undefined) {
  const dir = await mkdtemp(join(tmpdir(), 'run-pair-'));
  const logFile = join(dir, 'target.log');
  const saved: string[] = [];
  const result = await runPair({
    tap: TAP,
    target: TARGET,
    env: { ...process.env, FAKE_TAP_EXIT: '0', FAKE_TARGET_LOG: logFile, ...env },
    stateSink: {
      save: async (value) => {
        await new Promise((r) => setTimeout(r, 5));
        saved.push(value);
        onSaved(value);
      },
    },
    log: () => undefined,
    ...extra,
  });
  const events = (await readFile(logFile, 'utf8').catch(() => '')).trim().split('\n');
  return { result, saved, events };
}

describe('runPair', () => {
  it('closes the target\'s input when the tap succeeds and keeps the last state value', async () => {
    const { result, events, state, lines } = await pair(0);
    expect(result.ok).toBe(true);
    expect(events).toEqual(['EOF']);
    expect(state).toBe('{"n":1}\n');
    expect(result.records).toEqual({ s: 1 });
    expect(lines).toContain('[fake-tap] INFO METRIC: {"type":"counter","metric":"record_count","value":1,"tags":{"stream":"s"}}');
  });

  it('signals the target before closing its input when the tap fails, and names the tap\'s error', async () => {
    const { result, events, state } = await pair(3);
    expect(result.ok).toBe(false);
    expect(result.failedStage).toBe('fake-tap');
    expect(result.error).toBe('the source broke [SOURCE_UNAVAILABLE]');
    expect(events[0]).toBe('SIGTERM');
    // What the target printed before the failure was committed: it is kept.
    expect(state).toBe('{"n":1}\n');
  });

  it('saves the state values in order as they come, the last one always', async () => {
    const { result, saved } = await sinkPair({ FAKE_TAP_STATES: '50' });
    expect(result.ok).toBe(true);
    expect(saved.at(-1)).toBe('{"n":50}');
    // Values superseded while a save was under way may be skipped, never reordered.
    const numbers = saved.map((v) => (JSON.parse(v) as { n: number }).n);
    expect([...numbers].sort((a, b) => a - b)).toEqual(numbers);
  });

  it('stops a tap whose target ended early, and names the target\'s error', async () => {
    // The tap floods without end: left running, it would hold the pair open past the test's timeout.
    const { result, events } = await sinkPair({ FAKE_TAP_FLOOD: '1', FAKE_TARGET_FAIL: '1' });
    expect(result.ok).toBe(false);
    expect(result.failedStage).toBe('fake-target');
    expect(result.error).toBe('config is wrong [CONFIG_INVALID]');
    expect(events).toEqual(['FAIL']);
  });

  it('stops the tap, then the target, when its signal aborts, keeping the states already printed', async () => {
    const controller = new AbortController();
    // Aborted once the tap's last state is saved, while the tap hangs.
    const { result, saved, events } = await sinkPair({ FAKE_TAP_STATES: '3', FAKE_TAP_HANG: '1' }, { signal: controller.signal }, (value) => {
      if (value === '{"n":3}') controller.abort();
    });
    expect(result.ok).toBe(false);
    expect(result.failedStage).toBe('fake-tap');
    expect(result.error).toMatch(/stopped before fake-tap finished/);
    expect(events[0]).toBe('SIGTERM');
    expect(saved.at(-1)).toBe('{"n":3}');
  });
});
