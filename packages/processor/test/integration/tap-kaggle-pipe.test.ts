import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { type KaggleStandIn, startKaggleStandIn } from '../../../../scripts/devkit/src/kaggle-stand-in';
import { writeKaggleZip } from '../../../../scripts/devkit/src/sample-dataset';
import { defaultKey, listKeys, readText, s3Env, testClient, uniqueBucket, writeConfig } from './helpers';

// Spawns both built executables: `npx tsc -b packages/tap-kaggle packages/processor` first.
const ROOT = join(__dirname, '..', '..', '..', '..');
const TAP_BIN = join(ROOT, 'packages', 'tap-kaggle', 'bin', 'tap-kaggle.js');
const PROCESSOR_BIN = join(ROOT, 'packages', 'processor', 'bin', 'processor.js');
const FIXTURES = join(__dirname, '..', 'fixtures');
const USERNAME = 'pipe-user';
const KEY = 'pipe-key-0123456789';

describe('tap-kaggle | processor', () => {
  let standIn: KaggleStandIn;
  let scratch: string;
  let client: S3Client;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'processor-pipe-'));
    const zip = await writeKaggleZip(join(FIXTURES, 'olist-raw'), join(scratch, 'brazilian-ecommerce.zip'));
    standIn = await startKaggleStandIn({
      datasets: { 'olistbr/brazilian-ecommerce': { versions: { 1: zip.path } } },
      username: USERNAME,
      key: KEY,
    });
    client = testClient();
  });

  afterAll(async () => {
    client.destroy();
    await standIn.stop();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('turns the Kaggle download into the cleaned CSV objects the original pipeline made, byte for byte', async () => {
    const bucket = uniqueBucket('pipe');
    const env = { PATH: process.env.PATH, HOME: scratch, KAGGLE_USERNAME: USERNAME, KAGGLE_KEY: KEY, ...s3Env() };
    // The pipeline's own configs, with only the API and the bucket pointed at the test's.
    const tap = spawn(
      process.execPath,
      [TAP_BIN, '-c', join(ROOT, 'singer-config', 'tap-kaggle.json'), '-c', writeConfig({ api_base_url: standIn.baseUrl.rpc })],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const processor = spawn(
      process.execPath,
      [PROCESSOR_BIN, '-c', join(ROOT, 'singer-config', 'processor.json'), '-c', writeConfig({ bucket })],
      { env, stdio: [tap.stdout, 'pipe', 'pipe'] },
    );
    let tapLog = '';
    let processorLog = '';
    let stateOut = '';
    tap.stderr.on('data', (chunk: Buffer) => (tapLog += chunk.toString()));
    processor.stderr.on('data', (chunk: Buffer) => (processorLog += chunk.toString()));
    processor.stdout.on('data', (chunk: Buffer) => (stateOut += chunk.toString()));
    const [[tapCode], [processorCode]] = (await Promise.all([once(tap, 'exit'), once(processor, 'exit')])) as [
      [number | null],
      [number | null],
    ];
    expect(tapLog).not.toContain('ERROR');
    expect(processorLog).not.toContain('ERROR');
    expect([tapCode, processorCode]).toEqual([0, 0]);
    // The tap's dataset-version bookmark, printed once every object is in place.
    const states = stateOut.trim().split('\n');
    expect(states).toHaveLength(1);
    expect(JSON.parse(states[0]!)).toEqual(expect.objectContaining({ bookmarks: expect.any(Object) }));
    const streams = ['customers', 'order_items', 'orders', 'products'];
    expect(await listKeys(client, bucket)).toEqual(streams.map((s) => defaultKey(s)).sort());
    for (const stream of streams) {
      const expected = readFileSync(join(FIXTURES, 'olist-expected', `${stream}.csv`), 'utf8');
      expect(await readText(client, bucket, defaultKey(stream))).toBe(expected);
    }
  });
});
