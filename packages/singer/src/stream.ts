import { type CatalogEntry, keyProperties, replicationKey, selectedSchema } from './catalog';
import type { Logger } from './logging';
import type { JsonSchema } from './messages';

/** What a stream may do while the SDK syncs it. */
export interface StreamContext {
  /** This stream's bookmark from the state given with `--state` (undefined when none). */
  readonly bookmark: unknown;
  /**
   * Records a new bookmark and writes a STATE message at once. Call it between records, after
   * yielding the last record the bookmark covers: every record yielded before the call is
   * written before the STATE, every record after it after.
   */
  setBookmark(bookmark: unknown): Promise<void>;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/**
 * Records a stream has encoded itself, each the JSON text of one record object (`{"id":1}`),
 * all extracted at the same moment (one `time_extracted`). A stream whose records come out of
 * a compiled encoder (CSV fields straight to JSON text) yields these from `getRecords()`: it
 * saves building an object per record, serialising it again and an await per record. The text
 * must be what `JSON.stringify` (or `stringifyExactJson`, for exact numbers) would give a record
 * of the stream's schema, up to spelling: the SDK writes it as it is.
 */
export class EncodedRecords {
  constructor(readonly texts: readonly string[]) {}
}

/**
 * One Singer stream of a tap. Subclasses implement `getRecords()` as an async generator; the
 * SDK writes SCHEMA before the first record, each RECORD with `time_extracted`, STATE when the
 * stream moves its bookmark, and METRIC lines.
 */
export abstract class Stream {
  /** The stream name written in SCHEMA and RECORD messages. */
  readonly name: string;
  /** The selected part of the catalog schema: what the records hold. */
  readonly schema: JsonSchema;
  readonly keyProperties: string[];
  /** Set for incremental streams with a replication key; written as `bookmark_properties`. */
  readonly replicationKey: string | undefined;

  constructor(readonly entry: CatalogEntry) {
    this.name = entry.stream;
    this.schema = selectedSchema(entry);
    this.keyProperties = keyProperties(entry);
    this.replicationKey = replicationKey(entry);
  }

  /** The stream's state key; defaults to the catalog's `tap_stream_id`. */
  get stateKey(): string {
    return this.entry.tap_stream_id;
  }

  /**
   * Yields every record to emit, each matching `schema` (only selected properties): as an
   * object, or as a batch of records already encoded (`EncodedRecords`). Must stream: never
   * collect a source's rows in memory (a batch is one chunk's worth).
   */
  abstract getRecords(context: StreamContext): AsyncIterable<Record<string, unknown> | EncodedRecords>;
}
