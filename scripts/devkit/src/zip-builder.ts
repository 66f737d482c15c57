/**
 * A zip written from entries made side by side: each entry is deflated as it is written (in
 * zlib's thread pool, so compression runs while the caller makes the next rows) into a spool
 * file of its own, and `finish()` lays the entries out in name order behind their headers.
 * The sample generator writes the orders, items, payments and reviews files row by row at
 * once, which a zip library writing one entry after another (yazl) cannot take without a
 * copy of every file on disk first.
 *
 * Entries are deflated (method 8) at a chosen level, or stored (method 0), with fixed DOS timestamps and Unix mode
 * 0644, so the same contents give the same bytes; Zip64 records are written only where a size
 * or offset needs them.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { finished } from 'node:stream/promises';
import * as zlib from 'node:zlib';

export interface ZipBuilderOptions {
  /** zlib's deflate level, 1 (fastest) to 9 (smallest), or 0 to store entries as they are; default 6, as zip tools use. */
  level?: number;
  /** The entries' DOS date and time, as local-time fields (default 2018-10-17 00:00:00). */
  date?: { year: number; month: number; day: number };
  /** Write Zip64 records even where sizes fit in 32 bits (for tests of that path). */
  forceZip64?: boolean;
}

/** A finished zip. */
export interface BuiltZip {
  path: string;
  bytes: number;
  /** Entry names, in the zip's order. */
  entries: string[];
}

const MAX32 = 0xffffffff;
const UNIX_FILE_0644 = (0o100644 << 16) >>> 0;
const UTF8_NAMES = 0x0800;

/** CRC-32 (zlib's, from Node 22.2; a table otherwise). */
const crc32: (data: Buffer, value: number) => number =
  typeof (zlib as { crc32?: unknown }).crc32 === 'function' ? (data, value) => zlib.crc32(data, value) : tableCrc32;

let crcTable: Int32Array | undefined;
function tableCrc32(data: Buffer, value: number): number {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let crc = ~value;
  for (let i = 0; i < data.length; i++) crc = crcTable[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** An entry written whole: where its bytes are and what its headers say. */
export interface SealedZipEntry {
  name: string;
  spoolPath: string;
  method: 0 | 8;
  crc: number;
  size: number;
  compressedSize: number;
}

/** One entry being written: bytes in, deflated (or stored) bytes to its spool file. */
export class ZipEntryWriter {
  /** Where bytes are written: the deflate stream, or the spool file itself when storing. */
  private readonly input: NodeJS.WritableStream & { destroy(): void };
  private readonly spool: WriteStream;
  private readonly done: Promise<void>;
  private crc = 0;
  private size = 0;
  private compressedSize = 0;
  private ended = false;

  constructor(
    readonly name: string,
    private readonly spoolPath: string,
    level: number,
  ) {
    // A few chunks of room, so the caller makes rows while the last ones are deflated and
    // written (zlib's Transform takes stream options along with its own).
    const room = 4 << 20;
    this.spool = createWriteStream(spoolPath, { highWaterMark: room });
    if (level === 0) {
      this.input = this.spool;
      this.done = finished(this.spool);
    } else {
      const deflate = zlib.createDeflateRaw({ level, chunkSize: 1 << 16, ...{ writableHighWaterMark: room } });
      deflate.pipe(this.spool);
      this.input = deflate;
      // Either side failing fails the entry; `finished` also rejects on a destroyed stream.
      this.done = Promise.all([finished(deflate), finished(this.spool)]).then(() => undefined);
    }
    this.method = level === 0 ? 0 : 8;
    this.done.catch(() => undefined);
  }

  /** 8: deflated, 0: stored. */
  readonly method: 0 | 8;

  /** Adds bytes; resolves once zlib can take more (backpressure). */
  async write(chunk: Buffer): Promise<void> {
    this.crc = crc32(chunk, this.crc);
    this.size += chunk.length;
    if (!this.input.write(chunk)) await once(this.input, 'drain');
  }

  async end(): Promise<void> {
    if (this.ended) return this.done;
    this.ended = true;
    this.input.end();
    await this.done;
    this.compressedSize = (await stat(this.spoolPath)).size;
  }

  destroy(): void {
    this.input.destroy();
    this.spool.destroy();
  }

  /** What `ZipBuilder.finish` lays out (or `adopt` takes from another thread), once ended. */
  get sealed(): SealedZipEntry {
    if (!this.ended) throw new Error(`zip entry ${this.name} was not ended`);
    return { name: this.name, spoolPath: this.spoolPath, method: this.method, crc: this.crc, size: this.size, compressedSize: this.compressedSize };
  }
}

/** A zip whose entries are written concurrently; see the module comment. */
export class ZipBuilder {
  private readonly entries: ZipEntryWriter[] = [];
  private readonly adopted: SealedZipEntry[] = [];
  private spoolDir: string | undefined;
  private spools = 0;
  private readonly level: number;
  private readonly dosDate: number;

  constructor(
    readonly path: string,
    private readonly options: ZipBuilderOptions = {},
  ) {
    this.level = options.level ?? 6;
    const { year, month, day } = options.date ?? { year: 2018, month: 10, day: 17 };
    this.dosDate = ((year - 1980) << 9) | (month << 5) | day;
  }

  /** A new entry; its spool file goes next to the zip (same disk, no /tmp size limit). */
  async entry(name: string): Promise<ZipEntryWriter> {
    const writer = new ZipEntryWriter(name, await this.spoolPath(), this.level);
    this.entries.push(writer);
    return writer;
  }

  /** A spool file for an entry another thread writes (a `ZipEntryWriter` there), then `adopt`s. */
  async spoolPath(): Promise<string> {
    this.spoolDir ??= await mkdtemp(join(dirname(this.path), `.${basename(this.path)}.parts-`));
    return join(this.spoolDir, String(this.spools++));
  }

  /** Takes an entry written elsewhere into a spool file of this zip. */
  adopt(entry: SealedZipEntry): void {
    this.adopted.push(entry);
  }

  /**
   * Ends every entry, writes the zip to a temporary name beside `path` and renames it into
   * place, so a zip at `path` is always whole (a reader may take its presence as "done").
   */
  async finish(): Promise<BuiltZip> {
    await Promise.all(this.entries.map((e) => e.end()));
    const sealed = [...this.entries.map((e) => e.sealed), ...this.adopted].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const partial = `${this.spoolDir ?? this.path}.zip`;
    const out = createWriteStream(partial);
    const put = async (chunk: Buffer): Promise<void> => {
      if (!out.write(chunk)) await once(out, 'drain');
    };
    try {
      let offset = 0;
      const central: Buffer[] = [];
      for (const entry of sealed) {
        const name = Buffer.from(entry.name, 'utf8');
        const zip64 = this.options.forceZip64 === true || entry.size >= MAX32 || entry.compressedSize >= MAX32 || offset >= MAX32;
        const local = localHeader(entry, name, this.dosDate, zip64);
        central.push(centralHeader(entry, name, this.dosDate, zip64, offset));
        await put(local);
        for await (const chunk of createReadStream(entry.spoolPath, { highWaterMark: 1 << 20 })) await put(chunk as Buffer);
        offset += local.length + entry.compressedSize;
      }
      const directory = Buffer.concat(central);
      await put(directory);
      await put(endOfDirectory(sealed.length, directory.length, offset, this.options.forceZip64 === true));
      out.end();
      await finished(out);
      await rename(partial, this.path);
    } catch (error) {
      out.destroy();
      await rm(partial, { force: true });
      throw error;
    } finally {
      await this.removeSpool();
    }
    return { path: this.path, bytes: (await stat(this.path)).size, entries: sealed.map((e) => e.name) };
  }

  /** Stops every entry and removes what was spooled; the zip is not written. */
  async abort(): Promise<void> {
    for (const entry of this.entries) entry.destroy();
    await this.removeSpool();
  }

  private async removeSpool(): Promise<void> {
    if (this.spoolDir) await rm(this.spoolDir, { recursive: true, force: true });
  }
}


function localHeader(entry: SealedZipEntry, name: Buffer, dosDate: number, zip64: boolean): Buffer {
  const extra = zip64 ? zip64Extra([entry.size, entry.compressedSize]) : Buffer.alloc(0);
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(zip64 ? 45 : 20, 4); // version needed to extract
  header.writeUInt16LE(UTF8_NAMES, 6);
  header.writeUInt16LE(entry.method, 8);
  header.writeUInt16LE(0, 10); // time 00:00:00
  header.writeUInt16LE(dosDate, 12);
  header.writeUInt32LE(entry.crc, 14);
  header.writeUInt32LE(zip64 ? MAX32 : entry.compressedSize, 18);
  header.writeUInt32LE(zip64 ? MAX32 : entry.size, 22);
  header.writeUInt16LE(name.length, 26);
  header.writeUInt16LE(extra.length, 28);
  return Buffer.concat([header, name, extra]);
}

function centralHeader(entry: SealedZipEntry, name: Buffer, dosDate: number, zip64: boolean, offset: number): Buffer {
  const extra = zip64 ? zip64Extra([entry.size, entry.compressedSize, offset]) : Buffer.alloc(0);
  const header = Buffer.alloc(46);
  header.writeUInt32LE(0x02014b50, 0);
  header.writeUInt16LE((3 << 8) | (zip64 ? 45 : 20), 4); // made by: Unix
  header.writeUInt16LE(zip64 ? 45 : 20, 6);
  header.writeUInt16LE(UTF8_NAMES, 8);
  header.writeUInt16LE(entry.method, 10);
  header.writeUInt16LE(0, 12);
  header.writeUInt16LE(dosDate, 14);
  header.writeUInt32LE(entry.crc, 16);
  header.writeUInt32LE(zip64 ? MAX32 : entry.compressedSize, 20);
  header.writeUInt32LE(zip64 ? MAX32 : entry.size, 24);
  header.writeUInt16LE(name.length, 28);
  header.writeUInt16LE(extra.length, 30);
  header.writeUInt16LE(0, 32); // comment length
  header.writeUInt16LE(0, 34); // disk
  header.writeUInt16LE(0, 36); // internal attributes
  header.writeUInt32LE(UNIX_FILE_0644, 38);
  header.writeUInt32LE(zip64 ? MAX32 : offset, 42);
  return Buffer.concat([header, name, extra]);
}

/** The Zip64 extended information field (0x0001) holding `values` as 64-bit numbers. */
function zip64Extra(values: number[]): Buffer {
  const extra = Buffer.alloc(4 + 8 * values.length);
  extra.writeUInt16LE(0x0001, 0);
  extra.writeUInt16LE(8 * values.length, 2);
  values.forEach((value, i) => extra.writeBigUInt64LE(BigInt(value), 4 + 8 * i));
  return extra;
}

function endOfDirectory(count: number, size: number, offset: number, force: boolean): Buffer {
  const zip64 = force || count >= 0xffff || size >= MAX32 || offset >= MAX32;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(zip64 ? 0xffff : count, 8);
  end.writeUInt16LE(zip64 ? 0xffff : count, 10);
  end.writeUInt32LE(zip64 ? MAX32 : size, 12);
  end.writeUInt32LE(zip64 ? MAX32 : offset, 16);
  if (!zip64) return end;
  const record = Buffer.alloc(56);
  record.writeUInt32LE(0x06064b50, 0);
  record.writeBigUInt64LE(44n, 4); // size of what follows
  record.writeUInt16LE((3 << 8) | 45, 12);
  record.writeUInt16LE(45, 14);
  record.writeBigUInt64LE(BigInt(count), 24);
  record.writeBigUInt64LE(BigInt(count), 32);
  record.writeBigUInt64LE(BigInt(size), 40);
  record.writeBigUInt64LE(BigInt(offset), 48);
  const locator = Buffer.alloc(20);
  locator.writeUInt32LE(0x07064b50, 0);
  locator.writeBigUInt64LE(BigInt(offset + size), 8); // where the Zip64 record starts
  locator.writeUInt32LE(1, 16); // disks
  return Buffer.concat([record, locator, end]);
}
