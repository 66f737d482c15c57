import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runPair } from '../src/pipeline/run-pair';

async function pair(tapExit: number) {
  const dir = await mkdtemp(join(tmpdir(), 'run-pair-'));
  const logFile = join(dir, 'target.log');
  const stateFile = join(dir, 'state', 'state.json');
  const lines: string[] = [];
  const result = await runPair({
    tap: { name: 'fake-tap', bin: join(__dirname, 'fixtures', 'fake-tap.js'), args: [] },
    target: { name: 'fake-target', bin: join(__dirname, 'fixtures', 'fake-target.js'), args: [] },
    env: { ...process.env, FAKE_TAP_EXIT: String(tapExit), FAKE_TARGET_LOG: logFile },
    stateFile,
    log: (line) => lines.push(line),
  });
  return { result, events: (await readFile(logFile, 'utf8')).trim().split('\n'), state: await readFile(stateFile, 'utf8'), lines };
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
});
