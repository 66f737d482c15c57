import { randomBytes } from 'node:crypto';

import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

import { copyObject } from '../../src/s3-objects';
import { createBucket, listKeys, readObject, testClient, uniqueBucket } from './helpers';

/** A real S3 client that records the name of each command S3 answered. */
function observedClient(events: string[]): S3Client {
  const observed = testClient();
  observed.middlewareStack.add(
    (next, context) => async (args) => {
      const out = await next(args);
      events.push(context.commandName ?? '');
      return out;
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return observed;
}

describe('copying a staging object to its final key', () => {
  // More than one 20 MiB part of the streamed copy, and bytes that no text encoding would keep.
  const body = randomBytes(25 * 1024 * 1024);

  it('copies on the server when CopyObject allows the size', async () => {
    const bucket = uniqueBucket('copy');
    const events: string[] = [];
    const client = observedClient(events);
    await createBucket(client, bucket);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'from/a.csv', Body: body.subarray(0, 1024) }));
    await copyObject(client, bucket, 'from/a.csv', 'to/a.csv');
    expect(events).toContain('CopyObjectCommand');
    expect((await readObject(client, bucket, 'to/a.csv')).equals(body.subarray(0, 1024))).toBe(true);
    client.destroy();
  });

  it('streams an object larger than CopyObject allows through a multipart upload, byte for byte', async () => {
    const bucket = uniqueBucket('copybig');
    const events: string[] = [];
    const client = observedClient(events);
    await createBucket(client, bucket);
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'from/big.csv', Body: body }));
    await copyObject(client, bucket, 'from/big.csv', 'to/big.csv', body.length - 1);
    expect(events).not.toContain('CopyObjectCommand');
    expect(events.filter((e) => e === 'UploadPartCommand')).toHaveLength(2);
    expect(events).toContain('CompleteMultipartUploadCommand');
    expect(await listKeys(client, bucket)).toEqual(['from/big.csv', 'to/big.csv']);
    expect((await readObject(client, bucket, 'to/big.csv')).equals(body)).toBe(true);
    client.destroy();
  });
});
