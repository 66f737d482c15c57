import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

import { checkStateId, joinKey, redactUri, type StateBackend, StateBackendError } from './backend';
import { isLockStale, LOCK_GIVE_UP_SECONDS, LOCK_RETRY_SECONDS, lockStamp, singerStateOfRecord, sleep, stateRecordJson } from './meltano-state';

interface S3Failure {
  name?: string;
  Code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

function statusOf(error: unknown): number | undefined {
  return (error as S3Failure).$metadata?.httpStatusCode;
}

function isNoSuchKey(error: unknown): boolean {
  const name = (error as S3Failure).name ?? (error as S3Failure).Code;
  return name === 'NoSuchKey' || (statusOf(error) === 404 && name !== 'NoSuchBucket');
}

/**
 * States in an S3 bucket (MinIO too), laid out as Meltano's S3 state backend
 * (`s3://bucket/prefix`): `prefix/<state id>/state.json`, and `prefix/<state id>/lock` while a
 * state is written. The lock holds the time it was taken, as Meltano's does, and is created
 * only if absent (`If-None-Match: *`) where the server supports it; a lock older than
 * Meltano's timeout is taken over. A PUT replaces an object whole, so a reader never sees a
 * half-written state.
 */
export class S3StateBackend implements StateBackend {
  readonly location: string;
  private conditionalPuts = true;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    location: string,
  ) {
    this.location = location;
  }

  /** Keys from the URI (`s3://key:secret@bucket/prefix`, as Meltano reads them) or `AWS_*` variables. */
  static fromUrl(url: URL, env: NodeJS.ProcessEnv): S3StateBackend {
    const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
    const accessKeyId = url.username ? decodeURIComponent(url.username) : env.AWS_ACCESS_KEY_ID;
    const secretAccessKey = url.password ? decodeURIComponent(url.password) : env.AWS_SECRET_ACCESS_KEY;
    if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
      throw new StateBackendError(`the S3 state backend ${redactUri(url.toString())} has an access key id without a secret key, or a secret without an id`);
    }
    const client = new S3Client({
      endpoint,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
      forcePathStyle: endpoint !== undefined,
      credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined } : undefined,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
    const bucket = decodeURIComponent(url.hostname);
    const location = `s3://${bucket}/${prefix}${endpoint ? ` at ${endpoint}` : ''}`;
    return new S3StateBackend(client, bucket, prefix, location);
  }

  /** The key of one of a state id's objects: `prefix/<state id>/<name>` (no leading `/` without a prefix). */
  key(stateId: string, name: 'state.json' | 'lock'): string {
    const path = joinKey(checkStateId(stateId), name);
    return this.prefix === '' ? path : joinKey(this.prefix, path);
  }

  async read(stateId: string): Promise<string | undefined> {
    const key = this.key(stateId, 'state.json');
    const text = await this.getText(key);
    if (text === undefined) return undefined;
    try {
      return singerStateOfRecord(text);
    } catch (error) {
      throw new StateBackendError(`the state in s3://${this.bucket}/${key} is not a state record: ${(error as Error).message}`);
    }
  }

  async write(stateId: string, value: string): Promise<void> {
    const record = stateRecordJson(value);
    const key = this.key(stateId, 'state.json');
    await this.withLock(stateId, () => this.put(key, record));
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async getText(key: string): Promise<string | undefined> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return (await response.Body?.transformToString('utf8')) ?? '';
    } catch (error) {
      if (isNoSuchKey(error)) return undefined;
      throw this.explain(error, key);
    }
  }

  private async put(key: string, body: string, ifAbsent = false): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ...(ifAbsent && this.conditionalPuts ? { IfNoneMatch: '*' } : {}),
      }),
    );
  }

  private async withLock(stateId: string, work: () => Promise<void>): Promise<void> {
    const lock = this.key(stateId, 'lock');
    const giveUpAt = Date.now() + LOCK_GIVE_UP_SECONDS * 1000;
    for (;;) {
      const held = await this.getText(lock);
      if (held !== undefined && isLockStale(held)) {
        await this.delete(lock);
      } else if (held === undefined) {
        try {
          await this.put(lock, lockStamp(), true);
          break;
        } catch (error) {
          const status = statusOf(error);
          if (status === 501 || (error as S3Failure).name === 'NotImplemented') {
            this.conditionalPuts = false; // an older server: Meltano's plain lock
            continue;
          }
          if (status !== 412 && status !== 409) throw this.explain(error, lock);
        }
      }
      if (Date.now() > giveUpAt) {
        throw new StateBackendError(`the state at s3://${this.bucket}/${lock} stays locked: another run is writing it, or delete the lock object`);
      }
      await sleep(LOCK_RETRY_SECONDS * 1000);
    }
    try {
      await work();
    } catch (error) {
      throw this.explain(error, this.key(stateId, 'state.json'));
    } finally {
      await this.delete(lock).catch(() => undefined);
    }
  }

  private async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  private explain(error: unknown, key: string): Error {
    if (error instanceof StateBackendError) return error;
    const failure = error as S3Failure;
    const status = statusOf(error);
    const where = `s3://${this.bucket}/${key}`;
    if (failure.name === 'NoSuchBucket') return new StateBackendError(`cannot keep state at ${where}: bucket ${JSON.stringify(this.bucket)} does not exist; create it first`);
    if (status === 403) return new StateBackendError(`cannot keep state at ${where}: access denied (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy)`);
    return new StateBackendError(`cannot keep state at ${where}: ${failure.message || failure.name || String(error)}`);
  }
}
