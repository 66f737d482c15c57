import {
  type JsonSchema,
  metadataColumnsFor,
  type MetadataKind,
  RecordMetadata,
  type RecordPosition,
  type RunContext,
  type ScannedRecord,
  type SchemaMessage,
  SDC_DELETED_AT,
  Sink,
} from '@singer-ts/singer';

import type { LoadMethod } from './config';
import { ColumnTooNarrowError, COPY_NULL, CopyEncoder, escapeCopyText } from './copy-encoder';
import { COPY_CHUNK_CHARS } from './copy-feed';
import { qualifiedName, quoteIdent, safeIdentifier } from './identifiers';
import { deleteThenUpsertSql, type MergeSpec, truncateStageSql, upsertSql } from './merge-sql';
import { type CopyRows, sqlState } from './pg-errors';
import type { CopyBatch, PgSession, Queryable, UnitConnection } from './pg-session';
import type { TableManager } from './table-manager';
import { columnSpecs, layoutColumns, type Plan, planFor, stageDefinitions } from './table-plan';

/** Bytes of rows all streams encode ahead (as chunks) while the connection does other work (a merge). */
const HELD_BYTES_LIMIT = 32 * 1024 * 1024;

/**
 * Bytes of rows an upsert sends as one unit (one COPY): the rows are kept until PostgreSQL has
 * taken them, so that a unit a first load cannot insert as they are can go through the staging
 * table instead. Two units per stream at most are kept: one PostgreSQL works on, one being made.
 */
const UNIT_BYTES = 4 * 1024 * 1024;

const DELETED_AT_SCHEMA: JsonSchema = { type: ['null', 'string'], format: 'date-time' };

export interface PostgresSinkSettings {
  readonly targetSchema: string;
  readonly loadMethod: LoadMethod | undefined;
  readonly addRecordMetadata: boolean;
  readonly hardDelete: boolean;
  readonly sanitizeNullTextCharacters: boolean;
  readonly batchSizeRows: number;
}

/**
 * Prepares a SCHEMA before the SDK builds its validator from it (the SDK validates against this
 * same object): adds `_sdc_deleted_at` when the target needs it (hard deletes, record metadata)
 * so it is kept on records rather than dropped as unknown.
 */
export function prepareSchema(schema: SchemaMessage, needsDeletedAt: boolean): SchemaMessage {
  const properties = schema.schema.properties;
  if (needsDeletedAt && properties && !(SDC_DELETED_AT in properties)) properties[SDC_DELETED_AT] = DELETED_AT_SCHEMA;
  return schema;
}

/** A plan with the encoder that writes its rows. */
interface Writer {
  readonly plan: Plan;
  readonly encoder: CopyEncoder;
  readonly metadata: readonly MetadataKind[];
  /** `COPY … FROM STDIN` into the table (append-only, or an upsert that only adds keys). */
  readonly copySql: string;
  /** `COPY … FROM STDIN` into the staging table (upsert). */
  readonly stageSql: string | undefined;
  readonly merge: MergeSpec | undefined;
}

/**
 * Loads one stream into one table. Rows stream into PostgreSQL as records arrive, all inside
 * the target's open transaction: append-only with one COPY straight into the table; upsert in
 * units of a few MB, straight into the table while every key is new (a first load), then into
 * a staging temp table that each drain merges with `INSERT … ON CONFLICT … DO UPDATE`.
 * Every statement goes through the session as a unit of work: the sink never touches the
 * connection, so another stream's work can never run in the middle of its own.
 *
 * The table, and each column a SCHEMA adds, is made when the SCHEMA arrives, so it exists after
 * the next commit whether or not records come.
 */
export class PostgresSink extends Sink {
  private writer: Writer | undefined;
  /** Encoded rows not yet handed to the COPY, with where each came from. */
  private rows = '';
  private rowLines: number[] = [];
  private rowRecords: number[] = [];
  /** Full chunks held while the connection is busy (a long string of rows would be a rope). */
  private held: Buffer[] = [];
  /** Upsert: bytes of the unit being made. */
  private heldUnit = 0;
  /** Of the held bytes, those the session counts as kept ahead while it was busy. */
  private heldAhead = 0;
  private readonly table: string;
  private readonly stageName: string;
  private stageReady = false;
  private stageHasRows = false;
  /**
   * Upsert: every row so far had a new key, so units COPY straight into the table (under a
   * savepoint). The first unit that meets a key already there (23505) is rolled back and goes
   * through the staging table and `INSERT … ON CONFLICT`, as does every unit after it.
   */
  private insertOnly = true;
  /** Upsert: the last unit handed to the session, settled (never rejects). */
  private unitDone: Promise<void> = Promise.resolve();
  /** Records carried a `version`: the table keeps `_sdc_table_version` (and `_sdc_deleted_at`). */
  private versioned = false;
  private truncatePending: boolean;
  private readonly recordMetadata: RecordMetadata;
  private deletesSkipped = 0;
  /** Per column, lone surrogates replaced over the whole run: reported once, at clean-up. */
  private readonly surrogates = new Map<string, { count: number; firstRecord: number }>();

  constructor(
    schema: SchemaMessage,
    context: RunContext,
    private readonly session: PgSession,
    private readonly tables: TableManager,
    private readonly settings: PostgresSinkSettings,
    stageNumber: number,
  ) {
    super(schema, context, settings.batchSizeRows);
    this.table = safeIdentifier(schema.stream, 'stream name');
    this.stageName = `_singer_stage_${stageNumber}`;
    this.truncatePending = settings.loadMethod === 'overwrite';
    this.recordMetadata = new RecordMetadata();
  }

  /** Where the rows go. */
  get qualifiedTable(): string {
    return qualifiedName(this.settings.targetSchema, this.table);
  }

  /** Upsert when the stream has keys (unless told otherwise); append-only otherwise. */
  get loadMethod(): 'upsert' | 'append-only' {
    if (this.keyProperties.length === 0) return 'append-only';
    return this.settings.loadMethod === 'append-only' ? 'append-only' : 'upsert';
  }

  private get staged(): boolean {
    return this.loadMethod === 'upsert';
  }

  private get stageTable(): string {
    return `pg_temp.${quoteIdent(this.stageName)}`;
  }

  /** Makes the table fit the current SCHEMA now (inside the open transaction). */
  async prepare(): Promise<void> {
    await this.prepareWriter();
  }

  override get scansRecords(): boolean {
    return true;
  }

  /** Scanned records are written from their tokens once the table is prepared for them. */
  override takesScanned(position: RecordPosition): boolean {
    return this.writer !== undefined && (position.version === undefined || this.versioned) && !(this.settings.hardDelete && !this.staged);
  }

  protected override processScanned(record: ScannedRecord, position: RecordPosition): void | Promise<void> {
    const writer = this.writer as Writer;
    let row: string | undefined;
    try {
      row = writer.encoder.encodeScanned(record, position);
    } catch (error) {
      if (error instanceof ColumnTooNarrowError) return this.widenThenProcess(error, record.toObject(), position);
      throw error;
    }
    if (row === undefined) return this.processRecord(record.toObject(), position);
    return this.pushRow(writer, row, writer.metadata.length > 0 ? this.metadataSource(record) : undefined, position);
  }

  protected override processRecord(record: Record<string, unknown>, position: RecordPosition): void | Promise<void> {
    const writer = this.writer;
    if (writer === undefined || (position.version !== undefined && !this.versioned)) {
      return this.processSlowly(record, position);
    }
    if (this.settings.hardDelete && !this.staged && record[SDC_DELETED_AT] != null) {
      // Append-only has no key to delete by: a deletion is not appended.
      this.deletesSkipped += 1;
      return undefined;
    }
    let row: string;
    try {
      row = writer.encoder.encode(record, position);
    } catch (error) {
      if (error instanceof ColumnTooNarrowError) return this.widenThenProcess(error, record, position);
      throw error;
    }
    return this.pushRow(writer, row, record, position);
  }

  /** The record's own `_sdc_deleted_at`, the one metadata value a record (not its message) gives. */
  private metadataSource(record: ScannedRecord): Record<string, unknown> {
    const index = record.properties.indexOf(SDC_DELETED_AT);
    return index === -1 ? {} : { [SDC_DELETED_AT]: record.value(index) };
  }

  /** Buffers an encoded row (with its metadata) for the COPY; hands the buffer on when full. */
  private pushRow(writer: Writer, row: string, record: Record<string, unknown> | undefined, position: RecordPosition): void | Promise<void> {
    if (record !== undefined && writer.metadata.length > 0) row += this.metadataFields(writer.metadata, record, position);
    this.rows += `${row}\n`;
    this.rowLines.push(position.line);
    this.rowRecords.push(position.record);
    if (this.rows.length < COPY_CHUNK_CHARS) return undefined;
    const bytes = this.hold();
    if (this.staged) {
      this.heldUnit += bytes;
      return this.heldUnit < UNIT_BYTES ? undefined : this.handOn();
    }
    // The connection is busy (a merge): encode ahead, so reading overlaps PostgreSQL's work;
    // past the byte limit reading waits too.
    if (this.session.holdAhead(bytes, HELD_BYTES_LIMIT)) {
      this.heldAhead += bytes;
      return undefined;
    }
    return this.handOn();
  }

  /** First record after the table changed, or of a new version: prepare, then write. */
  private async processSlowly(record: Record<string, unknown>, position: RecordPosition): Promise<void> {
    if (position.version !== undefined && !this.versioned) {
      await this.processBatch();
      this.versioned = true;
      this.invalidate();
    }
    if (!this.writer) await this.prepareWriter();
    const done = this.processRecord(record, position);
    if (done) await done;
  }

  /** Turns the rows buffered so far into a held chunk; returns its size in bytes. */
  private hold(): number {
    const chunk = Buffer.from(this.rows, 'utf8');
    this.held.push(chunk);
    this.rows = '';
    return chunk.length;
  }

  /** The held chunks leave this sink (handed on or dropped): the session's count goes down. */
  private takeHeld(): Buffer[] {
    const chunks = this.held;
    this.held = [];
    this.session.released(this.heldAhead);
    this.heldAhead = 0;
    return chunks;
  }

  /** Hands the buffered rows to this stream's COPY (through the session, in turn). */
  private async handOn(): Promise<void> {
    const writer = this.writer as Writer;
    if (this.truncatePending) {
      // overwrite: the run's data replaces the table's, atomically with the first commit.
      await this.session.run({ stream: this.stream, what: `emptying ${this.qualifiedTable}` }, (db) =>
        db.query(`TRUNCATE ${this.qualifiedTable}`),
      );
      this.truncatePending = false;
    }
    if (this.rows !== '') this.hold();
    const batch: CopyBatch = { chunks: this.takeHeld(), lines: this.rowLines, records: this.rowRecords };
    this.rowLines = [];
    this.rowRecords = [];
    const rows = { stream: this.stream, table: this.qualifiedTable, propertyOf: writer.plan.propertyOf };
    if (!this.staged) {
      await this.session.copyRows(this, writer.copySql, rows, batch);
      return;
    }
    this.heldUnit = 0;
    // At most one unit waits behind the one PostgreSQL works on; this one is read meanwhile.
    await this.unitDone;
    const unit = this.session.run({ stream: this.stream, what: `loading stream ${JSON.stringify(this.stream)}` }, (db) =>
      this.loadUnit(db, writer, rows, batch),
    );
    this.unitDone = unit.then(
      () => undefined,
      () => undefined,
    );
    this.runInBackground(unit);
  }

  /**
   * One upsert unit: straight into the table while every key is new, else into the staging
   * table for the drain's merge. Decided when the unit runs, after every unit before it, so
   * rows keep their order whichever way they go.
   */
  private async loadUnit(db: UnitConnection, writer: Writer, rows: Omit<CopyRows, 'lines' | 'records'>, batch: CopyBatch): Promise<void> {
    if (this.insertOnly && writer.merge?.deletedAtColumn === undefined) {
      const savepoint = quoteIdent(this.session.nextSavepoint());
      await db.query(`SAVEPOINT ${savepoint}`);
      try {
        await db.copy(writer.copySql, rows, batch);
        await db.query(`RELEASE SAVEPOINT ${savepoint}`);
        return;
      } catch (error) {
        // 23505: a key is there already. 40P01: another loader of the table holds keys this
        // unit needs while waiting for ours; the merge takes keys in order, which cannot deadlock.
        const state = sqlState(error);
        if (state !== '23505' && state !== '40P01') throw error;
        this.insertOnly = false;
        this.logger.debug(`${state === '23505' ? 'keys already present' : 'deadlock with another loader'}; merging with ON CONFLICT from now on`);
        await db.query(`ROLLBACK TO SAVEPOINT ${savepoint}; RELEASE SAVEPOINT ${savepoint}`);
      }
    }
    if (!this.stageReady) {
      await this.createStage(db, writer.plan);
      this.stageReady = true;
    }
    await db.copy(writer.stageSql as string, { ...rows, table: this.stageTable }, batch);
    this.stageHasRows = true;
  }

  /** A value needs a wider column (an integer beyond bigint): flush, widen in place, go on. */
  private async widenThenProcess(error: ColumnTooNarrowError, record: Record<string, unknown>, position: RecordPosition): Promise<void> {
    await this.processBatch();
    this.logger.info(`widening column ${JSON.stringify(error.column)} to ${error.to} for record ${position.record}`);
    await this.session.run({ stream: this.stream, what: `widening column ${JSON.stringify(error.column)}` }, (db) =>
      this.tables.widenColumn(db, this.settings.targetSchema, this.table, error.column, error.to),
    );
    this.invalidate();
    await this.processSlowly(record, position);
  }

  private metadataFields(kinds: readonly MetadataKind[], record: Record<string, unknown>, position: RecordPosition): string {
    let out = '';
    for (const kind of kinds) {
      const value = this.recordMetadata.value(kind, record, position);
      out += value === null ? `\t${COPY_NULL}` : `\t${escapeCopyText(value)}`;
    }
    return out;
  }

  /** Makes the table fit the SCHEMA (create, add, widen, key) and derives how rows are written. */
  private async prepareWriter(): Promise<void> {
    const metadata = metadataColumnsFor(this.schema.schema, {
      addRecordMetadata: this.settings.addRecordMetadata,
      versioned: this.versioned,
      hardDelete: this.settings.hardDelete,
    });
    const layout = layoutColumns(this.stream, this.schema.schema, this.keyProperties, metadata);
    const table = await this.session.run({ stream: this.stream, what: `preparing ${this.qualifiedTable}` }, (db) =>
      this.tables.ensureTable(db, {
        stream: this.stream,
        schema: this.settings.targetSchema,
        table: this.table,
        columns: columnSpecs(layout),
        keyColumns: layout.keyColumns,
        enforceKey: this.staged,
      }),
    );
    const plan = planFor(layout, table, this.keyProperties);
    const columnList = plan.columnNames.map(quoteIdent);
    const copySql = `COPY ${this.qualifiedTable} (${columnList.join(', ')}) FROM STDIN WITH (FORMAT text)`;
    // The staging table numbers rows itself, in the order the COPY brings them.
    const stageSql = this.staged ? `COPY ${this.stageTable} (${columnList.join(', ')}) FROM STDIN WITH (FORMAT text)` : undefined;
    const formattedTypes = new Map<string, string>();
    for (const [column, info] of table.columns) formattedTypes.set(column, info.formatted);
    this.writer = {
      plan,
      encoder: new CopyEncoder(plan.columns, { stream: this.stream, sanitizeNulText: this.settings.sanitizeNullTextCharacters }),
      metadata: metadata.map((m) => m.kind),
      copySql,
      stageSql,
      merge: this.staged
        ? {
            target: this.qualifiedTable,
            stage: this.stageTable,
            columns: plan.columnNames,
            keyColumns: layout.keyColumns,
            stageSequence: plan.stageSequence,
            formattedTypes,
            deletedAtColumn: this.settings.hardDelete && plan.columnNames.includes(SDC_DELETED_AT) ? SDC_DELETED_AT : undefined,
          }
        : undefined,
    };
  }

  /** The table may have changed: plan again, and rebuild the staging table to match. */
  private invalidate(): void {
    this.collectEncoderCounts();
    this.writer = undefined;
    this.stageReady = false;
  }

  /** A temp table with the target's column types (user-made ones included) plus the row order. */
  private async createStage(db: Queryable, plan: Plan): Promise<void> {
    await db.query(`DROP TABLE IF EXISTS ${this.stageTable}`);
    await db.query(`CREATE TEMP TABLE ${quoteIdent(this.stageName)} (${stageDefinitions(plan).join(', ')})`);
  }

  /**
   * Everything buffered into the COPY, the COPY ended, and the merge of a staged batch asked
   * for. The merge is a unit of its own: PostgreSQL runs it while the next batch is read and
   * encoded (held back until the connection is free), and the SDK settles it before committing.
   */
  protected override async processBatch(): Promise<void> {
    if (this.rows !== '' || this.held.length > 0) await this.handOn();
    await this.session.finishCopy(this);
    const merge = this.writer?.merge;
    if (merge !== undefined) {
      // Whether the batch's units went to the staging table is known once they have run.
      this.runInBackground(
        this.session.run({ stream: this.stream, what: `merging into ${merge.target}` }, async (db) => {
          if (!this.stageHasRows) return;
          this.stageHasRows = false;
          await this.merge(db, merge);
        }),
      );
    }
    this.recordMetadata.endBatch();
    this.reportDrained();
  }

  /** The staged rows into the table (the last of each key wins), then the staging table emptied. */
  private async merge(db: Queryable, spec: MergeSpec): Promise<void> {
    const sql = spec.deletedAtColumn !== undefined ? deleteThenUpsertSql(spec, spec.deletedAtColumn) : [upsertSql(spec)];
    await db.query([...sql, truncateStageSql(spec)].join('; '));
  }

  private reportDrained(): void {
    const encoder = this.writer?.encoder;
    if (encoder) {
      for (const [column, count] of encoder.nulRemoved) this.logger.info(`removed ${count} NUL character(s) from column ${JSON.stringify(column)}`);
      encoder.nulRemoved.clear();
    }
    if (this.deletesSkipped > 0) {
      this.logger.info(`${this.deletesSkipped} record(s) carrying ${SDC_DELETED_AT} not appended (hard_delete)`);
      this.deletesSkipped = 0;
    }
  }

  /** Moves the encoder's surrogate counts into the run's totals (an encoder lives for one plan). */
  private collectEncoderCounts(): void {
    const encoder = this.writer?.encoder;
    if (!encoder) return;
    for (const [column, seen] of encoder.surrogatesReplaced) {
      const total = this.surrogates.get(column);
      if (total) total.count += seen.count;
      else this.surrogates.set(column, { ...seen });
    }
    encoder.surrogatesReplaced.clear();
  }

  override async updateSchema(schema: SchemaMessage): Promise<void> {
    await this.processBatch();
    prepareSchema(schema, this.settings.hardDelete || this.settings.addRecordMetadata);
    await super.updateSchema(schema);
    this.invalidate();
    await this.prepareWriter();
  }

  /**
   * Rows of versions before `version` are superseded: deleted with `hard_delete`, else marked
   * in `_sdc_deleted_at`. Rows of the active version are never touched.
   */
  override async activateVersion(version: number): Promise<void> {
    await this.processBatch();
    if (!this.versioned) {
      this.versioned = true;
      this.invalidate();
    }
    if (!this.writer) await this.prepareWriter();
    const versionColumn = quoteIdent('_sdc_table_version');
    const older = `(${versionColumn} IS NULL OR ${versionColumn} < $1)`;
    const hardDelete = this.settings.hardDelete;
    const result = await this.session.run({ stream: this.stream, what: `activating version ${version}` }, (db) =>
      hardDelete
        ? db.query(`DELETE FROM ${this.qualifiedTable} WHERE ${older}`, [version])
        : db.query(
            `UPDATE ${this.qualifiedTable} SET ${quoteIdent(SDC_DELETED_AT)} = now() WHERE ${older} AND ${quoteIdent(SDC_DELETED_AT)} IS NULL`,
            [version],
          ),
    );
    this.logger.info(
      `activated version ${version}; ${result.rowCount ?? 0} row(s) of older versions ${hardDelete ? 'deleted' : 'marked deleted'}`,
    );
  }

  /** After a rollback: whatever was buffered is gone, and temp tables made in the transaction too. */
  override async abort(): Promise<void> {
    this.invalidate();
    this.rows = '';
    this.rowLines = [];
    this.rowRecords = [];
    this.takeHeld();
    this.heldUnit = 0;
    this.stageHasRows = false;
    await super.abort();
  }

  /** One warning per column that had lone surrogates replaced during the run. */
  override async cleanUp(): Promise<void> {
    this.collectEncoderCounts();
    for (const [column, { count, firstRecord }] of this.surrogates) {
      this.logger.warn(
        `column ${JSON.stringify(column)}: replaced ${count} lone UTF-16 surrogate(s) (half an emoji, first in record ${firstRecord}) with U+FFFD, which PostgreSQL can store`,
      );
    }
    this.surrogates.clear();
  }
}
