import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

import { type Entry, open as openZip, type ZipFile } from 'yauzl';

import { ZipBuilder } from '../src/zip-builder';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'zip-builder-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

interface ReadEntry {
  name: string;
  method: number;
  crc: number;
  content: Buffer;
}

/** Every entry of a zip, read by yauzl (which checks the sizes it inflates against the headers). */
function readZip(path: string): Promise<ReadEntry[]> {
  return new Promise((resolve, reject) => {
    openZip(path, { lazyEntries: true, validateEntrySizes: true }, (error: Error | null, zip?: ZipFile) => {
      if (error || !zip) return reject(error ?? new Error('no zip'));
      const entries: ReadEntry[] = [];
      zip.on('entry', (entry: Entry) => {
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError || !stream) return reject(streamError ?? new Error('no stream'));
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('error', reject);
          stream.on('end', () => {
            entries.push({ name: entry.fileName, method: entry.compressionMethod, crc: entry.crc32, content: Buffer.concat(chunks) });
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(entries));
      zip.on('error', reject);
      zip.readEntry();
    });
  });
}

/** Writes `b.csv` and `a.csv` a chunk at a time each, in turns, as the sample generator does. */
async function build(path: string, options: ConstructorParameters<typeof ZipBuilder>[1]): Promise<Record<string, Buffer>> {
  const builder = new ZipBuilder(path, options);
  const b = await builder.entry('b.csv');
  const a = await builder.entry('a.csv');
  const written: Record<string, Buffer[]> = { 'a.csv': [], 'b.csv': [] };
  for (let i = 0; i < 200; i++) {
    const chunkA = Buffer.from(`${i},são paulo,"quoted, text"\n`.repeat(50));
    const chunkB = Buffer.from(`${i * 7},${'x'.repeat(i % 13)}\n`.repeat(80));
    await a.write(chunkA);
    await b.write(chunkB);
    written['a.csv']!.push(chunkA);
    written['b.csv']!.push(chunkB);
  }
  expect(existsSync(path)).toBe(false);
  await builder.finish();
  return { 'a.csv': Buffer.concat(written['a.csv']!), 'b.csv': Buffer.concat(written['b.csv']!) };
}

describe('ZipBuilder', () => {
  it('lays out entries written side by side in name order, deflated, readable with their CRC-32', async () => {
    const path = join(root, 'deflated.zip');
    const written = await build(path, { level: 1 });
    const entries = await readZip(path);
    expect(entries.map((e) => e.name)).toEqual(['a.csv', 'b.csv']);
    for (const entry of entries) {
      expect(entry.method).toBe(8);
      expect(entry.content.equals(written[entry.name]!)).toBe(true);
      expect(entry.crc).toBe(crc32(written[entry.name]!));
    }
    // Nothing is left beside the zip: the spool files go when it is written.
    expect(await readdir(root)).toEqual(['deflated.zip']);
  });

  it('stores entries as they are at level 0', async () => {
    const path = join(root, 'stored.zip');
    const written = await build(path, { level: 0 });
    const entries = await readZip(path);
    expect(entries.map((e) => e.method)).toEqual([0, 0]);
    expect(entries.map((e) => e.content.equals(written[e.name]!))).toEqual([true, true]);
  });

  it('gives the same bytes for the same contents', async () => {
    await build(join(root, 'one.zip'), { level: 6 });
    await build(join(root, 'two.zip'), { level: 6 });
    expect((await readFile(join(root, 'one.zip'))).equals(await readFile(join(root, 'two.zip')))).toBe(true);
  });

  it('writes Zip64 records that readers follow', async () => {
    const path = join(root, 'zip64.zip');
    const written = await build(path, { level: 1, forceZip64: true });
    const entries = await readZip(path);
    expect(entries.map((e) => e.content.equals(written[e.name]!))).toEqual([true, true]);
    const bytes = await readFile(path);
    expect(bytes.indexOf(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBeGreaterThan(0);
  });

  it('leaves nothing behind when aborted', async () => {
    const dir = await mkdtemp(join(root, 'abort-'));
    const builder = new ZipBuilder(join(dir, 'never.zip'));
    const entry = await builder.entry('a.csv');
    await entry.write(Buffer.from('a,b\n'));
    await builder.abort();
    expect(await readdir(dir)).toEqual([]);
  });
});
