import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

import { replaceFile } from './replace-file';
import type { PipelineStages } from './stages';

/**
 * A fingerprint of everything stage 2 (`tap-minio-csv | target-postgres`) reads: every object
 * of the bucket (key, size, ETag, time), the two programs' config files, tap-minio-csv's state
 * and where the target loads to. When it equals the one saved after the last stage 2 that
 * succeeded, that stage would find nothing new to load, and `npm start` leaves it out.
 * Undefined when the bucket cannot be listed (then stage 2 runs).
 */
export async function loadInputsFingerprint(pipeline: PipelineStages, env: NodeJS.ProcessEnv, stateFile: string): Promise<string | undefined> {
  const { tap, target } = pipeline.stages[2];
  const hash = createHash('sha256');
  const add = (label: string, value: string): void => void hash.update(`${label}\u0000${value}\u0000`);
  for (const path of [...tap.configs, ...target.configs]) add(`config ${path}`, await readFile(path, 'utf8'));
  add('state', await readFile(stateFile, 'utf8').catch(() => ''));
  for (const name of ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL', 'PGHOST', 'PGPORT', 'PGDATABASE', 'PGUSER']) add(name, env[name] ?? '');
  const client = s3ClientFromEnv(env);
  try {
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: pipeline.bucket, ContinuationToken: token }));
      for (const object of page.Contents ?? []) add('object', `${object.Key} ${object.Size} ${object.ETag} ${object.LastModified?.toISOString()}`);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  } catch {
    return undefined;
  } finally {
    client.destroy();
  }
  return hash.digest('hex');
}

/** The fingerprint saved after the last stage 2 that succeeded, if any. */
export async function savedFingerprint(path: string): Promise<string | undefined> {
  return (await readFile(path, 'utf8').catch(() => '')).trim() || undefined;
}

export function saveFingerprint(path: string, fingerprint: string): Promise<void> {
  return replaceFile(path, `${fingerprint}\n`);
}

/** An S3 client for the pipeline's services as the environment names them (the connectors' variables). */
export function s3ClientFromEnv(env: NodeJS.ProcessEnv): S3Client {
  return new S3Client({
    endpoint: env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL,
    region: env.AWS_REGION ?? 'us-east-1',
    forcePathStyle: true,
    maxAttempts: 2,
    credentials:
      env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } : undefined,
  });
}
