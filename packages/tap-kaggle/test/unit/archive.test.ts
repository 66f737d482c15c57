import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

import { ZipFile } from 'yazl';

import { openArchive, stripWrapper } from '../../src/archive';

async function makeZip(files: Record<string, string | Buffer>): Promise<Buffer> {
  const zip = new ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function text(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

describe('opening a dataset archive', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tap-kaggle-archive-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lists a zip entry by entry, skipping folders and macOS junk, and reads each as a stream', async () => {
    const path = join(dir, 'd.zip');
    await writeFile(
      path,
      await makeZip({ 'a.csv': 'x\n1\n', 'sub/b.csv.gz': gzipSync('y\n2\n'), '__MACOSX/._a.csv': 'junk', 'sub/.DS_Store': 'junk' }),
    );
    const archive = await openArchive(path);
    try {
      expect(archive.files.map((f) => [f.name, f.location])).toEqual([
        ['a.csv', `${path}!a.csv`],
        ['sub/b.csv', `${path}!sub/b.csv.gz`],
      ]);
      expect(await text(await archive.files[0]!.open())).toBe('x\n1\n');
      expect(await text(await archive.files[1]!.open())).toBe('y\n2\n');
      // Each open is independent.
      expect(await text(await archive.files[0]!.open())).toBe('x\n1\n');
    } finally {
      await archive.close();
    }
  });

  it('unzips a CSV zipped inside the zip through a temp file it removes afterwards', async () => {
    const path = join(dir, 'd.zip');
    const temp = join(dir, 'tmp');
    await writeFile(path, await makeZip({ 'big.csv.zip': await makeZip({ 'big.csv': 'z\n3\n' }) }));
    const archive = await openArchive(path, { tempDir: temp });
    try {
      expect(archive.files.map((f) => f.name)).toEqual(['big.csv']);
      const stream = await archive.files[0]!.open();
      expect(await readdir(temp)).toEqual([]);
      expect(await text(stream)).toBe('z\n3\n');
    } finally {
      await archive.close();
    }
  });

  it('takes a file that is not a zip as a single CSV, gunzipping it when needed', async () => {
    const plain = join(dir, 'download');
    await writeFile(plain, 'p\n1\n');
    const gz = join(dir, 'download.gz');
    await writeFile(gz, gzipSync('q\n1\n'));
    const one = await openArchive(plain, { singleFileName: 'orders.csv' });
    const two = await openArchive(gz, { singleFileName: 'items.csv.gz' });
    expect(one.files.map((f) => f.name)).toEqual(['orders.csv']);
    expect(two.files.map((f) => f.name)).toEqual(['items.csv']);
    expect(await text(await one.files[0]!.open())).toBe('p\n1\n');
    expect(await text(await two.files[0]!.open())).toBe('q\n1\n');
  });

  it('lists a folder recursively, sorted, with paths relative to it', async () => {
    await mkdir(join(dir, 'f', 'inner'), { recursive: true });
    await writeFile(join(dir, 'f', 'b.csv'), 'b\n');
    await writeFile(join(dir, 'f', 'inner', 'a.csv.gz'), gzipSync('a\n'));
    const archive = await openArchive(join(dir, 'f'));
    expect(archive.files.map((f) => f.name)).toEqual(['b.csv', 'inner/a.csv']);
    expect(await text(await archive.files[1]!.open())).toBe('a\n');
  });

  it('fails naming the file when a zip is damaged', async () => {
    const path = join(dir, 'bad.zip');
    const zip = await makeZip({ 'a.csv': 'x\n' });
    await writeFile(path, zip.subarray(0, zip.length - 10));
    await expect(openArchive(path)).rejects.toMatchObject({ file: path, code: 'KAGGLE_BAD_ARCHIVE' });
    expect((await readFile(path)).length).toBe(zip.length - 10);
  });

  it('names wrapped CSVs after the CSV inside', () => {
    expect(stripWrapper('train.csv.zip')).toBe('train.csv');
    expect(stripWrapper('Train.CSV.GZ')).toBe('Train.CSV');
    expect(stripWrapper('images.zip')).toBe('images.zip');
  });
});
