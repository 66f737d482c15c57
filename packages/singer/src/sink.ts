import type { RunContext } from './context';
import { InputError } from './errors';
import type { Logger } from './logging';
import type { SchemaMessage } from './messages';
import type { ScannedRecord } from './record-scanner';

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
 * A SCHEMA a sink can load: it lists properties, and every key property is one of them.
 * Throws an `InputError` naming the stream otherwise.
 */
export function checkStreamSchema(schema: SchemaMessage): void {
  const properties = schema.schema.properties;
  if (!properties || Object.keys(properties).length === 0) {
    throw new InputError('SCHEMA has no properties, so there is no column to load', {
      stream: schema.stream,
      code: 'SCHEMA_WITHOUT_PROPERTIES',
      hint: 'The tap must describe each record property under "schema.properties"',
    });
  }
  for (const key of schema.key_properties) {
    if (!(key in properties)) {
      throw new InputError(`key property ${JSON.stringify(key)} is not in the stream's SCHEMA`, {
        stream: schema.stream,
        column: key,
        code: 'KEY_NOT_IN_SCHEMA',
      });
    }
  }
}

/**
 * Receives one stream's records for a target. The lifecycle is the SDK's; a sink fills in what
 * is its own:
 *
 * - `processRecord` per validated record (buffer it, or push it on at once);
 * - `processBatch` when the SDK drains (`batchSize` records pending, a SCHEMA change, before
 *   every commit): push what is buffered into the destination, inside the open transaction.
 *   Work a drain starts but need not wait for (a merge the database runs while the next batch
 *   is read) is handed to `runInBackground`; the SDK settles it before it commits;
 * - `updateSchema`, `activateVersion`, `abort` and `cleanUp` where the destination needs them.
 *
 * The base counts pending records, checks each SCHEMA, and gives the sink a logger whose
 * lines name the stream.
 */
export abstract class Sink {
  readonly stream: string;
  schema: SchemaMessage;
  /** Lines start with `stream "name": `. */
  protected readonly logger: Logger;
  #pending = 0;
  readonly #background = new Set<Promise<void>>();
  #backgroundFailure: unknown;

  constructor(
    schema: SchemaMessage,
    protected readonly context: RunContext,
    /** Records per drain; bounds memory. */
    protected readonly batchSize: number = DEFAULT_BATCH_SIZE,
  ) {
    checkStreamSchema(schema);
    this.stream = schema.stream;
    this.schema = schema;
    this.logger = context.logger.child(`stream ${JSON.stringify(schema.stream)}`);
  }

  get keyProperties(): string[] {
    return this.schema.key_properties;
  }

  /** Records accepted since the last drain. */
  get pending(): number {
    return this.#pending;
  }

  /** Whether the SDK should drain now. Default: `batchSize` records are pending. */
  get isFull(): boolean {
    return this.#pending >= this.batchSize;
  }

  /** Whether a drain has anything to do. */
  get hasPending(): boolean {
    return this.#pending > 0;
  }

  /** Hands one validated record to `processRecord` and counts it. Called by the SDK only. */
  accept(record: Record<string, unknown>, position: RecordPosition): void | Promise<void> {
    const done = this.processRecord(record, position);
    this.#pending += 1;
    return done;
  }

  /**
   * Whether this sink has a path for scanned records (`processScanned`) at all: then the SDK
   * compiles a scanner per SCHEMA. Default: no.
   */
  get scansRecords(): boolean {
    return false;
  }

  /**
   * Whether the SDK may hand the record at `position` over as scanned text (`processScanned`)
   * rather than as an object. Default: never. A sink says yes only when it can write the record
   * from its tokens now.
   */
  takesScanned(_position: RecordPosition): boolean {
    return false;
  }

  /**
   * `accept` for a record the SDK scanned rather than parsed (see record-scanner.ts): valid,
   * only SCHEMA properties, every value flat. Called by the SDK only, after `takesScanned`.
   */
  acceptScanned(record: ScannedRecord, position: RecordPosition): void | Promise<void> {
    const done = this.processScanned(record, position);
    this.#pending += 1;
    return done;
  }

  /**
   * Accepts one scanned record; `record` is reused for the next line, so read it now. Default:
   * as an object, through `processRecord`.
   */
  protected processScanned(record: ScannedRecord, position: RecordPosition): void | Promise<void> {
    return this.processRecord(record.toObject(), position);
  }

  /** Drains the pending batch into the destination. Called by the SDK only. */
  async drain(): Promise<void> {
    this.#pending = 0;
    await this.processBatch();
  }

  /** Waits for the work earlier drains left running; throws the first failure. Called by the SDK. */
  async settle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all(this.#background);
    if (this.#backgroundFailure !== undefined) throw this.#backgroundFailure;
  }

  /** Accepts one validated record. May buffer it; may push it to the destination right away. */
  protected abstract processRecord(record: Record<string, unknown>, position: RecordPosition): void | Promise<void>;

  /**
   * Pushes every buffered record into the destination, inside the target's open transaction.
   * Default: nothing (a sink that writes each record at once has nothing buffered).
   */
  protected async processBatch(): Promise<void> {}

  /**
   * Lets `work`, already started, finish while records keep coming; `settle()` (before every
   * commit) waits for it and reports its failure. The sink orders such work itself.
   */
  protected runInBackground(work: Promise<void>): void {
    const tracked: Promise<void> = work
      .catch((error: unknown) => {
        this.#backgroundFailure ??= error;
      })
      .finally(() => {
        this.#background.delete(tracked);
      });
    this.#background.add(tracked);
  }

  /**
   * A new SCHEMA for this stream arrived (after a drain), already checked. Default: adopt it.
   * Override to evolve the destination (add columns, widen types) and call `super`.
   */
  async updateSchema(schema: SchemaMessage): Promise<void> {
    this.schema = schema;
  }

  /**
   * ACTIVATE_VERSION: rows of older versions are superseded. Default: nothing (a sink that
   * cannot express versions keeps every row).
   */
  async activateVersion(_version: number): Promise<void> {}

  /**
   * The run failed or was interrupted and the target rolls back: forget what is buffered and
   * in flight. Override to stop the destination's own work; call `super.abort()` last.
   */
  async abort(): Promise<void> {
    this.#pending = 0;
    while (this.#background.size > 0) await Promise.all(this.#background);
    this.#backgroundFailure = undefined;
  }

  /** Called once at the end of the run, after the last commit or the rollback: report totals. */
  async cleanUp(): Promise<void> {}
}
