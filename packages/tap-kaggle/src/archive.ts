import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open as openFile, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

import { SourceError } from '@singer-ts/singer';
import yauzl from 'yauzl';

/** One CSV file of a dataset, however it is stored. */
export interface DatasetFile {
  /**
   * The file's name in the dataset: its path inside the archive or folder (with `/`), without
   * a `.gz` or `.zip` wrapper (`train.csv.zip` is `train.csv`). `files` globs match this.
   */
  readonly name: string;
  /** Where it is, for messages: `/tmp/x.zip!orders.csv`. */
  readonly location: string;
  /** Bytes as stored (compressed size inside a zip), when known. */
  readonly storedBytes: number | undefined;
  /**
   * The file's size as the archive lists it: uncompressed inside a zip (of the `.gz`/`.zip`
   * wrapper for a nested one), the file's size in a folder.
   */
  readonly bytes?: number;
  /**
   * What identifies the file's content without reading it (a zip entry's CRC-32 and size),
   * when the storage says; two versions with the same fingerprint hold the same bytes.
   */
  readonly fingerprint?: string;
  /** Opens the CSV's bytes as a stream, decompressed. Call once per read; each call is independent. */
  open(): Promise<Readable>;
}

/** An opened dataset: its files and the handle to release. */
export interface DatasetArchive {
  readonly files: readonly DatasetFile[];
  close(): Promise<void>;
}

export interface OpenArchiveOptions {
  /** Where nested zips are spooled while read (default: beside the archive). */
  readonly tempDir?: string;
  /** The name to give a download that is a single bare (or gzipped) CSV rather than a zip. */
  readonly singleFileName?: string;
}

const ZIP_MAGIC = [Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('PK\x05\x06', 'latin1')];
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/**
 * Opens what a download (or `archive_path`) holds: a zip, read entry by entry straight from
 * disk; a folder of CSV files; or a single CSV (maybe gzipped), as Kaggle sends a
 * single-file dataset. Entries named `*.csv.gz` are gunzipped and `*.csv.zip` are unzipped
 * (Kaggle zips large files inside dataset archives); nothing is ever held whole in memory.
 */
export async function openArchive(path: string, options: OpenArchiveOptions = {}): Promise<DatasetArchive> {
  let info;
  try {
    info = await stat(path);
  } catch (cause) {
    throw new SourceError('the dataset archive does not exist or cannot be read', {
      code: 'SOURCE_NOT_FOUND',
      file: path,
      cause,
      hint: 'Check "archive_path"',
    });
  }
  if (info.isDirectory()) return openFolder(path);
  const head = await readHead(path, 4);
  if (ZIP_MAGIC.some((magic) => head.subarray(0, 4).equals(magic))) return openZip(path, options);
  const name = options.singleFileName ?? basename(path);
  const gzipped = head.subarray(0, 2).equals(GZIP_MAGIC);
  return {
    files: [
      {
        name: stripWrapper(name),
        location: path,
        storedBytes: info.size,
        bytes: info.size,
        open: async () => {
          const raw = createReadStream(path);
          return gzipped ? gunzipOf(raw) : raw;
        },
      },
    ],
    close: async () => undefined,
  };
}

async function readHead(path: string, bytes: number): Promise<Buffer> {
  const handle = await openFile(path, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** `a.csv.gz` → `a.csv`, `a.csv.zip` → `a.csv`; anything else unchanged. */
export function stripWrapper(name: string): string {
  return name.replace(/\.csv\.(gz|zip)$/i, (match) => match.slice(0, 4));
}

function isJunk(name: string): boolean {
  return name.startsWith('__MACOSX/') || basename(name) === '.DS_Store' || basename(name).startsWith('._');
}

async function openZip(path: string, options: OpenArchiveOptions): Promise<DatasetArchive> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true });
  } catch (cause) {
    throw new SourceError(`the dataset archive is not a readable zip: ${(cause as Error).message}`, {
      code: 'KAGGLE_BAD_ARCHIVE',
      file: path,
      cause,
    });
  }
  const files: DatasetFile[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      if (entry.fileName.endsWith('/') || isJunk(entry.fileName)) continue;
      files.push(zipEntryFile(zip, entry, path, options));
    }
  } catch (cause) {
    zip.close();
    throw new SourceError(`the dataset archive's directory cannot be read: ${(cause as Error).message}`, {
      code: 'KAGGLE_BAD_ARCHIVE',
      file: path,
      cause,
    });
  }
  return {
    files,
    close: async () => {
      if (zip.isOpen) zip.close();
    },
  };
}

function zipEntryFile(zip: yauzl.ZipFile, entry: yauzl.Entry, archivePath: string, options: OpenArchiveOptions): DatasetFile {
  const location = `${archivePath}!${entry.fileName}`;
  const openEntry = async (): Promise<Readable> => {
    if (entry.isEncrypted()) {
      throw new SourceError('the archive entry is encrypted', { code: 'KAGGLE_BAD_ARCHIVE', file: location });
    }
    try {
      return await zip.openReadStreamPromise(entry);
    } catch (cause) {
      throw new SourceError(`the archive entry cannot be read: ${(cause as Error).message}`, {
        code: 'KAGGLE_BAD_ARCHIVE',
        file: location,
        cause,
      });
    }
  };
  const lower = entry.fileName.toLowerCase();
  let open = openEntry;
  if (lower.endsWith('.csv.gz')) open = async () => gunzipOf(await openEntry());
  if (lower.endsWith('.csv.zip')) {
    open = async () => {
      // yauzl needs random access: spool the inner zip to a temp file next to the outer one.
      const spool = join(options.tempDir ?? `${archivePath}.d`, `nested-${process.pid}-${Date.now()}-${basename(entry.fileName)}`);
      await mkdir(dirname(spool), { recursive: true });
      await pipeline(await openEntry(), createWriteStream(spool));
      let stream: Readable;
      try {
        stream = await openSingleCsvOfZip(spool, location);
      } catch (error) {
        await rm(spool, { force: true });
        throw error;
      }
      // The zip holds an open descriptor: on POSIX the file can go now, and nothing is left
      // behind whatever happens next; elsewhere it goes when the stream closes.
      try {
        await rm(spool);
      } catch {
        stream.once('close', () => void rm(spool, { force: true }));
      }
      return stream;
    };
  }
  // The entry's CRC-32 and size (of the wrapper's bytes for a nested .gz/.zip, which decide
  // the content all the same).
  const fingerprint = `crc32:${entry.crc32.toString(16).padStart(8, '0')}:${entry.uncompressedSize}`;
  return {
    name: stripWrapper(entry.fileName),
    location,
    storedBytes: entry.compressedSize,
    bytes: entry.uncompressedSize,
    fingerprint,
    open,
  };
}

/** The one CSV inside a zip that wraps a single file (`train.csv.zip`), closing the zip after it. */
async function openSingleCsvOfZip(path: string, location: string): Promise<Readable> {
  const zip = await yauzl.openPromise(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true });
  let chosen: yauzl.Entry | undefined;
  let count = 0;
  for await (const entry of zip.eachEntry()) {
    if (entry.fileName.endsWith('/') || isJunk(entry.fileName)) continue;
    count++;
    if (!chosen || (entry.fileName.toLowerCase().endsWith('.csv') && !chosen.fileName.toLowerCase().endsWith('.csv'))) chosen = entry;
  }
  if (!chosen || count !== 1) {
    zip.close();
    throw new SourceError(`a zipped CSV must hold exactly one file; it holds ${count}`, { code: 'KAGGLE_BAD_ARCHIVE', file: location });
  }
  const stream = await zip.openReadStreamPromise(chosen);
  stream.once('close', () => zip.close());
  return stream;
}

async function openFolder(root: string): Promise<DatasetArchive> {
  const files: DatasetFile[] = [];
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    // NOTE: Node 20's Dirent has `path` (the parent folder); `parentPath` came later.
    const parent = (entry as unknown as { parentPath?: string; path?: string }).parentPath ?? (entry as unknown as { path: string }).path;
    const full = join(parent, entry.name);
    const name = relative(root, full).split(sep).join('/');
    if (isJunk(name)) continue;
    const lower = name.toLowerCase();
    const size = (await stat(full)).size;
    let open: () => Promise<Readable> = async () => createReadStream(full);
    if (lower.endsWith('.csv.gz')) open = async () => gunzipOf(createReadStream(full));
    if (lower.endsWith('.csv.zip')) open = async () => openSingleCsvOfZip(full, full);
    files.push({ name: stripWrapper(name), location: full, storedBytes: size, bytes: size, open });
  }
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files, close: async () => undefined };
}

/** The gunzipped bytes of `source`; an error of either side ends both. */
function gunzipOf(source: Readable): Readable {
  const gunzip = createGunzip();
  source.on('error', (error) => gunzip.destroy(error));
  gunzip.on('close', () => source.destroy());
  return source.pipe(gunzip);
}
