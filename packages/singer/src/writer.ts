import type { Writable } from 'node:stream';

import { stringifyExactJson } from './exact-json';
import type { Message } from './messages';

const FLUSH_AT = 64 * 1024;

/** What follows a RECORD's `record` object. */
function recordSuffix(timeExtracted: string | undefined): string {
  return timeExtracted === undefined ? '}' : `,"time_extracted":"${timeExtracted}"}`;
}

/**
 * The only code that writes Singer output. Lines are gathered into chunks of about 64 KiB
 * (one syscall each instead of one per message) and every write honours backpressure: when
 * the destination's buffer is full, the returned promise resolves only on 'drain'.
 */
export class MessageWriter {
  private buffer: string[] = [];
  private buffered = 0;
  private failure: Error | undefined;
  private draining: Promise<void> | undefined;
  private readonly recordPrefixes = new Map<string, string>();

  constructor(private readonly out: Writable = process.stdout) {
    out.on('error', (error: Error) => {
      this.failure = error;
    });
  }

  /** Queues one line (without its newline). Await the result when it is a promise. */
  writeLine(line: string): Promise<void> | undefined {
    this.buffer.push(line, '\n');
    this.buffered += line.length + 1;
    return this.buffered >= FLUSH_AT ? this.flushBuffer() : undefined;
  }

  write(message: Message): Promise<void> | undefined {
    return this.writeLine(stringifyExactJson(message));
  }

  /** A RECORD, serialised without building a message object per record. */
  writeRecord(stream: string, record: Record<string, unknown>, timeExtracted?: string): Promise<void> | undefined {
    return this.writeLine(this.recordPrefix(stream) + stringifyExactJson(record) + recordSuffix(timeExtracted));
  }

  /**
   * RECORDs whose `record` objects are given as JSON text (see `EncodedRecords`), one line each,
   * all with the same `time_extracted`. Await the result when it is a promise.
   */
  writeRecordTexts(stream: string, texts: readonly string[], timeExtracted?: string): Promise<void> | undefined {
    const prefix = this.recordPrefix(stream);
    const suffix = `${recordSuffix(timeExtracted)}\n`;
    let chunk = '';
    for (let i = 0; i < texts.length; i += 1) {
      chunk += prefix + (texts[i] as string) + suffix;
      // NOTE: written out in pieces of about FLUSH_AT: a batch's text joined in one string of
      // more than 128 KiB would go to V8's large-object space, which only a full collection
      // frees (peak RSS grew by ~10 MB that way). The last piece waits for the next batch.
      if (this.buffered + chunk.length >= FLUSH_AT && i < texts.length - 1) {
        this.buffer.push(chunk);
        this.buffered += chunk.length;
        chunk = '';
        this.writeOut();
      }
    }
    this.buffer.push(chunk);
    this.buffered += chunk.length;
    return this.buffered >= FLUSH_AT || this.draining !== undefined ? this.flushBuffer() : undefined;
  }

  /** `{"type":"RECORD","stream":"…","record":`, made once per stream. */
  private recordPrefix(stream: string): string {
    let prefix = this.recordPrefixes.get(stream);
    if (prefix === undefined) {
      prefix = `{"type":"RECORD","stream":${JSON.stringify(stream)},"record":`;
      this.recordPrefixes.set(stream, prefix);
    }
    return prefix;
  }

  /** A target's output: the bare JSON of a state value, flushed at once (Meltano reads it live). */
  async writeStateValue(value: unknown): Promise<void> {
    await this.writeLine(stringifyExactJson(value));
    await this.flush();
  }

  /**
   * Writes everything queued and waits until the destination has written it out, not only
   * taken it into its buffer: a process that exits right after (the CLI harness ends the
   * process once the run is over) must not cut off the tail of its output while a slow reader
   * keeps the pipe full.
   */
  async flush(): Promise<void> {
    await this.flushBuffer();
    if (this.out.writableLength > 0) await this.written();
  }

  /** Resolves when every write so far has completed (a write's callback comes after those before it). */
  private written(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.out.write('', (error) => (error ? reject(error) : resolve()));
    });
  }

  private async flushBuffer(): Promise<void> {
    if (this.failure) throw this.failure;
    this.writeOut();
    if (this.draining !== undefined) await this.draining;
    if (this.failure) throw this.failure;
  }

  /** Hands what is queued to the destination; when it is full, `draining` says until when. */
  private writeOut(): void {
    if (this.buffered === 0) return;
    const chunk = this.buffer.join('');
    this.buffer = [];
    this.buffered = 0;
    // Written at once, so output order never depends on who awaits what.
    if (!this.out.write(chunk) && this.draining === undefined) {
      this.draining = this.waitForDrain().finally(() => {
        this.draining = undefined;
      });
    }
  }

  private waitForDrain(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onDrain = (): void => {
        this.out.off('error', onError);
        this.out.off('close', onClose);
        resolve();
      };
      const onError = (error: Error): void => {
        this.out.off('drain', onDrain);
        this.out.off('close', onClose);
        reject(error);
      };
      const onClose = (): void => {
        this.out.off('drain', onDrain);
        this.out.off('error', onError);
        reject(this.failure ?? new Error('output closed'));
      };
      this.out.once('drain', onDrain);
      this.out.once('error', onError);
      this.out.once('close', onClose);
    });
  }
}
