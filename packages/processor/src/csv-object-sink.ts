import type { S3Client } from '@aws-sdk/client-s3';
import { openCsv, type RecordPosition, type RunContext, type ScannedRecord, type SchemaMessage, Sink } from '@singer-ts/singer';

import type { ProcessorConfig } from './config';
import { CsvObjectWriter } from './csv-object-writer';
import { CsvRowEncoder } from './csv-rows';
import type { PartBufferPool } from './part-buffer-pool';
import { compileStreamRules } from './rules';
import { deleteObject, openObject } from './s3-objects';

/** Where a stream's CSV goes. */
export interface CsvObjectTarget {
  readonly client: S3Client;
  readonly config: ProcessorConfig;
  /** The object's key once the run commits. */
  readonly key: string;
  /** A private key for the object while the run is open; `generation` counts header changes. */
  stagingKey(generation: number): string;
  /** Part size for multipart uploads (tests use S3's 5 MiB floor). */
  readonly partSize?: number;
  /** Part buffers shared by the run's streams. */
  readonly pool?: PartBufferPool;
}

/** The SCHEMA's columns; the SDK has checked that it lists some. */
function schemaColumns(schema: SchemaMessage): string[] {
  return Object.keys(schema.schema.properties ?? {});
}

/**
 * One stream's CSV object. Each record is cleaned by the stream's rules and written at once
 * to a staging object in S3 (a multipart upload, so nothing is visible yet); `finish()`
 * completes it at the end of the run, and the processor then puts it at its final key.
 *
 * Columns are the union of every SCHEMA the stream had in the run, in order of appearance.
 * A SCHEMA that adds columns after records were written makes the header wider, and a CSV
 * header comes first: the rows so far are completed as a staging object, streamed back
 * through a new upload with the wider header (the new columns null in those rows), and the
 * old staging object deleted. That costs one re-read of the rows so far, per widening, and
 * never holds them in memory. A SCHEMA that removes columns keeps them, null from then on.
 */
export class CsvObjectSink extends Sink {
  private header: string[] = [];
  private rowEncoder!: CsvRowEncoder;
  private writer: CsvObjectWriter | undefined;
  private generation = 0;
  /** Staging objects already completed that are not yet published or deleted. */
  private readonly leftovers = new Set<string>();
  private warnedSingleNull = false;

  constructor(
    schema: SchemaMessage,
    context: RunContext,
    private readonly target: CsvObjectTarget,
  ) {
    super(schema, context);
    this.adopt(schema);
  }

  /** The final object key. */
  get key(): string {
    return this.target.key;
  }

  /** The output columns, as the header will have them. */
  get columns(): readonly string[] {
    return this.header;
  }

  /** Records written so far (rows of the object). */
  get rows(): number {
    return this.writer?.rows ?? 0;
  }

  protected override processRecord(record: Record<string, unknown>, _position: RecordPosition): void | Promise<void> {
    return this.writeRow(this.rowEncoder.fromRecord(record));
  }

  override get scansRecords(): boolean {
    return true;
  }

  override takesScanned(): boolean {
    return true;
  }

  /** `processRecord` for a record the SDK matched as text: values read from it, no object made. */
  protected override processScanned(record: ScannedRecord, _position: RecordPosition): void | Promise<void> {
    return this.writeRow(this.rowEncoder.fromScanned(record));
  }

  private writeRow(line: string): void | Promise<void> {
    if (line === '') this.warnSingleNull();
    this.writer ??= this.startWriter(this.header);
    return this.writer.writeLine(`${line}\r\n`, this.context.signal);
  }

  override async updateSchema(schema: SchemaMessage): Promise<void> {
    const before = this.header;
    this.adopt(schema);
    await super.updateSchema(schema);
    if (this.writer && this.header.length > before.length) await this.widen(before);
  }

  /**
   * Completes the staging upload. Returns its key, or undefined when the stream had no
   * record (then no object is written).
   */
  async finish(): Promise<string | undefined> {
    const writer = this.writer;
    if (!writer) return undefined;
    await writer.finish();
    this.leftovers.add(writer.key);
    return writer.key;
  }

  /** The staging object was copied to its final key and deleted. */
  published(stagingKey: string): void {
    this.leftovers.delete(stagingKey);
  }

  /** Aborts the upload in progress and deletes completed staging objects. Never throws. */
  override async abort(): Promise<void> {
    const reason = this.context.signal.aborted ? 'interrupted' : 'the run failed';
    const writer = this.writer;
    if (writer) {
      await writer.abort(reason);
      // A finish() racing this abort may have completed the upload after all.
      if (writer.isComplete) this.leftovers.add(writer.key);
    }
    for (const key of this.leftovers) {
      await deleteObject(this.target.client, this.target.config.bucket, key).catch((error: unknown) => {
        this.context.logger.warn(`could not delete staging object ${key}: ${(error as Error).message}`);
      });
    }
    this.leftovers.clear();
    await super.abort();
  }

  private adopt(schema: SchemaMessage): void {
    const { stream } = this;
    const compiled = compileStreamRules(stream, schemaColumns(schema), this.target.config.rules, {
      hashKey: this.target.config.hashKey,
    });
    const header = [...this.header, ...compiled.columns.filter((c) => !this.header.includes(c))];
    this.header = header;
    this.rowEncoder = new CsvRowEncoder(header, compiled, schema.schema.properties ?? {});
  }

  private startWriter(columns: readonly string[]): CsvObjectWriter {
    const { client, config } = this.target;
    const key = this.target.stagingKey(this.generation);
    this.generation += 1;
    this.logger.debug(`staging at s3://${config.bucket}/${key}`);
    return new CsvObjectWriter({
      client,
      bucket: config.bucket,
      key,
      columns,
      gzip: config.compression === 'gzip',
      logger: this.context.logger,
      partSize: this.target.partSize,
      pool: this.target.pool,
    });
  }

  /** Rewrites the rows so far under the wider header (see the class comment). */
  private async widen(oldHeader: readonly string[]): Promise<void> {
    const { client, config } = this.target;
    const old = this.writer!;
    this.writer = undefined;
    await old.finish();
    this.leftovers.add(old.key);
    const added = this.header.filter((c) => !oldHeader.includes(c));
    this.logger.info(
      `SCHEMA adds ${added.map((c) => JSON.stringify(c)).join(', ')} after ${old.rows} records; rewriting them with the wider header`,
    );
    const next = this.startWriter(this.header);
    this.writer = next;
    const source = `s3://${config.bucket}/${old.key}`;
    const csv = await openCsv(await openObject(client, config.bucket, old.key), { file: source, stream: this.stream });
    const positions = this.header.map((column) => csv.header.indexOf(column));
    try {
      for await (const { fields } of csv.rows) {
        const wait = next.write(positions.map((at) => (at < 0 ? null : (fields[at] ?? null))), this.context.signal);
        if (wait) await wait;
      }
    } finally {
      csv.close();
    }
    await deleteObject(client, config.bucket, old.key);
    this.leftovers.delete(old.key);
  }

  private warnSingleNull(): void {
    if (this.warnedSingleNull) return;
    this.warnedSingleNull = true;
    this.logger.warn(
      `a null in a one-column CSV is an empty line, which CSV readers (tap-minio-csv included) skip`,
    );
  }
}
