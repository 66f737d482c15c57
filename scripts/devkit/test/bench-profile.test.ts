import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { formatProfile, summarizeProfile } from '../src/bench/profile';

const frame = (functionName: string, url = ''): { functionName: string; url: string; lineNumber: number } => ({ functionName, url, lineNumber: 0 });

describe('the CPU profile summary of the benchmarks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bench-profile-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sums self time into stages and per-record microseconds', async () => {
    const nodes = [
      { id: 1, callFrame: frame('(idle)') },
      { id: 2, callFrame: frame('encodeScanned', '/x/packages/target-postgres/dist/copy-encoder.js') },
      { id: 3, callFrame: frame('(garbage collector)') },
      { id: 4, callFrame: frame('parseExactJson', '/x/packages/singer/dist/exact-json.js') },
      { id: 5, callFrame: frame('mystery', '/x/elsewhere.js') },
    ];
    // Samples 1 ms apart: 3 ms idle, 2 ms encoding, 1 ms each of the rest.
    const samples = [1, 1, 1, 2, 2, 3, 4, 5];
    const file = join(dir, 'p.cpuprofile');
    await writeFile(file, JSON.stringify({ nodes, samples, timeDeltas: samples.map(() => 1000), startTime: 0, endTime: 8000 }));
    const summary = await summarizeProfile(file);
    expect(summary.totalSeconds).toBeCloseTo(0.008, 9);
    expect(summary.stages.get('waiting (idle)')).toBeCloseTo(0.003, 9);
    expect(summary.stages.get('encoding COPY rows')).toBeCloseTo(0.002, 9);
    expect(summary.stages.get('garbage collection')).toBeCloseTo(0.001, 9);
    expect(summary.stages.get('parsing JSON (generic path)')).toBeCloseTo(0.001, 9);
    expect(summary.stages.get('other')).toBeCloseTo(0.001, 9);
    const text = formatProfile(summary, 1000);
    // 2 ms over 1,000 records is 2 µs each; busy is all but the 3 ms idle.
    expect(text).toMatch(/^ +2\.00 +0\.00 +encoding COPY rows$/m);
    expect(text).toMatch(/^ +5\.00 +0\.01 +busy in all/m);
  });
});
