import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { MIN_NODE_MAJOR, unsupportedNodeMessage } from '@singer-ts/singer/launcher';

const ROOT = resolve(__dirname, '..', '..', '..');
const PACKAGES = ['singer', 'tap-kaggle', 'processor', 'tap-minio-csv', 'target-postgres'];
const EXECUTABLES = ['tap-kaggle', 'processor', 'tap-minio-csv', 'target-postgres'];

/** Runs a script as if on Node.js `version`: a preload changes what `process.versions` says. */
function runAs(version: string, script: string, args: string[] = []) {
  const preload = `Object.defineProperty(process.versions, 'node', { value: ${JSON.stringify(version)} });`;
  return spawnSync(process.execPath, ['--eval', `${preload} require(${JSON.stringify(script)});`, '--', ...args], {
    encoding: 'utf8',
    env: { ...process.env, npm_lifecycle_event: 'start' },
    input: '',
    timeout: 60_000,
  });
}

describe('supported Node.js lines', () => {
  it('are 22 and newer, in every manifest', () => {
    expect(MIN_NODE_MAJOR).toBe(22);
    for (const dir of ['.', 'scripts/devkit', ...PACKAGES.map((p) => `packages/${p}`)]) {
      const manifest = JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { engines?: { node?: string } };
      expect({ dir, engines: manifest.engines?.node }).toEqual({ dir, engines: `>=${MIN_NODE_MAJOR}` });
    }
  });

  it('names the running version and what to do on an older line, nothing on a supported one', () => {
    expect(unsupportedNodeMessage('target-postgres', '20.19.5')).toMatch(
      /^target-postgres needs Node\.js 22 or newer \(22, 24 or 26\); this is Node\.js 20\.19\.5 \(.+\)\. Install a supported Node\.js and run it again\.$/,
    );
    for (const version of ['22.0.0', '24.11.1', '26.1.0', '27.0.0']) expect(unsupportedNodeMessage('x', version)).toBeUndefined();
  });

  it.each(EXECUTABLES)('%s refuses Node.js 20 in one line, before loading the connector', (name) => {
    const bin = join(ROOT, 'packages', name, 'bin', `${name}.js`);
    const result = runAs('20.19.5', bin, ['--version']);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `${unsupportedNodeMessage(name, '20.19.5')}\n`,
    });
  });

  it('npm start refuses Node.js 20 in one line', () => {
    const result = runAs('20.19.5', join(ROOT, 'scripts', 'devkit', 'dist', 'run-pipeline.js'), ['--help']);
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({
      status: 1,
      stdout: '',
      stderr: `${unsupportedNodeMessage('npm start', '20.19.5')}\n`,
    });
  });

  it.each(EXECUTABLES)('%s runs on this Node.js', (name) => {
    const result = spawnSync(process.execPath, [join(ROOT, 'packages', name, 'bin', `${name}.js`), '--version'], { encoding: 'utf8', timeout: 60_000 });
    expect({ status: result.status, stderr: result.stderr }).toEqual({ status: 0, stderr: '' });
    expect(result.stdout).toMatch(new RegExp(`^${name} \\d+\\.\\d+\\.\\d+`));
  });
});
