import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { YOUNG_GENERATION_BYTES } from '../../src/launcher';

const LAUNCHER = join(__dirname, '..', '..', 'src', 'launcher.ts');

/** Runs `body` in a fresh Node.js as `launch()`'s start function, the launcher compiled from source. */
function runLaunched(body: string, nodeOptions: string[] = [], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const script = `
    const ts = require('typescript');
    const source = require('fs').readFileSync(${JSON.stringify(LAUNCHER)}, 'utf8');
    const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } });
    const m = { exports: {} };
    new Function('module', 'exports', 'require', outputText)(m, m.exports, require);
    m.exports.launch('test', () => { ${body} });
  `;
  const result = spawnSync(process.execPath, [...nodeOptions, '--eval', script], { encoding: 'utf8', timeout: 60_000, cwd: __dirname, env: { ...process.env, ...env } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * Allocates ~1.5 GB of short-lived objects a chunk at a time, letting the event loop turn between
 * chunks as a streaming connector does, then prints the young generation's size.
 */
const CHURN = `
  (async () => {
    let keep = [];
    for (let chunk = 0; chunk < 1500; chunk += 1) {
      for (let i = chunk * 1e4; i < (chunk + 1) * 1e4; i += 1) { const o = { a: 'x' + i, b: [i, i + 1] }; if (i % 1000 === 0) { keep.push(o); if (keep.length > 1000) keep = []; } }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const space = require('v8').getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(space.space_size));
  })();
`;

describe('launch', () => {
  it("holds V8's young generation at 16 MB on this Node.js line, whatever its own ceiling", () => {
    const result = runLaunched(CHURN);
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(Number(result.stdout)).toBeGreaterThan(YOUNG_GENERATION_BYTES / 4);
    expect(Number(result.stdout)).toBeLessThanOrEqual(YOUNG_GENERATION_BYTES);
  });

  it("turns on Node.js's compile cache before the executable's modules load, unless the user turned it off", () => {
    const dir = mkdtempSync(join(tmpdir(), 'compile-cache-'));
    try {
      const body = "const m = require('node:module'); process.stdout.write(typeof m.enableCompileCache !== 'function' ? 'unsupported' : (m.getCompileCacheDir() ?? 'off'))";
      // Not from the environment: the launcher turns it on, in its default place under TMPDIR.
      const env = { NODE_COMPILE_CACHE: undefined, TMPDIR: dir };
      const on = runLaunched(body, [], env);
      expect(on.status).toBe(0);
      if (on.stdout === 'unsupported') return;
      expect(on.stdout.startsWith(join(dir, 'node-compile-cache'))).toBe(true);
      expect(runLaunched(body, [], { ...env, NODE_DISABLE_COMPILE_CACHE: '1' }).stdout).toBe('off');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves the young generation alone when the user sized it', () => {
    // A ceiling above the launcher's: held at YOUNG_GENERATION_BYTES if the launcher ignored the
    // user, grown well past it (64 MB on Node 22 and 24, 53 MB on 26) when left alone. A ceiling
    // below it cannot tell the two apart, and V8 may round a small one up under load.
    const result = runLaunched(CHURN, ['--max-semi-space-size=64']);
    expect(result.status).toBe(0);
    expect(Number(result.stdout)).toBeGreaterThan(2 * YOUNG_GENERATION_BYTES);
  });
});
