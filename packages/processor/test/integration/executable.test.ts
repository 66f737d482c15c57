import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';

import type { S3Client } from '@aws-sdk/client-s3';

import { createBucket, listKeys, record, s3Env, schema, singer, state, testClient, uniqueBucket, writeConfig } from './helpers';

// Spawns the built executable: `npx tsc -b packages/processor` first (the root pretest does).
const BIN = join(__dirname, '..', '..', 'bin', 'processor.js');

function start(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcessWithoutNullStreams; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  return { child, out: () => stdout, err: () => stderr };
}

async function exitCode(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  const [code] = (await once(child, 'exit')) as [number | null];
  return code;
}

let client: S3Client;
beforeAll(() => {
  client = testClient();
});
afterAll(() => client.destroy());

describe('the processor executable', () => {
  it('on SIGTERM stops without printing a state and leaves no object', async () => {
    const bucket = uniqueBucket('sigterm');
    const config = writeConfig({ bucket, key_template: '{stream}.csv' });
    const run = start(['-c', config], { ...s3Env(), LOG_LEVEL: 'debug' });
    run.child.stdin.write(singer(schema('s', { a: { type: 'integer' } }), record('s', { a: 1 }), state({ n: 1 }), record('s', { a: 2 })));
    // The first record opens the staging upload; the input stays open, as a tap still running.
    while (!run.err().includes('staging at')) await once(run.child.stderr, 'data');
    run.child.kill('SIGTERM');
    expect(await exitCode(run.child)).toBe(143);
    expect(run.out()).toBe('');
    expect(run.err()).toContain('interrupted by SIGTERM');
    expect(await listKeys(client, bucket)).toEqual([]);
  });

  it('prints the last state value after writing the objects when its input ends', async () => {
    const bucket = uniqueBucket('exe');
    const run = start(['-c', writeConfig({ bucket, key_template: '{stream}.csv' })], s3Env());
    run.child.stdin.end(singer(schema('s', { a: { type: 'integer' } }), record('s', { a: 1 }), state({ n: 1 })));
    expect(await exitCode(run.child)).toBe(0);
    expect(run.out()).toBe('{"n":1}\n');
    expect(await listKeys(client, bucket)).toEqual(['s.csv']);
    expect(run.err()).not.toContain('NodeVersionSupportWarning');
  });

  it('names the S3 failure without showing the credentials', async () => {
    const bucket = uniqueBucket('badsecret');
    await createBucket(client, bucket);
    const secret = 'not-the-right-secret-0123456789';
    const keyId = 'UNKNOWNKEY0123456789';
    const run = start(['-c', writeConfig({ bucket })], {
      ...s3Env(),
      AWS_ACCESS_KEY_ID: keyId,
      AWS_SECRET_ACCESS_KEY: secret,
      LOG_LEVEL: 'debug',
    });
    run.child.stdin.end(singer(schema('s', { a: { type: 'integer' } }), record('s', { a: 1 })));
    expect(await exitCode(run.child)).toBe(1);
    expect(run.err()).toMatch(/ERROR .*bucket "proc-badsecret-[0-9a-f]+".* failed/);
    expect(run.err()).not.toContain(secret);
    expect(run.err()).not.toContain(keyId);
    expect(run.out()).toBe('');
  });

  it('describes its settings with --about without showing any value', async () => {
    const secret = 'about-secret-0123456789';
    const run = start(['--about'], { ...s3Env(), AWS_SECRET_ACCESS_KEY: secret, PROCESSOR_HASH_KEY: secret });
    run.child.stdin.end();
    expect(await exitCode(run.child)).toBe(0);
    const about = JSON.parse(run.out()) as { name: string; settings: { properties: Record<string, { secret?: boolean }> } };
    expect(about.name).toBe('processor');
    expect(about.settings.properties.hash_key?.secret).toBe(true);
    expect(run.out()).not.toContain(secret);
  });
});
