import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const PACKAGE_DIR = join(__dirname, '..', '..');

/** The README's shell lines that run the tap (other lines, like the test command, are not run here). */
async function readmeCommands(): Promise<string[]> {
  const readme = await readFile(join(PACKAGE_DIR, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  return blocks.flatMap((block) => block.split('\n')).filter((line) => line.startsWith('tap-kaggle '));
}

describe('the README', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tap-kaggle-docs-'));
    // The examples' paths are relative to the package; `tap-kaggle` is the built executable.
    await symlink(join(PACKAGE_DIR, 'test'), join(dir, 'test'));
    const shim = join(dir, 'tap-kaggle');
    await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(PACKAGE_DIR, 'bin', 'tap-kaggle.js')}" "$@"\n`);
    await chmod(shim, 0o755);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('has shell examples that run as written', async () => {
    const commands = await readmeCommands();
    expect(commands.length).toBeGreaterThanOrEqual(2);
    for (const command of commands) {
      await promisify(execFile)('/bin/sh', ['-c', command], {
        cwd: dir,
        env: { PATH: `${dir}:${process.env.PATH ?? ''}`, HOME: dir },
      });
    }
    const catalog = JSON.parse(await readFile(join(dir, 'catalog.json'), 'utf8')) as { streams: Array<{ stream: string }> };
    expect(catalog.streams.map((s) => s.stream)).toEqual(['customers', 'orders']);
    const lines = (await readFile(join(dir, 'out.singer'), 'utf8')).trim().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as { type: string }).type)).toEqual([
      'SCHEMA',
      'RECORD',
      'RECORD',
      'RECORD',
      'STATE',
      'SCHEMA',
      'RECORD',
      'RECORD',
      'STATE',
      'STATE',
    ]);
    const units = (await readFile(join(dir, 'units.jsonl'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as unknown);
    expect(units).toEqual([
      { unit: 'olist_customers_dataset.csv', stream: 'customers', bytes: 352 },
      { unit: 'olist_orders_dataset.csv', stream: 'orders', bytes: 303 },
    ]);
    const readme = await readFile(join(PACKAGE_DIR, 'README.md'), 'utf8');
    expect(readme).toContain(JSON.stringify(units[0]));
    const unit = (await readFile(join(dir, 'unit.singer'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as { type: string; stream?: string; value?: unknown });
    expect(new Set(unit.filter((m) => m.type === 'RECORD').map((m) => m.stream))).toEqual(new Set(['orders']));
    expect(Object.keys((unit[unit.length - 1]?.value as { bookmarks: object }).bookmarks)).toEqual(['orders']);
  });
});
