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
   * Yields every record to emit, each matching `schema` (only selected properties). Must
   * stream: never collect a source's rows in memory.
   */
  abstract getRecords(context: StreamContext): AsyncIterable<Record<string, unknown>>;
}
