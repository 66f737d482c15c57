import { Readable } from 'node:stream';

/** Characters gathered before they are handed on as one chunk (one CopyData message). */
const CHUNK_CHARS = 64 * 1024;

/**
 * The readable end of a COPY: the sink writes rows into it as records arrive, and it is
 * piped (with `stream/promises.pipeline`) into a pg-copy-streams `COPY FROM STDIN`. Rows are
 * gathered into chunks of about 64 KiB; `write` returns a promise only when the chunk could
 * not be handed on (the socket is behind), and that promise resolves when the pipe asks for
 * more, so memory stays at a few chunks whatever the input size.
 */
export class CopyFeed extends Readable {
  private buffer = '';
  private waiting: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor() {
    super({ highWaterMark: 4 * CHUNK_CHARS });
  }

  /** Queues one row (with its newline). Returns a promise when the caller must wait. */
  write(row: string): Promise<void> | undefined {
    this.buffer += row;
    if (this.buffer.length < CHUNK_CHARS) return undefined;
    return this.handOn();
  }

  /** Hands on what is buffered and ends the data. */
  finish(): void {
    if (this.destroyed) return;
    if (this.buffer !== '') this.push(Buffer.from(this.buffer, 'utf8'));
    this.buffer = '';
    this.push(null);
  }

  private handOn(): Promise<void> | undefined {
    if (this.destroyed) return Promise.reject(this.errored ?? new Error('the COPY stream was closed'));
    const chunk = Buffer.from(this.buffer, 'utf8');
    this.buffer = '';
    if (this.push(chunk)) return undefined;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  override _read(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    this.buffer = '';
    waiting?.reject(error ?? new Error('the COPY stream was closed'));
    callback(error);
  }
}
