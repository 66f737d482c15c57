import { spawn } from 'node:child_process';
import { join } from 'node:path';

import { type KaggleStandIn, startKaggleStandIn } from '../../../../scripts/devkit/src/kaggle-stand-in';
import { fixtureZip, KEY, Scratch, USERNAME } from './helpers';

const BIN = join(__dirname, '..', '..', 'bin', 'tap-kaggle.js');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the tap-kaggle executable', () => {
  let standIn: KaggleStandIn;
  let scratch: Scratch;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    standIn = await startKaggleStandIn({
      datasets: { 'olistbr/brazilian-ecommerce': { versions: { 1: await fixtureZip() } } },
      username: USERNAME,
      key: KEY,
    });
    scratch = await Scratch.create();
    // Credentials only from the environment, as docker-compose and Meltano pass them.
    env = { PATH: process.env.PATH, HOME: scratch.home, KAGGLE_USERNAME: USERNAME, KAGGLE_KEY: KEY };
  });

  afterAll(async () => {
    await standIn.stop();
    await scratch.remove();
  });

  it('syncs a dataset to stdout, logs only on stderr, with credentials from the environment', async () => {
    const config = await scratch.write('config.json', {
      dataset: 'olistbr/brazilian-ecommerce',
      api_base_url: standIn.baseUrl.rpc,
      files: ['olist_customers_dataset.csv'],
      stream_names: { 'olist_customers_dataset.csv': 'customers' },
      key_properties: { customers: ['customer_id'] },
    });
    const result = await run(['--config', config], env);
    expect(result.stderr).not.toContain('ERROR');
    expect(result.code).toBe(0);
    const messages = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(messages.map((m) => m.type)).toEqual(['SCHEMA', 'RECORD', 'RECORD', 'RECORD', 'STATE', 'STATE']);
    expect(messages[0]).toMatchObject({ stream: 'customers', key_properties: ['customer_id'] });
    expect(result.stderr).toContain('HTTP Basic as kaggle-user from KAGGLE_USERNAME + KAGGLE_KEY');
    expect(result.stderr).toMatch(/METRIC: \{"type":"counter","metric":"record_count","value":3,"tags":\{"stream":"customers"\}\}/);
    expect(result.stderr).not.toContain(KEY);
  });

  it('describes itself with --about without any secret value', async () => {
    const result = await run(['--about', '--format', 'json'], env);
    expect(result.code).toBe(0);
    const about = JSON.parse(result.stdout) as { name: string; capabilities: string[]; settings: { properties: Record<string, { secret?: boolean }> } };
    expect(about.name).toBe('tap-kaggle');
    expect(about.capabilities).toEqual(['catalog', 'discover', 'state', 'about']);
    expect(about.settings.properties.key?.secret).toBe(true);
    expect(result.stdout).not.toContain(KEY);
  });

  it('exits non-zero with one clear line for a bad config', async () => {
    const config = await scratch.write('bad.json', { dataset: 'not a dataset', api_flavor: 'soap' });
    const result = await run(['-c', config], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/dataset/);
    expect(result.stderr).toMatch(/api_flavor/);
  });
});
