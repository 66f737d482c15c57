import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { Client } from 'pg';

import { CONFIG_ENV, CONFIG_SCHEMA } from '../../src/config';
import { connect, databaseUrl, select } from './helpers';

const PACKAGE_DIR = join(__dirname, '..', '..');

function readme(): Promise<string> {
  return readFile(join(PACKAGE_DIR, 'README.md'), 'utf8');
}

describe('the README', () => {
  let dir: string;
  let client: Client;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'target-postgres-docs-'));
    const shim = join(dir, 'target-postgres');
    await writeFile(shim, `#!/bin/sh\nexec "${process.execPath}" "${join(PACKAGE_DIR, 'bin', 'target-postgres.js')}" "$@"\n`);
    await chmod(shim, 0o755);
    client = await connect();
    await client.query('DROP SCHEMA IF EXISTS readme_example CASCADE');
  });

  afterAll(async () => {
    await client.query('DROP SCHEMA IF EXISTS readme_example CASCADE');
    await client.end();
    await rm(join(PACKAGE_DIR, 'state.json'), { force: true });
    await rm(join(PACKAGE_DIR, 'settings.md'), { force: true });
    await rm(dir, { recursive: true, force: true });
  });

  it('has shell examples that run as written (the connection from the test server)', async () => {
    const blocks = [...(await readme()).matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
    const commands = blocks.flatMap((block) => block.split('\n')).filter((line) => line.startsWith('target-postgres '));
    expect(commands).toHaveLength(2);
    // The README's `export PG…` line shows the shape; the test server's values stand in for it.
    const url = new URL(databaseUrl());
    const env = {
      PATH: `${dir}:${process.env.PATH ?? ''}`,
      HOME: dir,
      PGHOST: url.hostname,
      PGPORT: url.port,
      PGUSER: decodeURIComponent(url.username),
      PGPASSWORD: decodeURIComponent(url.password),
      PGDATABASE: url.pathname.slice(1),
    };
    for (const command of commands) await promisify(execFile)('/bin/sh', ['-c', command], { cwd: PACKAGE_DIR, env });
    expect((await readFile(join(PACKAGE_DIR, 'state.json'), 'utf8')).trim().split('\n').pop()).toBe('{"step":2}');
    expect(await select(client, 'SELECT id, name FROM readme_example.people ORDER BY id')).toEqual([
      { id: '1', name: 'Ana Maria Souza' },
      { id: '2', name: 'Bia' },
      { id: '3', name: 'Caio' },
      { id: '4', name: 'Davi' },
    ]);
    expect(await readFile(join(PACKAGE_DIR, 'settings.md'), 'utf8')).toContain('default_target_schema');
  });

  it('documents every config key with its environment variable', async () => {
    const text = await readme();
    for (const key of Object.keys(CONFIG_SCHEMA.properties ?? {})) expect(text).toContain(`| \`${key}\` |`);
    for (const [key, names] of Object.entries(CONFIG_ENV)) {
      for (const name of names) expect(text).toContain(`| \`${key}\` | \`${name}\` |`);
    }
  });
});
