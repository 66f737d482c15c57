import { Readable } from 'node:stream';

/** Bytes of rows gathered before they are handed to the COPY as one chunk. */
export const COPY_CHUNK_CHARS = 64 * 1024;

/**
 * The readable end of one `COPY FROM STDIN`: piped (with `stream/promises.pipeline`) into a
 * pg-copy-streams query. The sink hands it chunks of rows; `write` returns a promise only when
 * the chunk could not be handed on (the socket is behind), and that promise resolves when the
 * pipe asks for more, so memory stays at a few chunks whatever the input size.
 */
export class CopyFeed extends Readable {
  private waiting: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor() {
    super({ highWaterMark: 4 * COPY_CHUNK_CHARS });
  }

  /** Hands on one chunk of rows. Returns a promise when the caller must wait before the next. */
  write(chunk: Buffer | string): Promise<void> | undefined {
    if (this.destroyed) return Promise.reject(this.errored ?? new Error('the COPY stream was closed'));
    if (this.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk)) return undefined;
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** Ends the data: the COPY completes once PostgreSQL has read it all. */
  finish(): void {
    if (!this.destroyed) this.push(null);
  }

  override _read(): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.resolve();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error ?? new Error('the COPY stream was closed'));
    callback(error);
  }
}
