import { type KaggleStandIn, startKaggleStandIn } from '../../../../scripts/devkit/src/kaggle-stand-in';
import { fixtureZip, KEY, makeZip, runTap, Scratch, TOKEN, USERNAME } from './helpers';

const DATASET = 'olistbr/brazilian-ecommerce';
const ONE_FILE = ['olist_orders_dataset.csv'];

describe('tap-kaggle against the Kaggle API', () => {
  let standIn: KaggleStandIn;
  let scratch: Scratch;

  beforeEach(async () => {
    standIn = await startKaggleStandIn({
      datasets: {
        [DATASET]: { versions: { 1: await makeZip({ 'olist_orders_dataset.csv': 'order_id\nold\n' }), 2: await fixtureZip() } },
        'owner/ruled': { versions: { 1: await fixtureZip() }, rulesNotAccepted: true },
      },
      username: USERNAME,
      key: KEY,
      token: TOKEN,
    });
    scratch = await Scratch.create();
  });

  afterEach(async () => {
    await standIn.stop();
    await scratch.remove();
  });

  const rpc = (extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    dataset: DATASET,
    files: ONE_FILE,
    username: USERNAME,
    key: KEY,
    api_base_url: standIn.baseUrl.rpc,
    ...extra,
  });

  it('speaks the rpc flavour: GetDataset, then DownloadDataset, then the signed URL without Authorization', async () => {
    const result = await runTap(scratch, rpc());
    expect(result.exitCode).toBe(0);
    expect(result.records).toHaveLength(2);
    expect(standIn.requests.map((r) => [r.method, r.url.split('?')[0], r.auth, r.status])).toEqual([
      ['POST', '/v1/datasets.DatasetApiService/GetDataset', 'basic', 200],
      ['POST', '/v1/datasets.DatasetApiService/DownloadDataset', 'basic', 302],
      ['GET', expect.stringMatching(/^\/storage\//), 'none', 200],
    ]);
    expect(standIn.requests[1]?.body).toEqual({ ownerSlug: 'olistbr', datasetSlug: 'brazilian-ecommerce', datasetVersionNumber: 2 });
  });

  it('speaks the rest flavour: datasets/view, then datasets/download, then the signed URL', async () => {
    const result = await runTap(scratch, rpc({ api_flavor: 'rest', api_base_url: standIn.baseUrl.rest }));
    expect(result.exitCode).toBe(0);
    expect(result.records).toHaveLength(2);
    expect(standIn.requests.map((r) => [r.method, r.url, r.auth])).toEqual([
      ['GET', '/api/v1/datasets/view/olistbr/brazilian-ecommerce', 'basic'],
      ['GET', '/api/v1/datasets/download/olistbr/brazilian-ecommerce?datasetVersionNumber=2', 'basic'],
      ['GET', expect.stringMatching(/^\/storage\//), 'none'],
    ]);
  });

  it('authenticates with a Bearer token from KAGGLE_API_TOKEN', async () => {
    const result = await runTap(scratch, { dataset: DATASET, files: ONE_FILE, api_base_url: standIn.baseUrl.rpc }, { env: { KAGGLE_API_TOKEN: TOKEN } });
    expect(result.exitCode).toBe(0);
    expect(standIn.requests[0]?.auth).toBe('bearer');
    expect(result.logs).not.toContain(TOKEN);
  });

  it('downloads the pinned dataset_version without asking for the current one', async () => {
    const result = await runTap(scratch, rpc({ dataset_version: 1 }));
    expect(result.exitCode).toBe(0);
    expect(result.records.map((r) => r.record)).toEqual([{ order_id: 'old' }]);
    expect(standIn.requests.map((r) => r.url.split('?')[0])[0]).toBe('/v1/datasets.DatasetApiService/DownloadDataset');
    expect(standIn.requests[0]?.body).toMatchObject({ datasetVersionNumber: 1 });
  });

  it('says the credentials were rejected on 401', async () => {
    const result = await runTap(scratch, rpc({ key: 'wrong-key' }));
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/Kaggle rejected the credentials from config username\/key \(401 Unauthorized\)/);
    expect(result.logs).toContain('kaggle.json');
    expect(result.logs).not.toContain('wrong-key');
    expect(result.records).toHaveLength(0);
  });

  it('says no credentials were found on 401 without any', async () => {
    const result = await runTap(scratch, { dataset: DATASET, api_base_url: standIn.baseUrl.rpc });
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/no Kaggle credentials found/);
    expect(result.logs).toMatch(/Kaggle wants credentials and none were found \(401 Unauthorized\)/);
  });

  it("says to accept the dataset's rules on the website on 403", async () => {
    const result = await runTap(scratch, rpc({ dataset: 'owner/ruled' }));
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/Kaggle refused access to dataset owner\/ruled \(403 Forbidden\)/);
    expect(result.logs).toMatch(/accept the dataset's rules or terms/);
    expect(result.logs).toContain('https://www.kaggle.com/datasets/owner/ruled');
  });

  it('says there is no such dataset on 404', async () => {
    const result = await runTap(scratch, rpc({ dataset: 'olistbr/brazilian-ecommerc' }));
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/Kaggle has no dataset olistbr\/brazilian-ecommerc \(404 Not Found\)/);
  });

  it('says there is no such version on 404 for a pinned version', async () => {
    const result = await runTap(scratch, rpc({ dataset_version: 7 }));
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/Kaggle has no dataset olistbr\/brazilian-ecommerce with version 7 \(404 Not Found\)/);
  });

  it('waits as long as Retry-After says after a 429, then succeeds', async () => {
    standIn.failNext({ status: 429, retryAfterSeconds: 1 });
    const result = await runTap(scratch, rpc());
    expect(result.exitCode).toBe(0);
    expect(result.records).toHaveLength(2);
    expect(standIn.requests.map((r) => r.status)).toEqual([429, 200, 302, 200]);
    expect(result.logs).toMatch(/Kaggle API answered 429.*retrying in 1\.0 s \(retry 1 of 5\)/);
  });

  it('retries a 500 from the API and a 503 from storage with backoff', async () => {
    standIn.failNext({ status: 500 });
    standIn.failNext({ status: 503, on: 'storage' });
    const result = await runTap(scratch, rpc());
    expect(result.exitCode).toBe(0);
    expect(result.records).toHaveLength(2);
    expect(standIn.requests.map((r) => [r.kind, r.status])).toEqual([
      ['api', 500],
      ['api', 200],
      ['api', 302],
      ['storage', 503],
      ['api', 302],
      ['storage', 200],
    ]);
  });

  it('gives up after max_retries with a clear message', async () => {
    standIn.failNext({ status: 502, times: 10 });
    const result = await runTap(scratch, rpc({ max_retries: 1 }));
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(/reading dataset olistbr\/brazilian-ecommerce failed after 2 attempts: Kaggle API answered 502/);
  });

  it('fails when the body ends short of its Content-Length', async () => {
    const rows = Array.from({ length: 20000 }, (_, i) => `${i},row number ${i}`).join('\n');
    standIn.setDataset('owner/big', { versions: { 1: await makeZip({ 'big.csv': `id,text\n${rows}\n` }, false) } });
    standIn.setTruncateDownloads(true);
    const result = await runTap(scratch, rpc({ dataset: 'owner/big', files: undefined, max_retries: 1 }));
    expect(result.exitCode).toBe(1);
    expect(result.logs).toMatch(
      /downloading owner\/big version 1 failed after 2 attempts: the download of owner\/big version 1 broke off after [\d.]+ KiB of [\d.]+ KiB: terminated/,
    );
    expect(result.records).toHaveLength(0);
    expect(standIn.requests.filter((r) => r.kind === 'storage')).toHaveLength(2);
  });

  it('logs download progress with bytes and rate on stderr', async () => {
    const result = await runTap(scratch, rpc());
    expect(result.logs).toMatch(/INFO downloaded olistbr\/brazilian-ecommerce version 2: [\d.]+ (B|KiB) of [\d.]+ (B|KiB) \(100\.0%\), [\d.]+ \w+\/s/);
  });
});
