import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

import { cachedSampleZip, sampleZipPath, servedDatasetVersion, servedVersionsPath } from '../src/pipeline/sample-cache';

const SCALE = 0.001;
let dataDir: string;

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'sample-cache-'));
});

afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("npm start's sample cache", () => {
  it('generates a sample once and reuses it on the next run', async () => {
    const generating = jest.fn();
    const first = await cachedSampleZip({ dataDir, scale: SCALE, version: 1, onGenerate: generating });
    expect(first).toEqual({ path: sampleZipPath(dataDir, SCALE, 1, 1), generated: true });
    expect(generating).toHaveBeenCalledTimes(1);
    const made = (await stat(first.path)).mtimeMs;

    const second = await cachedSampleZip({ dataDir, scale: SCALE, version: 1, onGenerate: generating });
    expect(second).toEqual({ path: first.path, generated: false });
    expect(generating).toHaveBeenCalledTimes(1);
    expect((await stat(second.path)).mtimeMs).toBe(made);
  });

  it('makes another sample for another scale, seed or version, keeping the first', async () => {
    const first = await cachedSampleZip({ dataDir, scale: SCALE, version: 1 });
    const others = [
      await cachedSampleZip({ dataDir, scale: 2 * SCALE, version: 1 }),
      await cachedSampleZip({ dataDir, scale: SCALE, seed: 2, version: 1 }),
      await cachedSampleZip({ dataDir, scale: SCALE, version: 2 }),
    ];
    expect(others.map((o) => o.generated)).toEqual([true, true, true]);
    expect(new Set([first.path, ...others.map((o) => o.path)]).size).toBe(4);
    const sizes = await Promise.all([first, ...others].map(async (o) => (await stat(o.path)).size));
    // Twice the scale, twice the rows (about twice the bytes); another seed, other bytes.
    expect(sizes[1]! / sizes[0]!).toBeGreaterThan(1.8);
    expect((await readdir(join(dataDir, 'sample'))).sort()).toEqual([first, ...others].map((o) => basename(o.path)).sort());
  });

  it('does not take what an interrupted run left for a sample', async () => {
    // A run stopped while generating leaves its spool folder beside the zip, never the zip.
    const path = sampleZipPath(dataDir, SCALE, 1, 1);
    await mkdir(join(dataDir, 'sample', `.${basename(path)}.parts-abc123`), { recursive: true });
    expect((await cachedSampleZip({ dataDir, scale: SCALE, version: 1 })).generated).toBe(true);
  });
});

describe('the dataset version a sample is served as', () => {
  const serve = (scale: number, version: number, seed?: number) => servedDatasetVersion({ dataDir, scale, version, seed });

  it("is the sample's own version in a folder that served nothing, and stays it on later runs", async () => {
    expect(await serve(1, 2)).toEqual({ version: 2 });
    expect(await serve(1, 2)).toEqual({ version: 2 });
    expect(await serve(1, 1)).toEqual({ version: 1 });
  });

  it('is a new number for other files, never one another sample was served as, and each sample keeps its own', async () => {
    expect(await serve(1, 1)).toEqual({ version: 1 });
    // Scale 10, version 1: other files than version 1 held here, so a version of its own.
    expect(await serve(10, 1)).toEqual({ version: 2, displaced: { scale: 1, seed: '1', sample_version: 1, dataset_version: 1 } });
    // Version 2 of scale 1 finds 2 taken by scale 10's sample.
    expect(await serve(1, 2)).toEqual({ version: 3, displaced: { scale: 10, seed: '1', sample_version: 1, dataset_version: 2 } });
    expect(await serve(1, 1, 7)).toEqual({ version: 4, displaced: { scale: 1, seed: '1', sample_version: 1, dataset_version: 1 } });
    // Back to a sample served before: the version it was served as.
    expect(await serve(10, 1)).toEqual({ version: 2 });
    expect(await serve(1, 1)).toEqual({ version: 1 });
    expect(await serve(1, 5)).toEqual({ version: 5 });
    const record = JSON.parse(await readFile(servedVersionsPath(dataDir), 'utf8')) as { dataset_version: number }[];
    expect(record.map((r) => r.dataset_version)).toEqual([1, 2, 3, 4, 5]);
  });

  it('names the record when it cannot be read', async () => {
    await mkdir(join(dataDir, 'sample'), { recursive: true });
    await writeFile(servedVersionsPath(dataDir), '{not json');
    await expect(serve(1, 1)).rejects.toThrow(`cannot read ${servedVersionsPath(dataDir)}`);
  });
});
