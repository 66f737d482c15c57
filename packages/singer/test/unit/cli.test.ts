import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { runTargetInProcess } from '../../src/testing';
import { MemoryTarget, memoryTargetSpec, newStore } from '../support/memory-connectors';

async function configFile(config: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'singer-cli-'));
  const path = join(dir, 'config.json');
  await writeFile(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

const runWith = (args: string[], env: NodeJS.ProcessEnv = {}, input = '') =>
  runTargetInProcess(memoryTargetSpec, (c, ctx) => new MemoryTarget(c, ctx, newStore()), input, { args, env });

describe('the connector harness', () => {
  it('prints --about as JSON with the settings schema and never a secret value', async () => {
    const result = await runWith(['--about', '--format=json', '-c', await configFile({ api_key: 'hunter2-secret' })]);
    expect(result.exitCode).toBe(0);
    const about = result.output[0] as Record<string, unknown>;
    expect(about.name).toBe('target-memory');
    expect(about.version).toBe('1.2.3');
    expect(about.capabilities).toEqual(['about']);
    expect(JSON.stringify(about)).not.toContain('hunter2');
    expect((about.settings as { properties: Record<string, unknown> }).properties.api_key).toMatchObject({ secret: true });
  });

  it('prints --about as a markdown settings table', async () => {
    const result = await runWith(['--about', '--format', 'markdown']);
    expect(result.output[0]).toMatch(/\| api_key \|  \| string \| yes \| `MEMORY_API_KEY` \| a secret \|/);
  });

  it('prints the version with --version', async () => {
    const result = await runWith(['--version']);
    expect(result.output[0]).toBe('target-memory 1.2.3\n');
  });

  it('names every bad key at once and exits non-zero', async () => {
    const result = await runWith(['-c', await configFile({ batch_size_rows: 'many', validate_records: 'yes', bogus: 1 })]);
    expect(result.exitCode).toBe(1);
    expect(result.logs).toContain('key "batch_size_rows" must be integer');
    expect(result.logs).toContain('key "validate_records" must be boolean');
    expect(result.logs).toContain('unknown key "bogus"');
    expect(result.logs.trim().split('\n')).toHaveLength(1);
  });

  it('names a missing or malformed config file', async () => {
    const missing = await runWith(['-c', '/nonexistent/config.json']);
    expect(missing.logs).toMatch(/file "\/nonexistent\/config.json": config file does not exist/);
    const broken = await runWith(['-c', await configFile('{"a": ')]);
    expect(broken.logs).toMatch(/config file is not valid JSON/);
  });

  it('takes a missing key from the environment, converted to its type', async () => {
    const input = '{"type":"SCHEMA","stream":"s","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":[]}\n';
    const result = await runWith(['-c', await configFile({})], { MEMORY_BATCH_SIZE: 'x' }, input);
    expect(result.logs).toContain('key "batch_size_rows" must be integer');
    const ok = await runWith(['-c', await configFile({})], { MEMORY_BATCH_SIZE: '5' }, input);
    expect(ok.exitCode).toBe(0);
  });

  it('keeps secrets out of every log line, errors included', async () => {
    const input = '{"type":"RECORD","stream":"nope","record":{"k":"hunter2-secret"}}\n';
    const result = await runWith(['-c', await configFile({})], { MEMORY_API_KEY: 'hunter2-secret', LOG_LEVEL: 'debug' }, input);
    expect(result.exitCode).toBe(1);
    expect(result.logs).not.toContain('hunter2-secret');
  });

  it('hides the stack trace unless the log level is debug', async () => {
    const input = '{"type":"RECORD","stream":"nope","record":{}}\n';
    const quiet = await runWith(['-c', await configFile({})], {}, input);
    expect(quiet.logs).not.toMatch(/\n\s+at /);
    const loud = await runWith(['-c', await configFile({}), '--log-level', 'debug'], {}, input);
    expect(loud.logs).toMatch(/\n\s+at /);
  });
});
