import { type Catalog, type CatalogEntry, isStreamSelected } from './catalog';
import type { RunContext } from './context';
import { ConfigError } from './errors';
import { RecordCounter } from './metrics';
import { type State, withBookmark } from './state';
import { EncodedRecords, type Stream, type StreamContext } from './stream';
import type { MessageWriter } from './writer';

/** A cached ISO timestamp: `new Date().toISOString()` per record would dominate a fast tap. */
class Clock {
  private lastMs = 0;
  private text = '';

  now(): string {
    const ms = Date.now();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.text = new Date(ms).toISOString();
    }
    return this.text;
  }
}

/**
 * A Singer tap. Subclasses say what streams exist (`discover`) and how to read one
 * (`createStream`); the SDK owns the sync loop, message order and STATE.
 */
export abstract class Tap<C = unknown> {
  /**
   * Bookmarks to move without syncing their streams: `entriesToSync` may leave a stream out as
   * unchanged yet record that it is current. They are part of every STATE the sync writes.
   */
  protected readonly carriedBookmarks = new Map<string, unknown>();

  constructor(
    readonly config: C,
    readonly context: RunContext,
  ) {}

  /** Every stream the tap can emit, with discovered schemas and metadata (`--discover`). */
  abstract discover(): Promise<CatalogEntry[]>;

  /** The stream for one selected catalog entry. The entry's schema is what to emit. */
  abstract createStream(entry: CatalogEntry): Stream | Promise<Stream>;

  /**
   * The entries to sync: the selected ones of the given catalog, or, without a catalog, every
   * discovered stream (as singer taps do when run bare). Override to skip streams the state
   * says are done (the default keeps every selected one).
   */
  protected async entriesToSync(catalog: Catalog | undefined, _state: State): Promise<CatalogEntry[]> {
    if (catalog) {
      const selected = catalog.streams.filter(isStreamSelected);
      if (selected.length === 0) this.context.logger.warn('the catalog selects no stream: nothing to sync');
      return selected;
    }
    return this.discover();
  }

  /**
   * The state a sync starts from, given the one passed with `--state` (`{}` when none): check
   * that it belongs to this run (a tap that splits streams into units refuses another unit's
   * state here) and keep what the run needs. What it returns is the base of every STATE the
   * sync writes. Default: the state as given.
   */
  protected prepareState(state: State, _catalog: Catalog | undefined): State | Promise<State> {
    return state;
  }

  /**
   * The units of work (`--list-units`, offered when the connector's spec declares `units`):
   * one plain object per unit, each printed as one JSON line, in a stable order. Taps that
   * declare units override it; the default says there are none.
   */
   
  async *listUnits(_catalog: Catalog | undefined, _state: State): AsyncIterable<object> {
    throw new ConfigError('this tap does not split its streams into units of work', { hint: 'Run it without --list-units' });
  }

  /**
   * Called once after a sync or discovery, whether it succeeded, failed or was interrupted:
   * remove temporary files, close clients. Default: nothing.
   */
  async close(): Promise<void> {}

  /** Runs a whole sync. Not meant to be overridden: it is what makes STATE trustworthy. */
  async sync(catalog: Catalog | undefined, initialState: State, writer: MessageWriter): Promise<void> {
    const { logger, signal } = this.context;
    let state = await this.prepareState(initialState, catalog);
    const entries = await this.entriesToSync(catalog, state);
    for (const [stream, bookmark] of this.carriedBookmarks) state = withBookmark(state, stream, bookmark);
    const clock = new Clock();
    for (const entry of entries) {
      signal.throwIfAborted();
      const stream = await this.createStream(entry);
      const streamLogger = logger.child(stream.name);
      await writer.write({
        type: 'SCHEMA',
        stream: stream.name,
        schema: stream.schema,
        key_properties: stream.keyProperties,
        ...(stream.replicationKey ? { bookmark_properties: [stream.replicationKey] } : {}),
      });
      const counter = new RecordCounter(stream.name, logger);
      const context: StreamContext = {
        bookmark: state.bookmarks?.[stream.stateKey],
        setBookmark: async (bookmark) => {
          state = withBookmark(state, stream.stateKey, bookmark);
          await writer.write({ type: 'STATE', value: state });
        },
        logger: streamLogger,
        signal,
      };
      for await (const record of stream.getRecords(context)) {
        if (record instanceof EncodedRecords) {
          const pending = writer.writeRecordTexts(stream.name, record.texts, clock.now());
          if (pending) await pending;
          counter.increment(record.texts.length);
        } else {
          const pending = writer.writeRecord(stream.name, record, clock.now());
          if (pending) await pending;
          counter.increment();
        }
      }
      counter.finish();
    }
    await writer.write({ type: 'STATE', value: state });
    await writer.flush();
  }
}
