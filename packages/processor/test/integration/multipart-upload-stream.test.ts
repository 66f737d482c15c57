import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import { finished } from 'node:stream/promises';

import type { S3Client } from '@aws-sdk/client-s3';
import { Redactor, StderrLogger } from '@singer-ts/singer';

import { MIN_PART_SIZE } from '../../src/csv-object-writer';
import { MultipartUploadStream } from '../../src/multipart-upload-stream';
import { createBucket, listKeys, readObject, testClient, uniqueBucket } from './helpers';

let client: S3Client;
beforeAll(() => {
  client = testClient();
});
afterAll(() => client.destroy());

/** A real S3 client whose middleware may hold or alter requests, recording `Name:detail`. */
function instrumentedClient(
  events: string[],
  hook?: (command: string, input: Record<string, unknown>) => Promise<void> | void,
): S3Client {
  const instrumented = testClient();
  instrumented.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      const part = input.PartNumber === undefined ? '' : String(input.PartNumber as number);
      events.push(`${context.commandName}:${part}`);
      await hook?.(context.commandName ?? '', input);
      return next(args);
    },
    { step: 'initialize', name: 'instrument' },
  );
  return instrumented;
}

function upload(s3: S3Client, bucket: string, key: string, queueSize = 2): { stream: MultipartUploadStream; log: () => string } {
  const stderr = new PassThrough();
  let log = '';
  stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
  const stream = new MultipartUploadStream({
    client: s3,
    bucket,
    key,
    contentType: 'text/plain',
    partSize: MIN_PART_SIZE,
    queueSize,
    logger: new StderrLogger('debug', new Redactor(), stderr),
  });
  return { stream, log: () => log };
}

/** 64 KiB of text per line number, distinct per line so a misplaced byte shows. */
function text(line: number): string {
  return `${String(line).padStart(8, '0')}${'abcdefghijklmnop'.repeat(4096).slice(0, 64 * 1024 - 10)}\r\n`;
}

/** Writes `count` chunks honouring backpressure. */
async function writeAll(stream: MultipartUploadStream, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1) {
    if (!stream.write(text(i))) await once(stream, 'drain');
  }
}

describe('a multipart upload stream against a real S3 server', () => {
  it('stores what is written exactly, in parts of the part size, visible only once it ends', async () => {
    const bucket = uniqueBucket('mpu-exact');
    await createBucket(client, bucket);
    const events: string[] = [];
    const s3 = instrumentedClient(events);
    const { stream, log } = upload(s3, bucket, 'big.txt');
    // 2.5 parts, and one chunk that straddles a part boundary as multi-byte text.
    const chunks = 2.5 * 80;
    await writeAll(stream, chunks);
    const straddling = 'é'.repeat(3 * 1024 * 1024);
    stream.write(straddling);
    expect(await listKeys(client, bucket)).toEqual([]);
    stream.end();
    await finished(stream);
    s3.destroy();
    let expected = '';
    for (let i = 0; i < chunks; i += 1) expected += text(i);
    expected += straddling;
    const stored = await readObject(client, bucket, 'big.txt');
    expect(stored.length).toBe(Buffer.byteLength(expected));
    expect(stored.toString('utf8') === expected).toBe(true);
    expect(events.filter((e) => e.startsWith('UploadPartCommand'))).toEqual(
      ['1', '2', '3', '4'].map((n) => `UploadPartCommand:${n}`),
    );
    expect(events).toContain('CompleteMultipartUploadCommand:');
    expect(log()).toContain(`s3://${bucket}/big.txt: part 4 uploaded`);
    expect(stream.isComplete).toBe(true);
  });

  it('writes an object smaller than a part with one PutObject', async () => {
    const bucket = uniqueBucket('mpu-small');
    await createBucket(client, bucket);
    const events: string[] = [];
    const s3 = instrumentedClient(events);
    const { stream } = upload(s3, bucket, 'small.txt');
    stream.end('a,b\r\n1,2\r\n');
    await finished(stream);
    s3.destroy();
    expect(events).toEqual(['PutObjectCommand:']);
    expect((await readObject(client, bucket, 'small.txt')).toString('utf8')).toBe('a,b\r\n1,2\r\n');
  });

  it('holds no more than queueSize + 1 parts in memory while S3 is slow to take them', async () => {
    const bucket = uniqueBucket('mpu-slow');
    await createBucket(client, bucket);
    const events: string[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const s3 = instrumentedClient(events, async (command) => {
      if (command === 'UploadPartCommand') await held;
    });
    const queueSize = 2;
    const { stream } = upload(s3, bucket, 'slow.txt', queueSize);
    let accepted = 0;
    let waitingForDrain = false;
    const writing = (async () => {
      for (let i = 0; i < 6 * 80; i += 1) {
        accepted += 1;
        if (!stream.write(text(i))) {
          waitingForDrain = true;
          await once(stream, 'drain');
          waitingForDrain = false;
        }
      }
    })();
    // Until S3 answers, the writer must stall once the queue and the part being filled are full.
    // Stalled for good: waiting for 'drain' with queueSize parts held, and still so after a whole
    // turn of the event loop, in which nothing else is pending (the held parts do no I/O). No
    // clock is involved, so a slow machine cannot make this pass before the writer got there.
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const parts = (): number => events.filter((e) => e.startsWith('UploadPartCommand')).length;
    for (;;) {
      await turn();
      if (!waitingForDrain || parts() < queueSize) continue;
      const before = accepted;
      await turn();
      await turn();
      if (waitingForDrain && accepted === before) break;
    }
    const stalledAt = accepted;
    expect(stalledAt * 64 * 1024).toBeGreaterThan(queueSize * MIN_PART_SIZE);
    expect(stalledAt * 64 * 1024).toBeLessThanOrEqual((queueSize + 1) * MIN_PART_SIZE + 2 * 64 * 1024);
    expect(events.filter((e) => e.startsWith('UploadPartCommand'))).toHaveLength(queueSize);
    release();
    await writing;
    stream.end();
    await finished(stream);
    s3.destroy();
    expect((await readObject(client, bucket, 'slow.txt')).length).toBe(6 * 80 * 64 * 1024);
  });

  it("fails with S3's answer when a part is refused, aborts the multipart upload and stores nothing", async () => {
    const bucket = uniqueBucket('mpu-refused');
    await createBucket(client, bucket);
    const events: string[] = [];
    const s3 = instrumentedClient(events, (command, input) => {
      // A real refusal: S3 knows no such bucket.
      if (command === 'UploadPartCommand' && input.PartNumber === 2) input.Bucket = `${bucket}-missing`;
    });
    const { stream } = upload(s3, bucket, 'refused.txt');
    const outcome = (async () => {
      await writeAll(stream, 4 * 80);
      stream.end();
      await finished(stream);
    })();
    await expect(outcome).rejects.toMatchObject({ name: 'NoSuchBucket' });
    s3.destroy();
    expect(events).toContain('AbortMultipartUploadCommand:');
    expect(events).not.toContain('CompleteMultipartUploadCommand:');
    expect(stream.isComplete).toBe(false);
    expect(await listKeys(client, bucket)).toEqual([]);
  });

  it('aborts the multipart upload when destroyed and stores nothing', async () => {
    const bucket = uniqueBucket('mpu-destroy');
    await createBucket(client, bucket);
    const events: string[] = [];
    const s3 = instrumentedClient(events);
    const { stream } = upload(s3, bucket, 'destroyed.txt');
    await writeAll(stream, 2 * 80 + 1);
    stream.destroy(new Error('the run failed'));
    await expect(finished(stream)).rejects.toThrow('the run failed');
    s3.destroy();
    expect(events).toContain('CreateMultipartUploadCommand:');
    expect(events).toContain('AbortMultipartUploadCommand:');
    expect(events).not.toContain('CompleteMultipartUploadCommand:');
    expect(await listKeys(client, bucket)).toEqual([]);
  });
});
