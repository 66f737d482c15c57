import { setTimeout as sleep } from 'node:timers/promises';

import {
  type _Object,
  GetObjectCommand,
  type GetObjectCommandOutput,
  HeadBucketCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { type ErrorCode, type Logger, SourceError } from '@singer-ts/singer';

import { type ObjectRef, type ObjectStore, toWholeSecond } from './object-store';
import { MAX_ATTEMPTS } from './s3-client';

interface S3LikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

const AUTH_ERRORS = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'CredentialsProviderError',
]);

/** Maps an S3/SDK failure onto the SDK's error hierarchy, keeping where it happened. */
export function toSourceError(error: unknown, action: string, file: string): SourceError {
  if (error instanceof SourceError) return error;
  const e = (error ?? {}) as S3LikeError;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? '';
  let code: ErrorCode = 'SOURCE_UNAVAILABLE';
  let hint = 'Check that the S3 server is reachable; the run can be repeated from the last STATE';
  if (AUTH_ERRORS.has(name) || status === 401 || status === 403) {
    code = 'SOURCE_AUTH';
    hint = 'Check aws_access_key_id / aws_secret_access_key (or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY) and the bucket policy';
  } else if (name === 'NoSuchBucket' || name === 'NotFound' || status === 404) {
    code = 'SOURCE_NOT_FOUND';
    hint = 'Check "bucket" and "endpoint_url"';
  }
  const detail = e.message && e.message !== name ? `${name ? `${name}: ` : ''}${e.message}` : name || String(error);
  return new SourceError(`${action} failed: ${detail}`, { code, file, hint, cause: error });
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || (error as S3LikeError | undefined)?.name === 'AbortError';
}

/** Backoff before re-requesting a body that broke off: 0.2 s, 0.4 s, ... capped at 5 s, with jitter. */
function backoffMs(attempt: number): number {
  const base = Math.min(5000, 200 * 2 ** (attempt - 1));
  return base / 2 + Math.random() * (base / 2);
}

/** The ETag without a weak marker, for comparing what a listing and a read saw. */
function sameEtag(a: string | undefined, b: string): boolean {
  const strip = (tag: string): string => tag.replace(/^W\//, '');
  return a !== undefined && strip(a) === strip(b);
}

function toRef(item: _Object): ObjectRef | undefined {
  if (item.Key === undefined) return undefined;
  return {
    key: item.Key,
    size: item.Size ?? 0,
    etag: item.ETag ?? '',
    lastModified: toWholeSecond(item.LastModified ?? new Date(0)),
  };
}

export interface S3ObjectStoreOptions {
  /** Keys per listing page; S3 caps it at 1000. */
  readonly pageSize?: number;
  readonly logger?: Logger;
}

/** Lists and reads objects of one bucket over the S3 API. */
export class S3ObjectStore implements ObjectStore {
  private readonly pageSize: number;
  private readonly logger: Logger | undefined;
  /** Set once ListObjectsV2 failed on this server: later listings go straight to v1. */
  private useV1 = false;

  constructor(
    private readonly client: S3Client,
    readonly bucket: string,
    options: S3ObjectStoreOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 1000;
    this.logger = options.logger;
  }

  describe(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async *list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectRef> {
    let lastKey: string | undefined;
    if (!this.useV1) {
      let token: string | undefined;
      try {
        do {
          const page = await this.client.send(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: prefix === '' ? undefined : prefix,
              ContinuationToken: token,
              MaxKeys: this.pageSize,
            }),
            { abortSignal: signal },
          );
          for (const item of page.Contents ?? []) {
            const ref = toRef(item);
            if (ref === undefined) continue;
            lastKey = ref.key;
            yield ref;
          }
          token = page.IsTruncated ? page.NextContinuationToken : undefined;
        } while (token !== undefined);
        return;
      } catch (error) {
        if (!this.canFallBack(error, signal)) throw toSourceError(error, 'Listing objects', this.describe(prefix));
        this.useV1 = true;
        this.logger?.warn(
          `ListObjectsV2 failed on ${this.describe(prefix)} (${(error as S3LikeError).name ?? 'error'}); listing with ListObjects (v1) instead`,
        );
      }
    }
    yield* this.listV1(prefix, lastKey, signal);
  }

  /**
   * The original listing API, paged by marker (the last key seen). Some S3-compatible servers
   * implement only this one, or fail to paginate v2 (s3rver under OpenSSL 3 cannot make its
   * continuation tokens), so `list` falls back to it, resuming after the last key v2 gave.
   */
  private async *listV1(prefix: string, after: string | undefined, signal: AbortSignal | undefined): AsyncIterable<ObjectRef> {
    let marker = after;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListObjectsCommand({
            Bucket: this.bucket,
            Prefix: prefix === '' ? undefined : prefix,
            Marker: marker,
            MaxKeys: this.pageSize,
          }),
          { abortSignal: signal },
        );
      } catch (error) {
        throw toSourceError(error, 'Listing objects', this.describe(prefix));
      }
      for (const item of page.Contents ?? []) {
        const ref = toRef(item);
        if (ref === undefined) continue;
        marker = ref.key;
        yield ref;
      }
      if (!page.IsTruncated) return;
      const next = page.NextMarker ?? marker;
      if (next === undefined || next === '' ) return;
      marker = next;
    }
  }

  /** A v2 listing the server cannot do (5xx after the SDK's retries, or not implemented). */
  private canFallBack(error: unknown, signal: AbortSignal | undefined): boolean {
    if (isAbort(error, signal)) return false;
    const e = error as S3LikeError;
    const status = e.$metadata?.httpStatusCode ?? 0;
    return status >= 500 || e.name === 'NotImplemented' || e.name === 'InvalidArgument';
  }

  async now(signal?: AbortSignal): Promise<Date> {
    const command = new HeadBucketCommand({ Bucket: this.bucket });
    let serverDate: string | undefined;
    // NOTE: the operation's output has no Date; the raw response's header is the server's
    // clock, the same clock that stamps LastModified, so the local clock's skew never matters.
    command.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const headers = (result.response as { headers?: Record<string, string> }).headers;
        serverDate = headers?.date ?? headers?.Date;
        return result;
      },
      { step: 'deserialize', name: 'captureServerDate' },
    );
    try {
      await this.client.send(command, { abortSignal: signal });
    } catch (error) {
      throw toSourceError(error, 'Checking the bucket', this.describe(''));
    }
    const parsed = serverDate === undefined ? Number.NaN : Date.parse(serverDate);
    return toWholeSecond(Number.isNaN(parsed) ? new Date() : new Date(parsed));
  }

  async read(ref: ObjectRef, signal?: AbortSignal): Promise<AsyncIterable<Buffer> | undefined> {
    const first = await this.get(ref, 0, signal);
    if (first === undefined) return undefined;
    return this.body(ref, first, signal);
  }

  /**
   * Streams the body. A connection that breaks off mid-body (reset, timeout, truncated
   * response) is resumed with a Range request for the rest, pinned to the same ETag, so a
   * multi-gigabyte object survives a flaky network without being read twice.
   */
  private async *body(
    ref: ObjectRef,
    first: GetObjectCommandOutput,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<Buffer> {
    let response: GetObjectCommandOutput | undefined = first;
    let offset = 0;
    let attempt = 0;
    for (;;) {
      const expectedEnd = offset + (response.ContentLength ?? Number.NaN);
      try {
        for await (const chunk of response.Body as AsyncIterable<Buffer>) {
          offset += chunk.length;
          attempt = 0;
          yield chunk;
        }
        if (Number.isNaN(expectedEnd) || offset >= expectedEnd) return;
        throw new Error(`response ended after ${offset} of ${expectedEnd} bytes`);
      } catch (error) {
        if (isAbort(error, signal)) throw error;
        attempt += 1;
        if (attempt >= MAX_ATTEMPTS) {
          throw toSourceError(error, `Reading the object (byte ${offset}, ${attempt} attempts)`, this.describe(ref.key));
        }
        this.logger?.warn(
          `reading ${this.describe(ref.key)} broke off at byte ${offset} (${(error as S3LikeError).code ?? (error as Error).message}); resuming from there (attempt ${attempt + 1} of ${MAX_ATTEMPTS})`,
        );
        await sleep(backoffMs(attempt), undefined, { signal });
      }
      response = await this.get(ref, offset, signal);
      if (response === undefined) {
        throw this.changed(ref, 'was deleted while it was being read');
      }
    }
  }

  private async get(
    ref: ObjectRef,
    offset: number,
    signal: AbortSignal | undefined,
  ): Promise<GetObjectCommandOutput | undefined> {
    let response: GetObjectCommandOutput;
    try {
      response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: ref.key,
          // Servers that honour If-Match answer 412 for another version; for those that
          // ignore it the ETag check below catches it.
          IfMatch: ref.etag === '' ? undefined : ref.etag,
          Range: offset > 0 ? `bytes=${offset}-` : undefined,
        }),
        { abortSignal: signal },
      );
    } catch (error) {
      const e = error as S3LikeError;
      if (e.name === 'NoSuchKey' || (e.$metadata?.httpStatusCode === 404 && e.name !== 'NoSuchBucket')) {
        return undefined;
      }
      if (e.name === 'PreconditionFailed' || e.$metadata?.httpStatusCode === 412) {
        throw this.changed(ref, 'changed since it was listed');
      }
      throw toSourceError(error, 'Reading the object', this.describe(ref.key));
    }
    if (ref.etag !== '' && !sameEtag(response.ETag, ref.etag)) {
      (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
      throw this.changed(ref, `changed since it was listed (ETag ${ref.etag} listed, ${response.ETag ?? 'none'} read)`);
    }
    return response;
  }

  private changed(ref: ObjectRef, what: string): SourceError {
    return new SourceError(`The object ${what}`, {
      code: 'S3_OBJECT_CHANGED',
      file: this.describe(ref.key),
      hint: 'Run the tap again from the last STATE to read the current version',
    });
  }
}
