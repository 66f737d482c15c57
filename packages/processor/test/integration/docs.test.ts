import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { CONFIG_SCHEMA } from '../../src/config';
import { STEP_NAMES } from '../../src/rules';
import { humanize, titlecase } from '../../src/rules/text';
import { readText, s3Env, testClient } from './helpers';

const PACKAGE_DIR = join(__dirname, '..', '..');

async function readme(): Promise<string> {
  return readFile(join(PACKAGE_DIR, 'README.md'), 'utf8');
}

describe('the README', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'processor-docs-'));
    const shim = join(dir, 'processor');
    await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(PACKAGE_DIR, 'bin', 'processor.js')}" "$@"\n`);
    await chmod(shim, 0o755);
  });

  afterAll(async () => {
    await rm(join(PACKAGE_DIR, 'state.json'), { force: true });
    await rm(join(PACKAGE_DIR, 'settings.md'), { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('has shell examples that run as written (the S3 settings from the test server)', async () => {
    const blocks = [...(await readme()).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const commands = blocks.flatMap((block) => block.split('\n')).filter((line) => line.startsWith('processor '));
    expect(commands).toHaveLength(2);
    for (const command of commands) {
      await promisify(execFile)('/bin/sh', ['-c', command], {
        cwd: PACKAGE_DIR,
        env: { PATH: `${dir}:${process.env.PATH ?? ''}`, HOME: dir, ...s3Env() },
      });
    }
    expect((await readFile(join(PACKAGE_DIR, 'state.json'), 'utf8')).trim().split('\n').pop()).toBe(
      '{"bookmarks":{"olistbr/brazilian-ecommerce":{"version":3}}}',
    );
    expect(await readFile(join(PACKAGE_DIR, 'settings.md'), 'utf8')).toContain('| hash_key |');
    const client = testClient();
    try {
      for (const stream of ['customers', 'orders', 'order_items', 'products']) {
        const expected = await readFile(join(PACKAGE_DIR, 'test', 'fixtures', 'olist-expected', `${stream}.csv`), 'utf8');
        expect(await readText(client, 'processor-readme-example', `example/${stream}.csv`)).toBe(expected);
      }
    } finally {
      client.destroy();
    }
  });

  it('documents every config key and every step', async () => {
    const text = await readme();
    for (const key of Object.keys(CONFIG_SCHEMA.properties ?? {})) expect(text).toContain(`| \`${key}\` |`);
    for (const step of STEP_NAMES) expect(text).toContain(`| \`${step}\` |`);
  });

  it("shows titlecase's examples as the step gives them", async () => {
    const section = (await readme()).split('| input | `titlecase` | Python `titleize` |')[1]?.split('\n\n')[0] ?? '';
    const rows = section.split('\n').filter((line) => line.startsWith('| `'));
    expect(rows.length).toBeGreaterThanOrEqual(8);
    const ctx = { stream: 'docs', column: 'docs' };
    for (const row of rows) {
      const [inputs, outputs] = row.split('|').slice(1, 3).map((cell) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]));
      expect(inputs!.length).toBe(outputs!.length);
      inputs!.forEach((input, i) => expect(titlecase(input, ctx)).toBe(outputs![i]));
    }
    expect(humanize('cama_mesa_banho', ctx)).toBe('Cama mesa banho');
  });
});
