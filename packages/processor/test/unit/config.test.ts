import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError, loadConfig } from '@singer-ts/singer';

import { CONFIG_ENV, CONFIG_SCHEMA, normalizeConfig, type ProcessorConfig } from '../../src/config';
import { DEFAULT_KEY_TEMPLATE } from '../../src/key-template';

const OLIST_CONFIG = join(__dirname, '..', '..', '..', '..', 'singer-config', 'processor.json');

function problemsOf(raw: Record<string, unknown>): string[] {
  try {
    normalizeConfig(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).problems];
  }
  throw new Error('expected a ConfigError');
}

async function load(env: NodeJS.ProcessEnv, path = OLIST_CONFIG): Promise<ProcessorConfig> {
  return loadConfig({ paths: [path], schema: CONFIG_SCHEMA, env: CONFIG_ENV, environment: env, normalize: normalizeConfig });
}

describe('processor config', () => {
  it('applies the defaults', () => {
    const config = normalizeConfig({ bucket: 'b' });
    expect(config).toMatchObject({
      bucket: 'b',
      region: 'us-east-1',
      createBucket: true,
      keyTemplate: DEFAULT_KEY_TEMPLATE,
      compression: 'none',
      endpointUrl: undefined,
      hashKey: undefined,
    });
  });

  it('loads the Olist config with S3 settings from the environment', async () => {
    const config = await load({
      AWS_ENDPOINT_URL_S3: 'http://minio:9000',
      AWS_ACCESS_KEY_ID: 'id',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_REGION: 'sa-east-1',
    });
    expect(config).toMatchObject({ endpointUrl: 'http://minio:9000', accessKeyId: 'id', secretAccessKey: 'secret', region: 'sa-east-1' });
    expect(config.rules.customers!.customer_city).toEqual([{ name: 'titlecase' }]);
    expect(config.rules.products!.product_weight_g).toEqual([{ name: 'fill_null', argument: -1 }, { name: 'integer' }]);
    expect(Object.keys(config.rules)).toEqual(['customers', 'orders', 'order_items', 'products']);
  });

  it('names every bad step at once, with its path', () => {
    const problems = problemsOf({
      bucket: 'b',
      rules: {
        customers: { customer_city: ['trim', 'titelcase'], customer_state: [{ uppercase: true }] },
        products: { product_weight_g: ['fill_null', { fill_null: null }], product_id: [{ a: 1, b: 2 }] },
      },
    });
    expect(problems).toEqual([
      expect.stringMatching(/^rules\.customers\.customer_city\[1\]: unknown step "titelcase" \(known: trim, /),
      'rules.customers.customer_state[0]: step "uppercase" takes no argument; write it as "uppercase"',
      expect.stringMatching(/^rules\.products\.product_weight_g\[0\]: step "fill_null" needs an argument/),
      expect.stringMatching(/^rules\.products\.product_weight_g\[1\]: step "fill_null" needs a string, number or boolean/),
      expect.stringMatching(/^rules\.products\.product_id\[0\]: a step is a name/),
    ]);
  });

  it('accepts a single step without the list', () => {
    expect(normalizeConfig({ bucket: 'b', rules: { s: { c: 'uppercase' } } }).rules.s!.c).toEqual([{ name: 'uppercase' }]);
  });

  it('refuses "hash" without a key and takes the key from PROCESSOR_HASH_KEY', async () => {
    expect(problemsOf({ bucket: 'b', rules: { s: { email: ['hash'] } } })).toEqual([
      'rules.s.email: step "hash" needs a key: set "hash_key" in the config or PROCESSOR_HASH_KEY',
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'processor-config-'));
    try {
      const path = join(dir, 'config.json');
      writeFileSync(path, JSON.stringify({ bucket: 'b', rules: { s: { email: ['hash'] } } }));
      const config = await load({ PROCESSOR_HASH_KEY: 'k3y' }, path);
      expect(config.hashKey).toBe('k3y');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses "drop" combined with other steps', () => {
    expect(problemsOf({ bucket: 'b', rules: { s: { c: ['trim', 'drop'] } } })).toEqual([
      'rules.s.c: "drop" removes the column, so it must be the column\'s only step',
    ]);
  });

  it('refuses an unknown key_template variable together with rule problems', () => {
    const problems = problemsOf({ bucket: 'b', key_template: '{stream}/{date}.csv', rules: { s: { c: ['nope'] } } });
    expect(problems).toHaveLength(2);
    expect(problems[1]).toContain('unknown variable {date}');
  });

  it('marks credentials and the hash key secret', () => {
    const secret = Object.entries(CONFIG_SCHEMA.properties!)
      .filter(([, p]) => p.secret === true)
      .map(([k]) => k);
    expect(secret).toEqual(['aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'hash_key']);
  });
});
