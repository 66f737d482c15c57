import type { Readable } from 'node:stream';

import type { RunContext } from './context';
import { InputError, SingerError } from './errors';
import type { SchemaMessage } from './messages';
import { RecordCounter } from './metrics';
import { MessageParser, messageText, readLineBatches } from './reader';
import { RecordLineReader, RecordPattern } from './record-scanner';
import { normalizeSchema } from './schema-normalize';
import { checkStreamSchema, type Sink } from './sink';
import { RecordValidator } from './validate';
import type { MessageWriter } from './writer';

interface StreamSlot<S extends Sink> {
  sink: S;
  schemaText: string;
  validator: RecordValidator | undefined;
  /** Compiled when the sink takes scanned records and the SCHEMA allows it. */
  pattern: RecordPattern | undefined;
  /** Undefined when the SCHEMA lists no properties: then every property is kept. */
  properties: Set<string> | undefined;
  warnedProperties: Set<string>;
  counter: RecordCounter;
}

/**
 * A Singer target. Subclasses create a sink per stream and say how to commit and roll back;
 * the SDK owns the message loop and guarantees that a state value is printed only after every
 * record that came before its STATE was drained and committed.
 */
export abstract class Target<C = unknown, S extends Sink = Sink> {
  // NOTE: the loop's own fields are ES private (#) so a subclass field of the same name
  // can never overwrite them at run time, which TypeScript's `private` does not prevent.
  /**
   * Commit at every STATE (default). A target whose output only becomes durable at the end
   * (one object per stream per run) sets this to false: it then commits once, at end of input,
   * and prints the last state after that.
   */
  readonly commitOnState: boolean = true;

  /** Validate each record against its stream's SCHEMA (default true). */
  get validateRecords(): boolean {
    return true;
  }

  readonly #slots = new Map<string, StreamSlot<S>>();
  /** ACTIVATE_VERSION that came before its stream's first SCHEMA: applied when the SCHEMA comes. */
  readonly #earlyVersions = new Map<string, number>();
  #pendingState: { value: unknown; text: string } | undefined;
  #lastEmittedText: string | undefined;
  #uncommitted = false;

  constructor(
    readonly config: C,
    readonly context: RunContext,
  ) {}

  /** A sink for a stream whose first SCHEMA just arrived. */
  protected abstract createSink(schema: SchemaMessage): Promise<S>;

  /** Makes everything drained since the last commit durable. */
  protected abstract commit(): Promise<void>;

  /** Undoes everything since the last commit. Called on failure and on SIGTERM/SIGINT. */
  protected abstract rollback(): Promise<void>;

  /** Called once before the first message (connect, say). */
  protected async open(): Promise<void> {}

  /** Called once at the end, after success or failure (disconnect, say). */
  protected async close(): Promise<void> {}

  /** Every stream's sink, in the order their first SCHEMA came. */
  protected get sinks(): Iterable<S> {
    return [...this.#slots.values()].map((slot) => slot.sink);
  }

  /** Runs the whole input. Not meant to be overridden: it is what makes the state honest. */
  async run(input: Readable, writer: MessageWriter): Promise<void> {
    const { logger, signal } = this.context;
    await this.open();
    const parser = new MessageParser(logger);
    const records = new RecordLineReader((stream) => this.#slots.get(stream)?.pattern);
    let line = 0;
    try {
      for await (const batch of readLineBatches(input)) {
        if (signal.aborted) break;
        for (const raw of batch) {
          line += 1;
          const text = messageText(raw);
          if (text === undefined) continue;
          // The fast path: a RECORD its stream's pattern reads as text (see record-scanner.ts).
          const matched = this.#slots.size > 0 ? records.read(text) : undefined;
          if (matched !== undefined) {
            const stream = records.stream;
            const slot = this.#slots.get(stream) as StreamSlot<S>;
            const scanned = matched.record;
            const position = { line, record: slot.counter.count + 1, version: scanned.version, timeExtracted: scanned.timeExtracted };
            if (slot.sink.takesScanned(position)) {
              try {
                const done = slot.sink.acceptScanned(scanned, position);
                if (done) await done;
              } catch (error) {
                if (error instanceof SingerError) error.locate({ stream, line, record: position.record });
                throw error;
              }
              const drained = this.#counted(slot);
              if (drained) await drained;
              continue;
            }
          }
          const message = parser.parse(text, line);
          if (message === undefined) continue;
          switch (message.type) {
            case 'RECORD': {
              const slot = this.#slots.get(message.stream);
              if (!slot) {
                throw new InputError('RECORD for a stream that has had no SCHEMA yet', {
                  stream: message.stream,
                  line,
                  code: 'RECORD_BEFORE_SCHEMA',
                  hint: 'The tap must send a SCHEMA message before the first RECORD of each stream',
                });
              }
              const record = message.record;
              const number = slot.counter.count + 1;
              try {
                this.#dropUnknownProperties(slot, record);
                slot.validator?.validate(record);
                const done = slot.sink.accept(record, {
                  line,
                  record: number,
                  version: message.version,
                  timeExtracted: message.time_extracted,
                });
                if (done) await done;
              } catch (error) {
                if (error instanceof SingerError) error.locate({ stream: message.stream, line, record: number });
                throw error;
              }
              const drained = this.#counted(slot);
              if (drained) await drained;
              break;
            }
            case 'SCHEMA':
              try {
                await this.#acceptSchema(message);
              } catch (error) {
                if (error instanceof SingerError) error.locate({ stream: message.stream, line });
                throw error;
              }
              break;
            case 'STATE':
              this.#pendingState = { value: message.value, text: JSON.stringify(message.value) };
              if (this.commitOnState) await this.#checkpoint(writer);
              break;
            case 'ACTIVATE_VERSION': {
              const slot = this.#slots.get(message.stream);
              if (!slot) {
                // NOTE: tap-mysql's full-table sync announces the version before the SCHEMA.
                logger.warn(
                  `stream ${JSON.stringify(message.stream)}, line ${line}: ACTIVATE_VERSION ${message.version} came before the stream's SCHEMA; it takes effect when the SCHEMA arrives`,
                );
                this.#earlyVersions.set(message.stream, message.version);
                break;
              }
              await slot.sink.drain();
              await slot.sink.activateVersion(message.version);
              this.#uncommitted = true;
              break;
            }
          }
        }
      }
      signal.throwIfAborted();
      await this.#checkpoint(writer);
      for (const slot of this.#slots.values()) slot.counter.finish();
    } catch (error) {
      for (const slot of this.#slots.values()) {
        await slot.sink.abort().catch((cause: unknown) => {
          logger.debug(`stream ${JSON.stringify(slot.sink.stream)}: abort failed: ${String(cause)}`);
        });
      }
      await this.rollback().catch((cause: unknown) => {
        logger.debug(`rollback failed too: ${String(cause)}`);
      });
      throw error;
    } finally {
      for (const slot of this.#slots.values()) {
        await slot.sink.cleanUp().catch((cause: unknown) => {
          logger.debug(`stream ${JSON.stringify(slot.sink.stream)}: clean-up failed: ${String(cause)}`);
        });
      }
      await this.close();
    }
  }

  /** A record was accepted: count it, and drain its sink when that is full (no await otherwise). */
  #counted(slot: StreamSlot<S>): Promise<void> | undefined {
    this.#uncommitted = true;
    slot.counter.increment();
    return slot.sink.isFull ? slot.sink.drain() : undefined;
  }

  /** Drain every sink, let their drains settle, commit, then print the pending state value if it is new. */
  async #checkpoint(writer: MessageWriter): Promise<void> {
    for (const slot of this.#slots.values()) {
      if (!slot.sink.hasPending) continue;
      await slot.sink.drain();
      this.#uncommitted = true;
    }
    for (const slot of this.#slots.values()) await slot.sink.settle();
    if (this.#uncommitted) {
      this.context.signal.throwIfAborted();
      await this.commit();
      this.#uncommitted = false;
    }
    const state = this.#pendingState;
    if (state && state.text !== this.#lastEmittedText) {
      await writer.writeStateValue(state.value);
      this.#lastEmittedText = state.text;
    }
  }

  async #acceptSchema(received: SchemaMessage): Promise<void> {
    const existing = this.#slots.get(received.stream);
    const schemaText = JSON.stringify([received.schema, received.key_properties]);
    if (existing?.schemaText === schemaText) return;
    // One normalized object for the sink and the validator alike: a sink may add properties
    // it fills itself (`_sdc_deleted_at`), and the validator must know them.
    const schema: SchemaMessage = { ...received, schema: normalizeSchema(received.stream, received.schema, this.context.logger) };
    if (existing) {
      if (existing.sink.hasPending) await existing.sink.drain();
      checkStreamSchema(schema);
      await existing.sink.updateSchema(schema);
      Object.assign(existing, this.#describeSchema(schema, existing.sink), { schemaText });
      this.#uncommitted = true;
      return;
    }
    const sink = await this.createSink(schema);
    this.#slots.set(schema.stream, {
      sink,
      schemaText,
      ...this.#describeSchema(schema, sink),
      warnedProperties: new Set(),
      counter: new RecordCounter(schema.stream, this.context.logger),
    });
    this.#uncommitted = true;
    const early = this.#earlyVersions.get(schema.stream);
    if (early !== undefined) {
      this.#earlyVersions.delete(schema.stream);
      await sink.activateVersion(early);
    }
  }

  #describeSchema(schema: SchemaMessage, sink: S): Pick<StreamSlot<S>, 'validator' | 'properties' | 'pattern'> {
    return {
      pattern: sink.scansRecords ? RecordPattern.compile(schema.stream, schema.schema) : undefined,
      validator: this.validateRecords ? new RecordValidator(schema.stream, schema.schema, this.context.logger) : undefined,
      properties: schema.schema.properties ? new Set(Object.keys(schema.schema.properties)) : undefined,
    };
  }

  #dropUnknownProperties(slot: StreamSlot<S>, record: Record<string, unknown>): void {
    const known = slot.properties;
    if (!known) return;
    for (const key in record) {
      if (known.has(key)) continue;
      delete record[key];
      if (!slot.warnedProperties.has(key)) {
        slot.warnedProperties.add(key);
        this.context.logger.warn(
          `stream ${JSON.stringify(slot.sink.stream)}: property ${JSON.stringify(key)} is not in the stream's SCHEMA; dropping it`,
        );
      }
    }
  }
}
