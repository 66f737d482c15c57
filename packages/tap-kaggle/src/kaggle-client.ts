import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { setTimeout as sleep } from 'node:timers/promises';

import { type Logger, SourceError } from '@singer-ts/singer';

import { authorizationHeader, type KaggleCredentials } from './credentials';

/** The two wire flavours of the Kaggle API. */
export type ApiFlavor = 'rpc' | 'rest';

/** Where each flavour lives on kaggle.com. */
export const DEFAULT_BASE_URLS: Readonly<Record<ApiFlavor, string>> = {
  rpc: 'https://api.kaggle.com/v1',
  rest: 'https://www.kaggle.com/api/v1',
};

export interface DatasetRef {
  readonly owner: string;
  readonly slug: string;
}

export interface RetryPolicy {
  /** Retries after the first attempt (429, 5xx, broken connections). */
  readonly maxRetries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /** The longest `Retry-After` honoured; a longer one fails the run at once. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxRetries: 5, initialDelayMs: 500, maxDelayMs: 30_000, maxRetryAfterMs: 300_000 };

export interface KaggleClientOptions {
  readonly baseUrl: string;
  readonly flavor: ApiFlavor;
  readonly credentials: KaggleCredentials | undefined;
  /** Said in the 401 message: where credentials were looked for. */
  readonly searched?: readonly string[];
  readonly logger: Logger;
  readonly signal: AbortSignal;
  readonly retry?: Partial<RetryPolicy>;
  readonly userAgent?: string;
  /** How often download progress is logged (default every 5 s). */
  readonly progressIntervalMs?: number;
}

/** What the API says about a dataset. */
export interface DatasetInfo {
  readonly ref: string;
  /** The version a download without a version number gets; undefined when the API does not say. */
  readonly currentVersionNumber: number | undefined;
}

export interface DownloadRequest {
  readonly dataset: DatasetRef;
  readonly version?: number;
  /** The file the body is written to (created or truncated). */
  readonly destination: string;
  /** A cached copy's ETag: storage answers 304 when it is still the same object. */
  readonly ifNoneMatch?: string;
}

export type DownloadResult =
  | {
      readonly status: 'downloaded';
      readonly bytes: number;
      readonly etag: string | undefined;
      readonly contentType: string | undefined;
      /** From `Content-Disposition`, when the server names the file. */
      readonly fileName: string | undefined;
    }
  | { readonly status: 'not-modified'; readonly etag: string };

/** A failure worth another attempt (429, 5xx, a broken connection), with the server's wish for a delay. */
class RetryableError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/**
 * A client for the two Kaggle API calls the tap needs: the dataset's current version and the
 * dataset's archive. Downloads follow Kaggle's redirect to a signed storage URL without the
 * Kaggle `Authorization` header (the storage refuses two authentication mechanisms, and the
 * credentials must not leak to another host), stream the body to disk, and check
 * `Content-Length`. 429 and 5xx answers and broken connections are retried with exponential
 * backoff, honouring `Retry-After`.
 */
export class KaggleClient {
  private readonly retry: RetryPolicy;
  private readonly baseUrl: string;

  constructor(private readonly options: KaggleClientOptions) {
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
  }

  /** The dataset's metadata (rpc `GetDataset`, rest `datasets/view`). */
  async getDataset(dataset: DatasetRef): Promise<DatasetInfo> {
    const ref = `${dataset.owner}/${dataset.slug}`;
    return this.withRetries(`reading dataset ${ref}`, async () => {
      const response = await this.callApi(
        this.options.flavor === 'rpc' ? 'GetDataset' : 'view',
        dataset,
        undefined,
        'application/json',
      );
      const text = await response.text();
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch (cause) {
        throw new SourceError(`Kaggle answered the metadata request for ${ref} with something that is not JSON`, {
          code: 'KAGGLE_BAD_RESPONSE',
          file: ref,
          cause,
        });
      }
      this.throwForJsonError(body, dataset, undefined);
      const raw = body.currentVersionNumber ?? body.current_version_number;
      const version = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : undefined;
      return {
        ref,
        currentVersionNumber: version !== undefined && Number.isInteger(version) && version > 0 ? version : undefined,
      };
    });
  }

  /** Downloads the dataset's archive (or a version of it) to `destination`. */
  async downloadDataset(request: DownloadRequest): Promise<DownloadResult> {
    const ref = `${request.dataset.owner}/${request.dataset.slug}`;
    const label = request.version === undefined ? ref : `${ref} version ${request.version}`;
    return this.withRetries(`downloading ${label}`, async () => {
      const first = await this.callApi(
        this.options.flavor === 'rpc' ? 'DownloadDataset' : 'download',
        request.dataset,
        request.version,
        '*/*',
      );
      let response = first;
      if (REDIRECT_STATUSES.has(first.status)) {
        const location = first.headers.get('location');
        await first.body?.cancel();
        if (!location) {
          throw new SourceError(`Kaggle answered ${first.status} without a Location for ${label}`, {
            code: 'KAGGLE_BAD_RESPONSE',
            file: ref,
          });
        }
        response = await this.fetchStorage(new URL(location, first.url || this.baseUrl), request, label);
      }
      if (response.status === 304 && request.ifNoneMatch) {
        await response.body?.cancel();
        return { status: 'not-modified', etag: request.ifNoneMatch };
      }
      return this.saveBody(response, request, label);
    });
  }

  /** One request to the API proper, carrying the credentials; error statuses become errors. */
  private async callApi(
    action: 'GetDataset' | 'DownloadDataset' | 'view' | 'download',
    dataset: DatasetRef,
    version: number | undefined,
    accept: string,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: accept, 'User-Agent': this.options.userAgent ?? 'tap-kaggle' };
    if (this.options.credentials) headers.Authorization = authorizationHeader(this.options.credentials);
    let url: string;
    let init: RequestInit;
    if (this.options.flavor === 'rpc') {
      url = `${this.baseUrl}/datasets.DatasetApiService/${action}`;
      headers['Content-Type'] = 'application/json';
      const body: Record<string, unknown> = { ownerSlug: dataset.owner, datasetSlug: dataset.slug };
      if (version !== undefined) body.datasetVersionNumber = version;
      init = { method: 'POST', headers, body: JSON.stringify(body) };
    } else {
      const path = `${encodeURIComponent(dataset.owner)}/${encodeURIComponent(dataset.slug)}`;
      url = `${this.baseUrl}/datasets/${action}/${path}`;
      if (version !== undefined) url += `?datasetVersionNumber=${version}`;
      init = { method: 'GET', headers };
    }
    const response = await this.send(url, { ...init, redirect: 'manual' }, 'Kaggle API');
    if (response.status >= 400) await this.throwForStatus(response, dataset, version);
    return response;
  }

  /** The signed storage URL: a plain GET with no Kaggle credentials. */
  private async fetchStorage(url: URL, request: DownloadRequest, label: string): Promise<Response> {
    const headers: Record<string, string> = { 'User-Agent': this.options.userAgent ?? 'tap-kaggle' };
    if (request.ifNoneMatch) headers['If-None-Match'] = request.ifNoneMatch;
    // NOTE: fetch would forward every header on redirect; following by hand drops Authorization.
    const response = await this.send(url.toString(), { method: 'GET', headers, redirect: 'follow' }, 'Kaggle storage');
    if (response.status === 429 || response.status >= 500) {
      const text = await safeText(response);
      throw new RetryableError(`storage answered ${response.status} for ${label}${text ? `: ${text}` : ''}`, retryAfterMs(response));
    }
    if (response.status >= 400) {
      const text = await safeText(response);
      throw new SourceError(`the storage URL Kaggle redirected to refused the download of ${label} (${response.status})`, {
        code: 'KAGGLE_STORAGE_REFUSED',
        file: `${request.dataset.owner}/${request.dataset.slug}`,
        hint: text ? `Storage said: ${text}` : undefined,
      });
    }
    return response;
  }

  private async send(url: string, init: RequestInit, what: string): Promise<Response> {
    try {
      return await fetch(url, { ...init, signal: this.options.signal });
    } catch (cause) {
      if (this.options.signal.aborted) throw cause;
      throw new RetryableError(`${what} unreachable: ${describeCause(cause)}`, undefined, { cause });
    }
  }

  private async saveBody(response: Response, request: DownloadRequest, label: string): Promise<DownloadResult> {
    if (response.status !== 200 || !response.body) {
      await response.body?.cancel();
      throw new SourceError(`Kaggle answered ${response.status} to the download of ${label}`, {
        code: 'KAGGLE_BAD_RESPONSE',
        file: `${request.dataset.owner}/${request.dataset.slug}`,
      });
    }
    const lengthHeader = response.headers.get('content-length');
    const expected = lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
    const progress = new DownloadProgress(label, expected, this.options.logger, this.options.progressIntervalMs ?? 5_000);
    const body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
    try {
      await pipeline(
        body,
        async function* (source: AsyncIterable<Buffer>) {
          for await (const chunk of source) {
            progress.add(chunk.length);
            yield chunk;
          }
        },
        createWriteStream(request.destination),
        { signal: this.options.signal },
      );
    } catch (cause) {
      if (this.options.signal.aborted) throw cause;
      const code = (cause as NodeJS.ErrnoException).code;
      if (code !== undefined && code.startsWith('E') && !code.startsWith('ERR_')) {
        // A local file-system failure (ENOSPC, EACCES): retrying won't help.
        throw new SourceError(`cannot write the download of ${label}: ${describeCause(cause)}`, {
          code: 'KAGGLE_DOWNLOAD_FAILED',
          file: request.destination,
          cause,
        });
      }
      throw new RetryableError(
        `the download of ${label} broke off after ${formatBytes(progress.bytes)}` +
          `${expected !== undefined ? ` of ${formatBytes(expected)}` : ''}: ${describeCause(cause)}`,
        undefined,
        { cause },
      );
    }
    if (expected !== undefined && progress.bytes !== expected) {
      throw new RetryableError(
        `the download of ${label} is incomplete: Content-Length announced ${expected} bytes, ${progress.bytes} arrived`,
        undefined,
      );
    }
    progress.done();
    return {
      status: 'downloaded',
      bytes: progress.bytes,
      etag: response.headers.get('etag') ?? undefined,
      contentType: response.headers.get('content-type') ?? undefined,
      fileName: fileNameOf(response.headers.get('content-disposition')),
    };
  }

  private async throwForStatus(response: Response, dataset: DatasetRef, version: number | undefined): Promise<never> {
    const text = await safeText(response);
    if (response.status === 429 || response.status >= 500) {
      throw new RetryableError(`Kaggle API answered ${response.status}${text ? `: ${text}` : ''}`, retryAfterMs(response));
    }
    throw this.statusError(response.status, messageOf(text), dataset, version);
  }

  /** The rpc API may answer 200 with `{"code": 404, "message": …}`; the CLI treats that as the error. */
  private throwForJsonError(body: Record<string, unknown>, dataset: DatasetRef, version: number | undefined): void {
    const code = typeof body.code === 'number' ? body.code : Number.NaN;
    if (code >= 400) {
      const message = typeof body.message === 'string' ? body.message : undefined;
      if (code === 429 || code >= 500) throw new RetryableError(`Kaggle API answered ${code}: ${message ?? ''}`, undefined);
      throw this.statusError(code, message, dataset, version);
    }
  }

  private statusError(status: number, serverMessage: string | undefined, dataset: DatasetRef, version: number | undefined): SourceError {
    const ref = `${dataset.owner}/${dataset.slug}`;
    const said = serverMessage ? ` (Kaggle said: ${serverMessage})` : '';
    const credentials = this.options.credentials;
    switch (status) {
      case 401:
        return new SourceError(
          credentials
            ? `Kaggle rejected the credentials from ${credentials.source} (401 Unauthorized)${said}`
            : `Kaggle wants credentials and none were found (401 Unauthorized)${said}`,
          {
            code: 'SOURCE_AUTH',
            file: ref,
            hint:
              'Set "username" and "key" (from kaggle.json: kaggle.com > Settings > API > Create New Token) or "api_token" in the config, ' +
              `or KAGGLE_USERNAME/KAGGLE_KEY or KAGGLE_API_TOKEN; looked in: ${(this.options.searched ?? []).join(', ')}`,
          },
        );
      case 403:
        return new SourceError(`Kaggle refused access to dataset ${ref} (403 Forbidden)${said}`, {
          code: 'KAGGLE_FORBIDDEN',
          file: ref,
          hint:
            `Sign in on the website as the account these credentials belong to, open https://www.kaggle.com/datasets/${ref} ` +
            "and accept the dataset's rules or terms (a private dataset needs an invitation), then run again",
        });
      case 404:
        return new SourceError(
          version === undefined
            ? `Kaggle has no dataset ${ref} (404 Not Found)${said}`
            : `Kaggle has no dataset ${ref} with version ${version} (404 Not Found)${said}`,
          {
            code: 'SOURCE_NOT_FOUND',
            file: ref,
            hint:
              version === undefined
                ? 'Check "dataset": it is "owner/slug" as in the dataset\'s URL https://www.kaggle.com/datasets/owner/slug'
                : 'Check "dataset_version" against the dataset\'s version history on the website',
          },
        );
      default:
        return new SourceError(`Kaggle API answered ${status} for dataset ${ref}${said}`, { code: 'KAGGLE_BAD_RESPONSE', file: ref });
    }
  }

  private async withRetries<T>(what: string, attempt: () => Promise<T>): Promise<T> {
    for (let retry = 0; ; retry++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof RetryableError)) throw error;
        if (retry >= this.retry.maxRetries) {
          throw new SourceError(`${what} failed after ${retry + 1} attempts: ${error.message}`, {
            code: 'SOURCE_UNAVAILABLE',
            cause: error,
            hint: 'Kaggle or the network is having trouble; run again later (the download restarts, nothing was emitted from it)',
          });
        }
        const backoff = Math.min(this.retry.maxDelayMs, this.retry.initialDelayMs * 2 ** retry);
        if (error.retryAfterMs !== undefined && error.retryAfterMs > this.retry.maxRetryAfterMs) {
          throw new SourceError(`${what}: Kaggle asks to wait ${Math.ceil(error.retryAfterMs / 1000)} s before trying again (${error.message})`, {
            code: 'SOURCE_UNAVAILABLE',
            cause: error,
            hint: 'The rate limit is long: run again later',
          });
        }
        // NOTE: jitter spreads retries of parallel runs; Retry-After is a floor, never shortened.
        const delay = error.retryAfterMs ?? Math.round(backoff * (0.8 + Math.random() * 0.4));
        this.options.logger.warn(
          `${what}: ${error.message}; retrying in ${(delay / 1000).toFixed(1)} s (retry ${retry + 1} of ${this.retry.maxRetries})`,
        );
        await sleep(delay, undefined, { signal: this.options.signal });
      }
    }
  }
}

/** Logs bytes, percentage and rate on stderr at most every `intervalMs`, and once at the end. */
class DownloadProgress {
  bytes = 0;
  private readonly started = Date.now();
  private lastLog = Date.now();

  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly logger: Logger,
    private readonly intervalMs: number,
  ) {
    logger.info(`downloading ${label}${total !== undefined ? ` (${formatBytes(total)})` : ''}`);
  }

  add(bytes: number): void {
    this.bytes += bytes;
    const now = Date.now();
    if (now - this.lastLog >= this.intervalMs) {
      this.lastLog = now;
      this.logger.info(`downloading ${this.label}: ${this.describe(now)}`);
    }
  }

  done(): void {
    this.logger.info(`downloaded ${this.label}: ${this.describe(Date.now())}`);
  }

  private describe(now: number): string {
    const seconds = Math.max((now - this.started) / 1000, 0.001);
    const percent = this.total ? ` (${((100 * this.bytes) / this.total).toFixed(1)}%)` : '';
    const of = this.total !== undefined ? ` of ${formatBytes(this.total)}` : '';
    return `${formatBytes(this.bytes)}${of}${percent}, ${formatBytes(this.bytes / seconds)}/s`;
  }
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** `Retry-After` in ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function retryAfterMs(response: { headers: { get(name: string): string | null } }, now = Date.now()): number | undefined {
  const value = response.headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

function fileNameOf(disposition: string | null): string | undefined {
  if (!disposition) return undefined;
  const star = /filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i.exec(disposition);
  if (star?.[1]) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*("([^"]*)"|[^;]+)/i.exec(disposition);
  const name = plain?.[2] ?? plain?.[1];
  return name ? name.trim() : undefined;
}

async function safeText(response: Response): Promise<string> {
  try {
    const text = (await response.text()).trim();
    return text.length > 300 ? `${text.slice(0, 299)}…` : text;
  } catch {
    return '';
  }
}

/** The `message` of a JSON error body, else the text itself. */
function messageOf(text: string): string | undefined {
  if (!text) return undefined;
  try {
    const body = JSON.parse(text) as { message?: unknown };
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON
  }
  return text.startsWith('<') ? undefined : text;
}

/** `fetch failed: connect ECONNREFUSED …`: undici hides the useful part in `cause`. */
function describeCause(cause: unknown): string {
  // NOTE: duck-typed, not `instanceof Error`: undici's errors may come from another realm.
  const messageOf = (value: unknown): string | undefined =>
    typeof value === 'object' && value !== null && typeof (value as { message?: unknown }).message === 'string'
      ? (value as { message: string }).message
      : undefined;
  const outer = messageOf(cause) ?? String(cause);
  const inner = messageOf((cause as { cause?: unknown } | undefined)?.cause);
  return inner && inner !== outer ? `${outer}: ${inner}` : outer;
}
