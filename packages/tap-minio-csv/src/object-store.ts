/**
 * The narrow storage interface the tap reads through: list keys, read one object. S3 is one
 * implementation (`S3ObjectStore`); tests run the CSV path over local files with another.
 */

/** One object as a listing saw it. */
export interface ObjectRef {
  readonly key: string;
  readonly size: number;
  /** The ETag exactly as listed (quotes included); reads insist on this version. */
  readonly etag: string;
  /** Truncated to whole seconds: S3's LastModified has one-second resolution. */
  readonly lastModified: Date;
}

export interface ObjectStore {
  readonly bucket: string;
  /**
   * Every object under `prefix`, in the store's order (S3: key order), page by page: never
   * the whole listing at once.
   */
  list(prefix: string, signal?: AbortSignal): AsyncIterable<ObjectRef>;
  /** The store's own clock, truncated to whole seconds (LastModified is stamped by it). */
  now(signal?: AbortSignal): Promise<Date>;
  /**
   * The bytes of exactly the version `ref` names. A version that changed since the listing is
   * an error (`S3_OBJECT_CHANGED`), never a mix of two versions. `undefined` when the object
   * was deleted since the listing.
   */
  read(ref: ObjectRef, signal?: AbortSignal): Promise<AsyncIterable<Buffer> | undefined>;
  /** `s3://bucket/key`, how errors and logs name an object. */
  describe(key: string): string;
}

/** Truncates a date to whole seconds, the resolution S3 keeps LastModified at. */
export function toWholeSecond(date: Date): Date {
  const ms = date.getTime();
  return new Date(ms - (((ms % 1000) + 1000) % 1000));
}
