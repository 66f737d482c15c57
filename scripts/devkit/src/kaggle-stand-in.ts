import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A local stand-in for the Kaggle API, for tests and for `npm start` (which cannot reach
 * Kaggle). It speaks both wire flavours the way the real service does:
 *
 * - `rpc` (what the current official CLI speaks): `POST {origin}/v1/datasets.DatasetApiService/DownloadDataset`
 *   and `.../GetDataset`, JSON bodies `{"ownerSlug", "datasetSlug", "datasetVersionNumber"?}`;
 * - `rest` (older clients): `GET {origin}/api/v1/datasets/download/{owner}/{slug}[?datasetVersionNumber=N]`
 *   and `GET {origin}/api/v1/datasets/view/{owner}/{slug}`.
 *
 * Credentials are checked (HTTP Basic username/key, or a Bearer token); a download answers
 * `302` to a signed storage URL on the same server which, like a cloud bucket's signed URL,
 * refuses any request that also carries an `Authorization` header. Storage responses carry
 * `Content-Length`, `ETag` and an `application/zip` body streamed from disk.
 */

/** A dataset version's archive: a zip on disk, a zip in memory, or a function making one (called once, lazily). */
export type ZipSource = string | Buffer | (() => string | Buffer | Promise<string | Buffer>);

export interface StandInDataset {
  /** Archive per version number. */
  versions: Record<number, ZipSource>;
  /** The version a download without a version gets (default: the highest one). */
  currentVersion?: number;
  /** The account has not accepted the dataset's rules on the website: downloads answer 403. */
  rulesNotAccepted?: boolean;
  title?: string;
  /** The name in `Content-Disposition` (default `{slug}.zip`). */
  fileName?: string;
  /** The storage response's content type (default `application/zip`). */
  contentType?: string;
}

/** A failure the stand-in answers instead of the real thing, for the next matching requests. */
export interface InjectedFailure {
  status: number;
  /** Sent as `Retry-After` (seconds). */
  retryAfterSeconds?: number;
  /** How many requests fail (default 1). */
  times?: number;
  /** Which requests: the API (`api`, default) or the signed storage URL (`storage`). */
  on?: 'api' | 'storage';
}

export interface KaggleStandInOptions {
  /** Keyed by `owner/slug`. */
  datasets: Record<string, StandInDataset>;
  /** Basic credentials the API accepts. */
  username?: string;
  key?: string;
  /** A Bearer token the API accepts. When no credentials are set at all, the API accepts anonymous requests. */
  token?: string;
  /** The next API request answers 429 with this `Retry-After`. */
  rateLimitOnce?: { retryAfterSeconds: number };
  /** The next API request answers 500 (or the given status). */
  serverErrorOnce?: boolean | { status: number };
  /** Storage bodies stop half-way although `Content-Length` announced them whole (a broken connection). */
  truncateDownloads?: boolean;
  /** Storage responses carry no `Content-Length` (chunked), as some proxies do. */
  omitContentLength?: boolean;
  port?: number;
  /** How long signed storage URLs stay valid (default 600 s). */
  signedUrlTtlSeconds?: number;
}

/** One request the stand-in answered. */
export interface StandInRequest {
  method: string;
  /** Path and query. */
  url: string;
  kind: 'api' | 'storage' | 'other';
  /** The authorization scheme the request carried. */
  auth: 'basic' | 'bearer' | 'other' | 'none';
  status: number;
  /** The parsed JSON body of rpc requests. */
  body?: unknown;
}

export interface KaggleStandIn {
  /** Base URLs per flavour, to use as `api_base_url`. */
  readonly baseUrl: { readonly rpc: string; readonly rest: string };
  /** `http://127.0.0.1:port` */
  readonly origin: string;
  /** Every request answered so far, oldest first. */
  readonly requests: StandInRequest[];
  /** Makes `version` the current one, adding its archive when given. */
  setCurrentVersion(dataset: string, version: number, source?: ZipSource): void;
  /** Adds or replaces a dataset. */
  setDataset(dataset: string, spec: StandInDataset): void;
  /** Queues failures for the next matching requests. */
  failNext(failure: InjectedFailure): void;
  /** Changes the storage body behaviour at run time. */
  setTruncateDownloads(truncate: boolean): void;
  /** Forgets the request log. */
  clearRequests(): void;
  stop(): Promise<void>;
}

const RPC_PREFIX = '/v1/datasets.DatasetApiService/';
const REST_PREFIX = '/api/v1/datasets/';
const STORAGE_PREFIX = '/storage/';

interface ResolvedArchive {
  path?: string;
  buffer?: Buffer;
  size: number;
  etag: string;
  lastModified: Date;
}

class HttpAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Starts the stand-in on a free loopback port. */
export async function startKaggleStandIn(options: KaggleStandInOptions): Promise<KaggleStandIn> {
  const datasets = new Map<string, StandInDataset>(Object.entries(options.datasets));
  const resolved = new Map<string, Promise<ResolvedArchive>>();
  const failures: Required<InjectedFailure>[] = [];
  const requests: StandInRequest[] = [];
  const signingKey = randomBytes(32);
  const ttl = options.signedUrlTtlSeconds ?? 600;
  let truncate = options.truncateDownloads ?? false;
  const sockets = new Set<Socket>();

  const queue = (failure: InjectedFailure): void => {
    failures.push({ retryAfterSeconds: -1, times: 1, on: 'api', ...failure });
  };
  if (options.rateLimitOnce) queue({ status: 429, retryAfterSeconds: options.rateLimitOnce.retryAfterSeconds });
  if (options.serverErrorOnce) {
    queue({ status: typeof options.serverErrorOnce === 'object' ? options.serverErrorOnce.status : 500 });
  }

  const anonymousAllowed = options.username === undefined && options.key === undefined && options.token === undefined;

  function authScheme(req: IncomingMessage): StandInRequest['auth'] {
    const header = req.headers.authorization;
    if (!header) return 'none';
    if (/^basic /i.test(header)) return 'basic';
    if (/^bearer /i.test(header)) return 'bearer';
    return 'other';
  }

  function checkCredentials(req: IncomingMessage): void {
    if (anonymousAllowed) return;
    const header = req.headers.authorization ?? '';
    const basic = /^basic (.+)$/i.exec(header);
    if (basic && options.username !== undefined && options.key !== undefined) {
      const decoded = Buffer.from(basic[1] ?? '', 'base64').toString('utf8');
      if (safeEqual(decoded, `${options.username}:${options.key}`)) return;
    }
    const bearer = /^bearer (.+)$/i.exec(header);
    if (bearer && options.token !== undefined && safeEqual((bearer[1] ?? '').trim(), options.token)) return;
    throw new HttpAnswer(401, 'Unauthenticated', { 'WWW-Authenticate': 'Basic realm="Kaggle API"' });
  }

  function takeFailure(kind: 'api' | 'storage'): Required<InjectedFailure> | undefined {
    const index = failures.findIndex((f) => f.on === kind);
    if (index < 0) return undefined;
    const failure = failures[index]!;
    failure.times -= 1;
    if (failure.times <= 0) failures.splice(index, 1);
    return failure;
  }

  function findDataset(owner: string, slug: string): StandInDataset {
    const dataset = datasets.get(`${owner}/${slug}`);
    if (!dataset) throw new HttpAnswer(404, `Dataset ${owner}/${slug} not found`);
    return dataset;
  }

  function currentVersionOf(dataset: StandInDataset): number {
    if (dataset.currentVersion !== undefined) return dataset.currentVersion;
    const numbers = Object.keys(dataset.versions).map(Number);
    return numbers.length ? Math.max(...numbers) : 0;
  }

  function archiveOf(ref: string, dataset: StandInDataset, version: number): Promise<ResolvedArchive> {
    const key = `${ref}@${version}`;
    let promise = resolved.get(key);
    if (!promise) {
      const source = dataset.versions[version];
      if (source === undefined) throw new HttpAnswer(404, `Dataset ${ref} has no version ${version}`);
      promise = resolveArchive(source, version);
      resolved.set(key, promise);
    }
    return promise;
  }

  function sign(path: string, expires: number): string {
    return createHmac('sha256', signingKey).update(`${path}\n${expires}`).digest('hex');
  }

  function datasetView(ref: string, dataset: StandInDataset): Record<string, unknown> {
    const [owner, slug] = ref.split('/') as [string, string];
    const versions = Object.keys(dataset.versions)
      .map(Number)
      .sort((a, b) => b - a)
      .map((versionNumber) => ({ versionNumber, status: 'ready' }));
    return {
      id: Number.parseInt(createHash('sha1').update(ref).digest('hex').slice(0, 7), 16),
      ref,
      title: dataset.title ?? slug,
      ownerRef: owner,
      url: `https://www.kaggle.com/datasets/${ref}`,
      currentVersionNumber: currentVersionOf(dataset),
      isPrivate: false,
      versions,
    };
  }

  async function download(
    res: ServerResponse,
    owner: string,
    slug: string,
    requested: number | undefined,
  ): Promise<number> {
    const ref = `${owner}/${slug}`;
    const dataset = findDataset(owner, slug);
    if (dataset.rulesNotAccepted) {
      throw new HttpAnswer(403, `You must accept this dataset's rules before downloading ${ref}`);
    }
    const version = requested ?? currentVersionOf(dataset);
    await archiveOf(ref, dataset, version);
    const fileName = dataset.fileName ?? `${slug}.zip`;
    const path = `${STORAGE_PREFIX}datasets/${encodeURIComponent(owner)}/${encodeURIComponent(slug)}/${version}/${encodeURIComponent(fileName)}`;
    const expires = Math.floor(Date.now() / 1000) + ttl;
    const location = `${origin}${path}?X-Expires=${expires}&X-Signature=${sign(path, expires)}`;
    res.writeHead(302, { Location: location, 'Content-Length': '0' });
    res.end();
    return 302;
  }

  async function handleRpc(req: IncomingMessage, res: ServerResponse, method: string, entry: StandInRequest): Promise<number> {
    if (req.method !== 'POST') throw new HttpAnswer(405, 'Method not allowed', { Allow: 'POST' });
    const text = await readBody(req);
    let body: Record<string, unknown>;
    try {
      body = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
    } catch {
      throw new HttpAnswer(400, 'The request body is not JSON');
    }
    entry.body = body;
    checkCredentials(req);
    const owner = typeof body.ownerSlug === 'string' ? body.ownerSlug : '';
    const slug = typeof body.datasetSlug === 'string' ? body.datasetSlug : '';
    if (!owner || !slug) throw new HttpAnswer(400, 'ownerSlug and datasetSlug are required');
    const version = parseVersion(body.datasetVersionNumber);
    if (method === 'DownloadDataset') return download(res, owner, slug, version);
    if (method === 'GetDataset') return sendJson(res, 200, datasetView(`${owner}/${slug}`, findDataset(owner, slug)));
    throw new HttpAnswer(404, `Unknown method ${method}`);
  }

  async function handleRest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
    if (req.method !== 'GET') throw new HttpAnswer(405, 'Method not allowed', { Allow: 'GET' });
    checkCredentials(req);
    const parts = url.pathname.slice(REST_PREFIX.length).split('/').map(decodeURIComponent);
    const [action, owner, slug, ...rest] = parts;
    if (!owner || !slug || rest.length > 0) throw new HttpAnswer(404, 'Not found');
    if (action === 'download') {
      return download(res, owner, slug, parseVersion(url.searchParams.get('datasetVersionNumber') ?? undefined));
    }
    if (action === 'view') return sendJson(res, 200, datasetView(`${owner}/${slug}`, findDataset(owner, slug)));
    throw new HttpAnswer(404, 'Not found');
  }

  async function handleStorage(req: IncomingMessage, res: ServerResponse, url: URL): Promise<number> {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpAnswer(405, 'Method not allowed');
    if (req.headers.authorization !== undefined) {
      // NOTE: a signed URL is its own credential; cloud storage rejects a second mechanism.
      return sendXmlError(res, 400, 'InvalidArgument', 'Multiple authentication mechanisms are not allowed: a signed URL request must not carry an Authorization header.');
    }
    const expires = Number(url.searchParams.get('X-Expires'));
    const signature = url.searchParams.get('X-Signature') ?? '';
    if (!Number.isFinite(expires) || !safeEqual(signature, sign(url.pathname, expires))) {
      return sendXmlError(res, 403, 'SignatureDoesNotMatch', 'The request signature does not match.');
    }
    if (expires < Date.now() / 1000) return sendXmlError(res, 400, 'ExpiredToken', 'The signed URL has expired.');
    const failure = takeFailure('storage');
    if (failure) return sendFailure(res, failure);
    const parts = url.pathname.slice(STORAGE_PREFIX.length).split('/').map(decodeURIComponent);
    const [, owner = '', slug = '', versionText = '', fileName = ''] = parts;
    const ref = `${owner}/${slug}`;
    const dataset = datasets.get(ref);
    if (!dataset) return sendXmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
    const archive = await archiveOf(ref, dataset, Number(versionText));
    if (req.headers['if-none-match'] === archive.etag) {
      res.writeHead(304, { ETag: archive.etag });
      res.end();
      return 304;
    }
    const headers: Record<string, string> = {
      'Content-Type': dataset.contentType ?? 'application/zip',
      ETag: archive.etag,
      'Last-Modified': archive.lastModified.toUTCString(),
      'Content-Disposition': `attachment; filename="${fileName}"`,
    };
    if (!options.omitContentLength) headers['Content-Length'] = String(archive.size);
    res.writeHead(200, headers);
    if (req.method === 'HEAD') {
      res.end();
      return 200;
    }
    const limit = truncate ? Math.floor(archive.size / 2) : archive.size;
    if (archive.buffer) {
      res.write(archive.buffer.subarray(0, limit));
      finishBody(res, truncate);
    } else if (limit === 0) {
      finishBody(res, truncate);
    } else {
      // Large reads: a sample zip is 100+ MB, and 64 KB reads made the server the slower end of the loopback.
      const body = createReadStream(archive.path!, { start: 0, end: limit - 1, highWaterMark: 1 << 20 });
      body.on('error', () => res.destroy());
      body.on('end', () => finishBody(res, truncate));
      body.pipe(res, { end: false });
    }
    return 200;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const entry: StandInRequest = { method: req.method ?? 'GET', url: req.url ?? '/', kind: 'other', auth: authScheme(req), status: 0 };
    requests.push(entry);
    try {
      if (url.pathname.startsWith(STORAGE_PREFIX)) {
        entry.kind = 'storage';
        entry.status = await handleStorage(req, res, url);
        return;
      }
      const isRpc = url.pathname.startsWith(RPC_PREFIX);
      if (isRpc || url.pathname.startsWith(REST_PREFIX)) {
        entry.kind = 'api';
        const failure = takeFailure('api');
        if (failure) {
          await readBody(req);
          entry.status = sendFailure(res, failure);
          return;
        }
        entry.status = isRpc
          ? await handleRpc(req, res, url.pathname.slice(RPC_PREFIX.length), entry)
          : await handleRest(req, res, url);
        return;
      }
      throw new HttpAnswer(404, 'Not found');
    } catch (error) {
      const answer = error instanceof HttpAnswer ? error : new HttpAnswer(500, (error as Error).message);
      entry.status = answer.status;
      if (!res.headersSent) sendJson(res, answer.status, { code: answer.status, message: answer.message }, answer.headers);
      else res.destroy();
    }
  }

  const server: Server = createServer((req, res) => {
    void handle(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;

  return {
    baseUrl: { rpc: `${origin}/v1`, rest: `${origin}/api/v1` },
    origin,
    requests,
    setCurrentVersion(dataset, version, source) {
      const spec = datasets.get(dataset);
      if (!spec) throw new Error(`The stand-in has no dataset ${dataset}`);
      if (source !== undefined) {
        spec.versions[version] = source;
        resolved.delete(`${dataset}@${version}`);
      }
      if (spec.versions[version] === undefined) throw new Error(`Dataset ${dataset} has no version ${version}`);
      spec.currentVersion = version;
    },
    setDataset(dataset, spec) {
      datasets.set(dataset, spec);
      for (const key of [...resolved.keys()]) if (key.startsWith(`${dataset}@`)) resolved.delete(key);
    },
    failNext: queue,
    setTruncateDownloads(value) {
      truncate = value;
    },
    clearRequests() {
      requests.length = 0;
    },
    async stop() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}

async function resolveArchive(source: ZipSource, version: number): Promise<ResolvedArchive> {
  const value = typeof source === 'function' ? await source() : source;
  if (Buffer.isBuffer(value)) {
    return {
      buffer: value,
      size: value.length,
      etag: `"${createHash('md5').update(value).digest('hex')}"`,
      lastModified: new Date(),
    };
  }
  const info = await stat(value);
  const etag = createHash('md5').update(`${value}\n${info.size}\n${info.mtimeMs}\n${version}`).digest('hex');
  return { path: value, size: info.size, etag: `"${etag}"`, lastModified: info.mtime };
}

function finishBody(res: ServerResponse, truncate: boolean): void {
  // NOTE: `res.end()` short of Content-Length would leave the client waiting for the rest;
  // closing the connection once the bytes written so far are out is what a broken transfer
  // looks like to the client.
  if (truncate) res.socket?.end();
  else res.end();
}

function parseVersion(value: unknown): number | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const version = typeof value === 'number' ? value : Number(value);
  if (!Number.isInteger(version) || version < 1) throw new HttpAnswer(400, `Invalid datasetVersionNumber ${String(value)}`);
  return version;
}

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): number {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
  return status;
}

function sendXmlError(res: ServerResponse, status: number, code: string, message: string): number {
  const text = `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { 'Content-Type': 'application/xml; charset=UTF-8', 'Content-Length': String(Buffer.byteLength(text)) });
  res.end(text);
  return status;
}

function sendFailure(res: ServerResponse, failure: Required<InjectedFailure>): number {
  const headers: Record<string, string> = {};
  if (failure.retryAfterSeconds >= 0) headers['Retry-After'] = String(failure.retryAfterSeconds);
  const message = failure.status === 429 ? 'Too many requests' : 'Internal error';
  return sendJson(res, failure.status, { code: failure.status, message }, headers);
}
