import { Writable } from 'node:stream';

import { LosslessNumber, MessageWriter } from '../../src';

/** A destination that accepts little at a time and says so, like a slow pipe. */
class SlowSink extends Writable {
  chunks: string[] = [];
  constructor() {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    setTimeout(callback, 1);
  }
}

describe('MessageWriter', () => {
  it('waits for drain when the destination is full, so memory stays bounded', async () => {
    const out = new SlowSink();
    const writer = new MessageWriter(out);
    let awaited = 0;
    for (let n = 0; n < 5_000; n += 1) {
      const pending = writer.writeRecord('s', { n, padding: 'x'.repeat(100) });
      if (pending) {
        awaited += 1;
        await pending;
        expect(out.writableLength).toBeLessThanOrEqual(out.writableHighWaterMark + 70 * 1024);
      }
    }
    await writer.flush();
    expect(awaited).toBeGreaterThan(0);
    const lines = out.chunks.join('').trim().split('\n');
    expect(lines).toHaveLength(5_000);
    expect(JSON.parse(lines[4_999]!)).toEqual({ type: 'RECORD', stream: 's', record: { n: 4_999, padding: 'x'.repeat(100) } });
  });

  it('writes encoded records in pieces of about 64 KiB and waits for drain after each batch', async () => {
    const out = new SlowSink();
    const writer = new MessageWriter(out);
    let n = 0;
    for (let batch = 0; batch < 20; batch += 1) {
      const texts: string[] = [];
      for (let i = 0; i < 1_000; i += 1, n += 1) texts.push(`{"n":${n},"padding":"${'x'.repeat(100)}"}`);
      const pending = writer.writeRecordTexts('s', texts, '2024-01-01T00:00:00.000Z');
      if (pending) await pending;
      // At most a batch's text beyond the destination's own buffer.
      expect(out.writableLength).toBeLessThanOrEqual(out.writableHighWaterMark + 200 * 1024);
    }
    await writer.flush();
    // No piece of more than ~64 KiB plus one line: V8 keeps strings under 128 KiB out of its large-object space.
    expect(Math.max(...out.chunks.map((chunk) => chunk.length))).toBeLessThan(70 * 1024);
    const lines = out.chunks.join('').trim().split('\n');
    expect(lines).toHaveLength(20_000);
    expect(JSON.parse(lines[12_345]!)).toEqual({
      type: 'RECORD',
      stream: 's',
      record: { n: 12_345, padding: 'x'.repeat(100) },
      time_extracted: '2024-01-01T00:00:00.000Z',
    });
  });

  it('flush() returns only once the destination has written the tail out, not just buffered it', async () => {
    // Like a pipe whose reader is slow: the write is accepted (no backpressure) but completes later.
    const written: string[] = [];
    const out = new Writable({
      highWaterMark: 1024 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        setTimeout(() => {
          written.push(chunk.toString());
          callback();
        }, 50);
      },
    });
    const writer = new MessageWriter(out);
    expect(writer.writeRecord('s', { n: 1 })).toBeUndefined();
    await writer.flush();
    expect(written.join('')).toBe('{"type":"RECORD","stream":"s","record":{"n":1}}\n');
  });

  it('writes exact numbers as bare JSON numbers', async () => {
    const out = new SlowSink();
    const writer = new MessageWriter(out);
    writer.writeRecord('s', { big: new LosslessNumber('12345678901234567890'), small: 1.5 }, '2024-01-01T00:00:00.000Z');
    await writer.flush();
    expect(out.chunks.join('')).toBe(
      '{"type":"RECORD","stream":"s","record":{"big":12345678901234567890,"small":1.5},"time_extracted":"2024-01-01T00:00:00.000Z"}\n',
    );
  });

  it('writes a state value as one bare JSON line, flushed at once', async () => {
    const out = new SlowSink();
    const writer = new MessageWriter(out);
    await writer.writeStateValue({ bookmarks: { s: { at: 1 } } });
    expect(out.chunks.join('')).toBe('{"bookmarks":{"s":{"at":1}}}\n');
  });
});
