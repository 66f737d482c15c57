/**
 * Part buffers for multipart uploads, shared by every upload of a run. A stream that has gone
 * quiet (a tap moves on to its next file) hands the buffers of its finished parts to the
 * stream still being written, instead of each stream keeping its own spares to the end.
 */
export class PartBufferPool {
  private readonly free: Buffer[] = [];

  constructor(
    /** Bytes per buffer: the uploads' part size. */
    readonly partSize: number,
    /** Spare buffers kept for reuse; more are dropped. */
    private readonly keep: number,
  ) {}

  /** A spare buffer, or a new one. */
  take(): Buffer {
    return this.free.pop() ?? PartBufferPool.allocate(this.partSize);
  }

  /** A buffer whose part is uploaded, for reuse. */
  give(buffer: Buffer): void {
    if (this.free.length < this.keep && buffer.length === this.partSize) this.free.push(buffer);
  }

  /**
   * A buffer outside the pool. Its memory becomes resident only as it is written, so a small
   * object costs what it holds, not a whole part.
   */
  static allocate(size: number): Buffer {
    return Buffer.allocUnsafeSlow(size);
  }
}
