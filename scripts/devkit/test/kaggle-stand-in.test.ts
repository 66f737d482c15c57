import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ZipFile } from 'yazl';

import { type KaggleStandIn, startKaggleStandIn } from '../src/kaggle-stand-in';

const BASIC = `Basic ${Buffer.from('alice:s3cret').toString('base64')}`;

/** A zip of `files`, the same bytes every time: a fixed mtime (yazl's default is now, to 2 s). */
async function makeZip(files: Record<string, string>): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, text] of Object.entries(files)) zip.addBuffer(Buffer.from(text), name, { mtime: new Date(2020, 0, 1) });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function rpc(standIn: KaggleStandIn, method: string, body: unknown, auth: string | null = BASIC): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (auth) headers.Authorization = auth;
  return fetch(`${standIn.baseUrl.rpc}/datasets.DatasetApiService/${method}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
    redirect: 'manual',
  });
}

describe('the Kaggle API stand-in', () => {
  let dir: string;
  let v1: Buffer;
  let v2Path: string;
  let standIn: KaggleStandIn;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kaggle-stand-in-'));
    v1 = await makeZip({ 'a.csv': 'x\n1\n' });
    v2Path = join(dir, 'v2.zip');
    await writeFile(v2Path, await makeZip({ 'a.csv': 'x\n1\n2\n' }));
  });

  beforeEach(async () => {
    standIn = await startKaggleStandIn({
      datasets: {
        'owner/data': { versions: { 1: v1, 2: v2Path }, currentVersion: 2 },
        'owner/ruled': { versions: { 1: v1 }, rulesNotAccepted: true },
      },
      username: 'alice',
      key: 's3cret',
      token: 'KGAT_token',
    });
  });

  afterEach(async () => {
    await standIn.stop();
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('answers an rpc download with a redirect to a signed storage URL serving the zip from disk', async () => {
    const res = await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'data' });
    expect(res.status).toBe(302);
    const location = res.headers.get('location') ?? '';
    expect(location.startsWith(`${standIn.origin}/storage/`)).toBe(true);

    const body = await fetch(location);
    expect(body.status).toBe(200);
    expect(body.headers.get('content-type')).toBe('application/zip');
    const bytes = Buffer.from(await body.arrayBuffer());
    expect(body.headers.get('content-length')).toBe(String(bytes.length));
    expect(bytes.equals(await makeZip({ 'a.csv': 'x\n1\n2\n' }))).toBe(true);
    expect(body.headers.get('etag')).toMatch(/^".+"$/);
  });

  it('serves the requested version over rest with the version in the query', async () => {
    const res = await fetch(`${standIn.baseUrl.rest}/datasets/download/owner/data?datasetVersionNumber=1`, {
      headers: { Authorization: 'Bearer KGAT_token' },
      redirect: 'manual',
    });
    expect(res.status).toBe(302);
    const body = await fetch(res.headers.get('location') ?? '');
    expect(Buffer.from(await body.arrayBuffer()).equals(v1)).toBe(true);
  });

  it('tells the current version through GetDataset and datasets/view alike', async () => {
    const viaRpc = await rpc(standIn, 'GetDataset', { ownerSlug: 'owner', datasetSlug: 'data' });
    const viaRest = await fetch(`${standIn.baseUrl.rest}/datasets/view/owner/data`, { headers: { Authorization: BASIC } });
    expect(((await viaRpc.json()) as { currentVersionNumber: number }).currentVersionNumber).toBe(2);
    expect(((await viaRest.json()) as { currentVersionNumber: number }).currentVersionNumber).toBe(2);

    standIn.setCurrentVersion('owner/data', 3, v1);
    const after = await rpc(standIn, 'GetDataset', { ownerSlug: 'owner', datasetSlug: 'data' });
    expect(((await after.json()) as { currentVersionNumber: number }).currentVersionNumber).toBe(3);
  });

  it('refuses storage requests that carry an Authorization header', async () => {
    const res = await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'data' });
    const refused = await fetch(res.headers.get('location') ?? '', { headers: { Authorization: BASIC } });
    expect(refused.status).toBe(400);
  });

  it('refuses a storage URL whose signature was tampered with', async () => {
    const res = await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'data' });
    const location = (res.headers.get('location') ?? '').replace('/2/', '/1/');
    expect((await fetch(location)).status).toBe(403);
  });

  it('answers 401 to wrong or missing credentials', async () => {
    const wrong = `Basic ${Buffer.from('alice:nope').toString('base64')}`;
    expect((await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'data' }, wrong)).status).toBe(401);
    expect((await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'data' }, null)).status).toBe(401);
    expect((await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'data' }, 'Bearer nope')).status).toBe(401);
  });

  it('answers 403 for a dataset whose rules were not accepted and 404 for unknown datasets or versions', async () => {
    expect((await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'ruled' })).status).toBe(403);
    expect((await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'nope' })).status).toBe(404);
    const noVersion = await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'data', datasetVersionNumber: 9 });
    expect(noVersion.status).toBe(404);
    expect(((await noVersion.json()) as { message: string }).message).toContain('no version 9');
  });

  it('answers 429 with Retry-After and 500 once each on demand, then recovers', async () => {
    standIn.failNext({ status: 429, retryAfterSeconds: 3 });
    standIn.failNext({ status: 500 });
    const first = await rpc(standIn, 'GetDataset', { ownerSlug: 'owner', datasetSlug: 'data' });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('3');
    expect((await rpc(standIn, 'GetDataset', { ownerSlug: 'owner', datasetSlug: 'data' })).status).toBe(500);
    expect((await rpc(standIn, 'GetDataset', { ownerSlug: 'owner', datasetSlug: 'data' })).status).toBe(200);
    expect(standIn.requests.map((r) => r.status)).toEqual([429, 500, 200]);
  });

  it('breaks the body off short of its Content-Length when asked to', async () => {
    standIn.setTruncateDownloads(true);
    const res = await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'data' });
    const body = await fetch(res.headers.get('location') ?? '');
    expect(body.status).toBe(200);
    await expect(body.arrayBuffer()).rejects.toThrow();
  });

  it('builds an archive from a function only when it is first downloaded', async () => {
    let calls = 0;
    standIn.setDataset('owner/lazy', {
      versions: {
        1: () => {
          calls += 1;
          return v1;
        },
      },
    });
    expect(calls).toBe(0);
    for (let i = 0; i < 2; i++) {
      const res = await rpc(standIn, 'DownloadDataset', { ownerSlug: 'owner', datasetSlug: 'lazy' });
      await (await fetch(res.headers.get('location') ?? '')).arrayBuffer();
    }
    expect(calls).toBe(1);
  });
});
