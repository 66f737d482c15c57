import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

import {
  CopyObjectCommand,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  type S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { ConfigError, LoadError } from '@singer-ts/singer';

import { MIN_PART_SIZE } from './csv-object-writer';
import { MultipartUploadStream } from './multipart-upload-stream';

const HINT = 'Check the S3 endpoint, credentials and permissions; the run can be repeated';

function statusOf(error: unknown): number | undefined {
  return error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
}

/** What S3 said, readable even for bodiless answers (HEAD requests carry no error text). */
function describeS3Error(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = statusOf(error);
  const known = error.name !== 'Unknown' && error.message !== 'UnknownError';
  if (known) return status ? `HTTP ${status} ${error.name}: ${error.message}` : `${error.name}: ${error.message}`;
  if (status === 403) return 'HTTP 403: access denied; check the credentials and the bucket policy';
  if (status === 301 || status === 400) return `HTTP ${status}: check the region and endpoint`;
  return status ? `HTTP ${status}` : error.message;
}

function s3Error(what: string, error: unknown): LoadError {
  return new LoadError(`${what} failed (${describeS3Error(error)})`, { cause: error, code: 'S3_REQUEST_FAILED', hint: HINT });
}

/** Makes sure the bucket exists, creating it when allowed; a missing bucket otherwise is a config error. */
export async function ensureBucket(client: S3Client, bucket: string, create: boolean): Promise<'exists' | 'created'> {
  try {
    await client.send(new HeadBucketCommand({ Bucket: bucket }));
    return 'exists';
  } catch (error) {
    if (statusOf(error) !== 404) throw s3Error(`checking bucket ${JSON.stringify(bucket)}`, error);
  }
  if (!create) {
    throw new ConfigError(`bucket ${JSON.stringify(bucket)} does not exist`, {
      code: 'CONFIG_INVALID',
      hint: 'Create it, or set "create_bucket": true',
    });
  }
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    // Another writer may have created it in between: that is what we wanted.
    const name = error instanceof Error ? error.name : '';
    if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') {
      throw s3Error(`creating bucket ${JSON.stringify(bucket)}`, error);
    }
  }
  return 'created';
}

/** CopyObject's limit; larger objects are copied by streaming them through. */
export const MAX_COPY_BYTES = 5 * 1024 ** 3;

/**
 * Puts a finished staging object at its final key. A server-side copy where S3 allows one
 * (up to 5 GiB); beyond that, a streamed re-upload, which holds no more than a few parts.
 */
export async function copyObject(
  client: S3Client,
  bucket: string,
  from: string,
  to: string,
  maxCopyBytes = MAX_COPY_BYTES,
): Promise<void> {
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: from }));
    if ((head.ContentLength ?? 0) <= maxCopyBytes) {
      await client.send(
        new CopyObjectCommand({
          Bucket: bucket,
          Key: to,
          CopySource: `${bucket}/${from.split('/').map(encodeURIComponent).join('/')}`,
          MetadataDirective: 'COPY',
        }),
      );
      return;
    }
    const body = await openObject(client, bucket, from);
    await pipeline(
      body,
      new MultipartUploadStream({
        client,
        bucket,
        key: to,
        contentType: head.ContentType ?? 'application/octet-stream',
        partSize: MIN_PART_SIZE * 4,
        queueSize: 2,
      }),
    );
  } catch (error) {
    if (error instanceof LoadError) throw error;
    throw s3Error(`copying s3://${bucket}/${from} to ${to}`, error);
  }
}

/** An object's body as a Node stream. */
export async function openObject(client: S3Client, bucket: string, key: string): Promise<Readable> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return response.Body as Readable;
  } catch (error) {
    throw s3Error(`reading s3://${bucket}/${key}`, error);
  }
}

export async function deleteObject(client: S3Client, bucket: string, key: string): Promise<void> {
  try {
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  } catch (error) {
    throw s3Error(`deleting s3://${bucket}/${key}`, error);
  }
}
