import type { RunContext } from './context';
import type { SchemaMessage } from './messages';

/** Where a record came from, for errors. */
export interface RecordPosition {
  /** Input line of the RECORD message. */
  line: number;
  /** 1-based record number within the stream. */
  record: number;
  /** The RECORD's `version`, when it has one (ACTIVATE_VERSION streams). */
  version?: number;
  /** The RECORD's `time_extracted`, when it has one. */
  timeExtracted?: string;
}

export const DEFAULT_BATCH_SIZE = 10_000;

/**
 * Receives one stream's records for a target. The SDK calls `processRecord` per record, `drain`
 * when `isFull` and before every commit, and never prints a state before those drains and the
 * target's commit have finished.
 */
export abstract class Sink {
  readonly stream: string;
  schema: SchemaMessage;
  /** Records accepted since the last drain; subclasses that buffer keep it current. */
  protected pending = 0;

  constructor(
    schema: SchemaMessage,
    protected readonly context: RunContext,
    /** Records per drain; bounds memory. */
    protected readonly batchSize: number = DEFAULT_BATCH_SIZE,
  ) {
    this.stream = schema.stream;
    this.schema = schema;
  }

  get keyProperties(): string[] {
    return this.schema.key_properties;
  }

  /** Accepts one validated record. May buffer; may push to the destination right away. */
  abstract processRecord(record: Record<string, unknown>, position: RecordPosition): void | Promise<void>;

  /** Whether the SDK should drain now. Default: `batchSize` records are pending. */
  get isFull(): boolean {
    return this.pending >= this.batchSize;
  }

  /** Whether anything awaits a drain. */
  get hasPending(): boolean {
    return this.pending > 0;
  }

  /**
   * Pushes every pending record into the destination, inside the target's open transaction.
   * Override and call `super.drain()` last (it resets the pending count), or reset it yourself.
   */
  async drain(): Promise<void> {
    this.pending = 0;
  }

  /**
   * A new SCHEMA for this stream arrived (after a drain). Default: adopt it. Override to
   * evolve the destination (add columns, widen types).
   */
  async updateSchema(schema: SchemaMessage): Promise<void> {
    this.schema = schema;
  }

  /**
   * ACTIVATE_VERSION: rows of older versions are superseded. Default: nothing (a sink that
   * cannot express versions keeps every row).
   */
  async activateVersion(_version: number): Promise<void> {}
}
