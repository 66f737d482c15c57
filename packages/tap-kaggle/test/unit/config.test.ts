import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ConfigError, loadConfig } from '@singer-ts/singer';

import { configSchema, normalizeConfig, type TapKaggleConfig } from '../../src/config';

describe('tap-kaggle config', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tap-kaggle-config-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function load(config: Record<string, unknown>): Promise<TapKaggleConfig> {
    const path = join(dir, `c-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(path, JSON.stringify(config));
    return loadConfig({ paths: [path], schema: configSchema, normalize: normalizeConfig, environment: {} });
  }

  it('fills defaults: rpc flavour with its base URL, every CSV, sample of 1000', async () => {
    const config = await load({ dataset: 'olistbr/brazilian-ecommerce' });
    expect(config).toMatchObject({
      dataset: { owner: 'olistbr', slug: 'brazilian-ecommerce', ref: 'olistbr/brazilian-ecommerce' },
      apiFlavor: 'rpc',
      apiBaseUrl: 'https://api.kaggle.com/v1',
      files: undefined,
      streamNames: {},
      sampleSize: 1000,
      delimiter: ',',
      datasetVersion: undefined,
    });
  });

  it('uses the rest base URL for the rest flavour unless one is given', async () => {
    expect((await load({ dataset: 'a/b', api_flavor: 'rest' })).apiBaseUrl).toBe('https://www.kaggle.com/api/v1');
    expect((await load({ dataset: 'a/b', api_flavor: 'rest', api_base_url: 'http://127.0.0.1:1/api/v1' })).apiBaseUrl).toBe(
      'http://127.0.0.1:1/api/v1',
    );
  });

  it('names every bad key at once', async () => {
    const error = (await load({ dataset: 'no-slash', api_flavor: 'grpc', sample_size: 0, colour: 'red' }).catch((e: unknown) => e)) as ConfigError;
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.problems.join('\n')).toMatch(/dataset/);
    expect(error.problems.join('\n')).toMatch(/api_flavor/);
    expect(error.problems.join('\n')).toMatch(/sample_size/);
    expect(error.problems.join('\n')).toMatch(/colour/);
  });

  it('requires the dataset', async () => {
    await expect(load({})).rejects.toThrow(/missing required key "dataset"/);
  });

  it('accepts files as a list, a JSON string or a comma-separated string', async () => {
    expect((await load({ dataset: 'a/b', files: ['x.csv', '*.csv'] })).files).toEqual(['x.csv', '*.csv']);
    expect((await load({ dataset: 'a/b', files: '["x.csv","y.csv"]' })).files).toEqual(['x.csv', 'y.csv']);
    expect((await load({ dataset: 'a/b', files: 'x.csv, y.csv' })).files).toEqual(['x.csv', 'y.csv']);
  });

  it('accepts stream_names as an object or a JSON string', async () => {
    expect((await load({ dataset: 'a/b', stream_names: { 'x.csv': 'x1' } })).streamNames).toEqual({ 'x.csv': 'x1' });
    expect((await load({ dataset: 'a/b', stream_names: '{"x.csv":"x1"}' })).streamNames).toEqual({ 'x.csv': 'x1' });
    await expect(load({ dataset: 'a/b', stream_names: 'x.csv=x1' })).rejects.toThrow(/stream_names/);
  });

  it('refuses two files mapped to one stream name', async () => {
    await expect(load({ dataset: 'a/b', stream_names: { 'x.csv': 's', 'y.csv': 's' } })).rejects.toThrow(/stream name "s"/);
  });

  it('takes a version from dataset_version or from owner/slug/versions/N', async () => {
    expect((await load({ dataset: 'a/b', dataset_version: 3 })).datasetVersion).toBe(3);
    expect((await load({ dataset: 'a/b', dataset_version: '4' })).datasetVersion).toBe(4);
    expect((await load({ dataset: 'a/b/versions/5' })).datasetVersion).toBe(5);
    await expect(load({ dataset: 'a/b/versions/5', dataset_version: 6 })).rejects.toThrow(/pins version 5/);
    await expect(load({ dataset: 'a/b', dataset_version: 0 })).rejects.toThrow(/dataset_version/);
  });

  it('refuses a username without a key', async () => {
    await expect(load({ dataset: 'a/b', username: 'alice' })).rejects.toThrow(/"username" is set without "key"/);
  });

  it('marks the key and the API token secret', () => {
    const properties = configSchema.properties ?? {};
    expect(properties.key?.secret).toBe(true);
    expect(properties.api_token?.secret).toBe(true);
    expect(properties.username?.secret).toBeUndefined();
  });
});
