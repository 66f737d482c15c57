import { pipeline } from 'node:stream/promises';

import {
  InputError,
  type JsonSchema,
  RecordError,
  type RecordPosition,
  type RunContext,
  type SchemaMessage,
  SingerError,
  Sink,
} from '@singer-ts/singer';

import type { LoadMethod } from './config';
import { ColumnTooNarrowError, COPY_NULL, CopyEncoder, type EncoderColumn, escapeCopyText } from './copy-encoder';
import { COPY_CHUNK_CHARS, CopyFeed } from './copy-feed';
import { columnNames, qualifiedName, quoteIdent, safeIdentifier } from './identifiers';
import { betterReason, type CopyHolder, isConnectionLost, type PgSession, sqlState, toLoadError } from './pg-session';
import type { ColumnSpec, TableManager, TableState } from './table-manager';
import { latticeTypeOf, type PgType, pgTypeFor } from './type-mapping';

/** Bytes of rows encoded ahead (as chunks) while PostgreSQL merges the previous batch. */
const HELD_BYTES_LIMIT = 32 * 1024 * 1024;

export const SDC_EXTRACTED_AT = '_sdc_extracted_at';
export const SDC_RECEIVED_AT = '_sdc_received_at';
export const SDC_BATCHED_AT = '_sdc_batched_at';
export const SDC_DELETED_AT = '_sdc_deleted_at';
export const SDC_SEQUENCE = '_sdc_sequence';
export const SDC_TABLE_VERSION = '_sdc_table_version';
const MERGE_SAVEPOINT = 'singer_merge';
/** The staging table's row order within a batch: the stream's record number. */
const STAGE_SEQUENCE = '_sdc_stage_seq';

/** Columns the sink fills itself, from the message rather than the record. */
type MetadataKind = 'extracted_at' | 'received_at' | 'batched_at' | 'deleted_at' | 'sequence' | 'table_version';

const METADATA_COLUMNS: ReadonlyArray<[MetadataKind, string, PgType]> = [
  ['extracted_at', SDC_EXTRACTED_AT, 'timestamptz'],
  ['received_at', SDC_RECEIVED_AT, 'timestamptz'],
  ['batched_at', SDC_BATCHED_AT, 'timestamptz'],
  ['deleted_at', SDC_DELETED_AT, 'timestamptz'],
  ['sequence', SDC_SEQUENCE, 'bigint'],
  ['table_version', SDC_TABLE_VERSION, 'bigint'],
];

const DELETED_AT_SCHEMA: JsonSchema = { type: ['null', 'string'], format: 'date-time' };

export interface PostgresSinkSettings {
  readonly targetSchema: string;
  readonly loadMethod: LoadMethod | undefined;
  readonly addRecordMetadata: boolean;
  readonly hardDelete: boolean;
  readonly sanitizeNullTextCharacters: boolean;
  readonly batchSizeRows: number;
  /** Start of the run, for `_sdc_sequence`. */
  readonly runStartedAt: Date;
}

/** Everything needed to write rows, derived from the SCHEMA and the table as it exists. */
interface Plan {
  readonly columns: readonly EncoderColumn[];
  readonly metadata: readonly MetadataKind[];
  /** Column names in COPY order (without the staging sequence). */
  readonly columnNames: readonly string[];
  /** Column name → property (or metadata column), for errors. */
  readonly propertyOf: ReadonlyMap<string, string>;
  readonly keyColumns: readonly string[];
  /** The staging table's record-order column, named apart from every stream column. */
  readonly stageSequence: string;
  readonly table: TableState;
  readonly encoder: CopyEncoder;
}

/** One COPY in flight: rows stream into it as records arrive. */
interface Segment {
  readonly feed: CopyFeed;
  /** Resolves when the COPY has finished or failed (then `failure` is set); never rejects. */
  readonly settled: Promise<void>;
  failure: unknown;
  /** Input line and record number of each row, so PostgreSQL's `line N` names the record. */
  readonly lines: number[];
  readonly records: number[];
}

/** `base`, or `base_2`, `base_3`, ... : the first that is not taken. */
function uniqueName(base: string, taken: ReadonlySet<string>): string {
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
  return name;
}

/**
 * `time_extracted` as a COPY field. The spec says RFC 3339 text; some writers (singer-node)
 * send epoch milliseconds as a number, which is read as such rather than refused.
 */
function extractedAtField(value: unknown): string {
  if (value === undefined || value === null || value === '') return COPY_NULL;
  if (typeof value === 'number' && Number.isFinite(value)) {
    const millis = Math.abs(value) >= 1e11 ? value : value * 1000;
    const date = new Date(millis);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  return escapeCopyText(String(value));
}

/**
 * Removes `multipleOf` where it is not an integer: singer-python taps write `"multipleOf": 0.01`
 * for decimal columns, and a check in doubles refuses exact values like 19.99
 * (19.99 / 0.01 = 1998.9999999999998). The column is numeric, so nothing is rounded either way.
 */
function dropInexactMultipleOf(schema: JsonSchema): void {
  if (typeof schema.multipleOf === 'number' && !Number.isInteger(schema.multipleOf)) delete schema.multipleOf;
  for (const child of Object.values(schema.properties ?? {})) dropInexactMultipleOf(child);
  if (schema.items && typeof schema.items === 'object') dropInexactMultipleOf(schema.items);
  for (const list of [schema.anyOf, schema.oneOf, schema.allOf]) {
    if (Array.isArray(list)) for (const branch of list as JsonSchema[]) dropInexactMultipleOf(branch);
  }
}

/**
 * Prepares a SCHEMA before the SDK builds its validator from it (the SDK validates against this
 * same object): adds `_sdc_deleted_at` when the target needs it (hard deletes, record metadata)
 * so it is kept on records rather than dropped as unknown, and drops inexact `multipleOf`.
 */
export function prepareSchema(schema: SchemaMessage, needsDeletedAt: boolean): SchemaMessage {
  const properties = schema.schema.properties;
  if (needsDeletedAt && properties && !(SDC_DELETED_AT in properties)) properties[SDC_DELETED_AT] = DELETED_AT_SCHEMA;
  dropInexactMultipleOf(schema.schema);
  return schema;
}

/**
 * Loads one stream into one table. Rows stream into PostgreSQL as records arrive: with
 * COPY straight into the table (append-only), or into a staging temp table that each drain
 * merges with `INSERT ... ON CONFLICT ... DO UPDATE` (upsert), all inside the target's open
 * transaction, so nothing is visible or durable before the target commits at a STATE.
 */
export class PostgresSink extends Sink implements CopyHolder {
  private plan: Plan | undefined;
  private segment: Segment | undefined;
  /** Encoded rows not yet handed to a COPY, with where each came from. */
  private rows = '';
  private rowLines: number[] = [];
  private rowRecords: number[] = [];
  /** Full chunks held while a merge runs, as bytes (a long string of rows would be a rope). */
  private held: Buffer[] = [];
  private heldBytes = 0;
  private readonly table: string;
  private readonly stageName: string;
  private stageReady = false;
  private stageHasRows = false;
  /** The merge of the previous batch, while PostgreSQL runs it. */
  private merging: Promise<void> | undefined;
  private mergeFailure: SingerError | undefined;
  /** Batches so far brought only new keys: try a plain INSERT first. */
  private insertOnly = true;
  /** Records carried a `version`: the table keeps `_sdc_table_version` (and `_sdc_deleted_at`). */
  private versioned = false;
  private truncatePending: boolean;
  private sequence = 0;
  private readonly sequencePrefix: string;
  private batchedAt = '';
  private lastNow = 0;
  private lastNowText = '';
  private deletesSkipped = 0;

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
    this.sequencePrefix = String(Math.floor(settings.runStartedAt.getTime() / 1000));
    this.checkSchema(schema);
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

  private checkSchema(schema: SchemaMessage): void {
    const properties = schema.schema.properties;
    if (!properties || Object.keys(properties).length === 0) {
      throw new InputError('SCHEMA has no properties, so there is no column to load', {
        stream: schema.stream,
        code: 'SCHEMA_WITHOUT_PROPERTIES',
        hint: 'The tap must describe the record properties in the SCHEMA message',
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

  override processRecord(record: Record<string, unknown>, position: RecordPosition): void | Promise<void> {
    const plan = this.plan;
    if (plan === undefined || (position.version !== undefined && !this.versioned)) {
      return this.processSlowly(record, position);
    }
    if (this.settings.hardDelete && !this.staged && record[SDC_DELETED_AT] != null) {
      // Append-only has no key to delete by: a deletion is not appended.
      this.deletesSkipped += 1;
      return undefined;
    }
    let row: string;
    try {
      row = plan.encoder.encode(record, position);
    } catch (error) {
      if (error instanceof ColumnTooNarrowError) return this.widenThenProcess(error, record, position);
      throw error;
    }
    if (this.staged) row = `${position.record}\t${row}`;
    if (plan.metadata.length > 0) {
      if (this.pending === 0) this.batchedAt = new Date().toISOString();
      row += this.metadataFields(plan.metadata, record, position);
    }
    this.rows += `${row}\n`;
    this.rowLines.push(position.line);
    this.rowRecords.push(position.record);
    this.pending += 1;
    if (this.rows.length < COPY_CHUNK_CHARS) return undefined;
    if (this.merging !== undefined && this.heldBytes < HELD_BYTES_LIMIT) {
      // The previous batch is merging: encode ahead (the SDK drains at batch_size_rows, and
      // past the byte limit reading waits too), so reading overlaps PostgreSQL's work.
      this.hold();
      return undefined;
    }
    return this.handOn();
  }

  /** First record after the table changed (or ever): prepare the plan, then write. */
  private async processSlowly(record: Record<string, unknown>, position: RecordPosition): Promise<void> {
    if (position.version !== undefined && !this.versioned) {
      await this.flush();
      this.versioned = true;
      this.invalidate();
    }
    if (!this.plan) await this.preparePlan();
    const done = this.processRecord(record, position);
    if (done) await done;
  }

  /** Turns the rows buffered so far into a held chunk. */
  private hold(): void {
    const chunk = Buffer.from(this.rows, 'utf8');
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    this.rows = '';
  }

  /**
   * Hands the buffered rows to this stream's COPY, opening it when needed (which ends another
   * stream's COPY: the connection carries one at a time), and waits only when PostgreSQL is
   * behind.
   */
  private async handOn(): Promise<void> {
    await this.settle();
    if (!this.segment) await this.openSegment();
    const segment = this.segment as Segment;
    if (segment.failure !== undefined) throw this.copyError(segment, segment.failure);
    if (this.rows !== '') this.hold();
    const chunks = this.held;
    for (const line of this.rowLines) segment.lines.push(line);
    for (const record of this.rowRecords) segment.records.push(record);
    this.held = [];
    this.heldBytes = 0;
    this.rowLines = [];
    this.rowRecords = [];
    for (const chunk of chunks) {
      const wait = segment.feed.write(chunk);
      if (wait === undefined) continue;
      try {
        await wait;
      } catch (error) {
        await segment.settled;
        throw this.copyError(segment, segment.failure ?? error);
      }
    }
  }

  /** A value needs a wider column (an integer beyond bigint): flush, widen in place, go on. */
  private async widenThenProcess(
    error: ColumnTooNarrowError,
    record: Record<string, unknown>,
    position: RecordPosition,
  ): Promise<void> {
    await this.flush();
    this.context.logger.info(
      `stream ${JSON.stringify(this.stream)}: widening column ${JSON.stringify(error.column)} to ${error.to} for record ${position.record}`,
    );
    await this.tables.widenColumn(this.settings.targetSchema, this.table, error.column, error.to);
    this.invalidate();
    await this.processSlowly(record, position);
  }

  private metadataFields(kinds: readonly MetadataKind[], record: Record<string, unknown>, position: RecordPosition): string {
    let out = '';
    for (const kind of kinds) {
      switch (kind) {
        case 'extracted_at':
          out += `\t${extractedAtField(position.timeExtracted)}`;
          break;
        case 'received_at': {
          const now = Date.now();
          if (now !== this.lastNow) {
            this.lastNow = now;
            this.lastNowText = new Date(now).toISOString();
          }
          out += `\t${this.lastNowText}`;
          break;
        }
        case 'batched_at':
          out += `\t${this.batchedAt}`;
          break;
        case 'deleted_at': {
          const deleted = record[SDC_DELETED_AT];
          out += deleted == null ? `\t${COPY_NULL}` : `\t${escapeCopyText(String(deleted))}`;
          break;
        }
        case 'sequence':
          this.sequence += 1;
          out += `\t${this.sequencePrefix}${String(this.sequence).padStart(9, '0')}`;
          break;
        case 'table_version':
          out += position.version === undefined ? `\t${COPY_NULL}` : `\t${position.version}`;
          break;
      }
    }
    return out;
  }

  /** Which metadata columns this table carries. */
  private metadataKinds(): MetadataKind[] {
    const kinds = new Set<MetadataKind>();
    if (this.settings.addRecordMetadata) for (const [kind] of METADATA_COLUMNS) kinds.add(kind);
    const properties = this.schema.schema.properties ?? {};
    if (SDC_DELETED_AT in properties) kinds.add('deleted_at');
    if (this.versioned) {
      kinds.add('table_version');
      if (!this.settings.hardDelete) kinds.add('deleted_at');
    }
    return METADATA_COLUMNS.filter(([kind, column]) => kinds.has(kind) && (kind === 'deleted_at' || !(column in properties))).map(
      ([kind]) => kind,
    );
  }

  /** Makes the table fit the SCHEMA (create, add, widen) and derives how rows are written. */
  private async preparePlan(): Promise<void> {
    const properties = this.schema.schema.properties ?? {};
    const metadata = this.metadataKinds();
    const metadataColumns = METADATA_COLUMNS.filter(([kind]) => metadata.includes(kind));
    const propertyNames = Object.keys(properties).filter((p) => !(metadata.includes('deleted_at') && p === SDC_DELETED_AT));
    const names = columnNames([...propertyNames, ...metadataColumns.map(([, column]) => column)], this.stream);
    const schemaTypes = new Map<string, PgType>();
    for (const property of propertyNames) schemaTypes.set(names.get(property) as string, pgTypeFor(properties[property] as JsonSchema));
    for (const [, column, type] of metadataColumns) schemaTypes.set(column, type);

    const keyColumns = this.keyProperties.map((key) => names.get(key) as string);
    const specs: ColumnSpec[] = [...schemaTypes].map(([column, type]) => ({ column, type }));
    const table = await this.tables.ensureTable({
      schema: this.settings.targetSchema,
      table: this.table,
      columns: specs,
      keyColumns,
      enforceKey: this.staged,
    });
    const keys = new Set(this.keyProperties);
    const typeOf = (column: string): PgType =>
      table.columns.get(column)?.lattice ?? (schemaTypes.get(column) as PgType);
    const columns: EncoderColumn[] = propertyNames.map((property) => {
      const column = names.get(property) as string;
      return { property, column, type: typeOf(column), isKey: keys.has(property) };
    });
    const propertyOf = new Map<string, string>();
    for (const [property, column] of names) propertyOf.set(column, property);
    this.plan = {
      columns,
      metadata,
      columnNames: [...columns.map((c) => c.column), ...metadataColumns.map(([, column]) => column)],
      propertyOf,
      keyColumns,
      stageSequence: uniqueName(STAGE_SEQUENCE, new Set(table.columns.keys())),
      table,
      encoder: new CopyEncoder(columns, { stream: this.stream, sanitizeNulText: this.settings.sanitizeNullTextCharacters }),
    };
  }

  /** The table may have changed: plan again, and rebuild the staging table to match. */
  private invalidate(): void {
    this.plan = undefined;
    this.stageReady = false;
  }

  private async openSegment(): Promise<void> {
    const plan = this.plan as Plan;
    if (this.truncatePending) {
      // overwrite: the run's data replaces the table's, atomically with the first commit.
      await this.session.query(`TRUNCATE ${this.qualifiedTable}`);
      this.truncatePending = false;
    }
    let target = this.qualifiedTable;
    let columnList = plan.columnNames.map(quoteIdent);
    if (this.staged) {
      if (!this.stageReady) await this.createStage(plan);
      target = this.stageTable;
      columnList = [quoteIdent(plan.stageSequence), ...columnList];
      this.stageHasRows = true;
    }
    const copy = await this.session.copy(this, `COPY ${target} (${columnList.join(', ')}) FROM STDIN WITH (FORMAT text)`);
    const feed = new CopyFeed();
    const segment: Segment = {
      feed,
      failure: undefined,
      lines: [],
      records: [],
      settled: undefined as unknown as Promise<void>,
    };
    (segment as { settled: Promise<void> }).settled = pipeline(feed, copy).then(
      () => undefined,
      (error: unknown) => {
        segment.failure = error ?? new Error('COPY failed');
      },
    );
    this.segment = segment;
  }

  private get stageTable(): string {
    return `pg_temp.${quoteIdent(this.stageName)}`;
  }

  /** A temp table with the target's column types (user-made ones included) plus the row order. */
  private async createStage(plan: Plan): Promise<void> {
    const definitions = [
      `${quoteIdent(plan.stageSequence)} bigint`,
      ...plan.columnNames.map((column) => `${quoteIdent(column)} ${plan.table.columns.get(column)?.formatted ?? 'text'}`),
    ];
    await this.session.query(`DROP TABLE IF EXISTS ${this.stageTable}`);
    await this.session.query(`CREATE TEMP TABLE ${quoteIdent(this.stageName)} (${definitions.join(', ')})`);
    this.stageReady = true;
  }

  /** Ends the COPY in flight, if any, and reports how it went. */
  private async closeSegment(): Promise<void> {
    const segment = this.segment;
    if (!segment) return;
    this.segment = undefined;
    if (segment.failure === undefined) segment.feed.finish();
    await segment.settled;
    this.session.copyEnded(this);
    if (segment.failure !== undefined) throw this.copyError(segment, segment.failure);
  }

  /** Another stream needs the connection: end this stream's COPY; buffered rows wait for the next. */
  releaseCopy(): Promise<void> {
    return this.closeSegment();
  }

  /** Everything written so far reaches the table (still inside the open transaction). */
  private async flush(): Promise<void> {
    await this.drainRows();
    await this.settle();
  }

  /** Buffered rows into the COPY, the COPY ended, and the merge of the batch started. */
  private async drainRows(): Promise<void> {
    await this.settle();
    if (this.rows !== '' || this.held.length > 0) await this.handOn();
    await this.closeSegment();
    if (this.staged && this.stageHasRows) this.startMerge();
  }

  override async drain(): Promise<void> {
    await this.drainRows();
    const plan = this.plan;
    if (plan) {
      for (const [column, count] of plan.encoder.nulRemoved) {
        this.context.logger.info(
          `stream ${JSON.stringify(this.stream)}: removed ${count} NUL character(s) from column ${JSON.stringify(column)}`,
        );
      }
      plan.encoder.nulRemoved.clear();
    }
    if (this.deletesSkipped > 0) {
      this.context.logger.info(
        `stream ${JSON.stringify(this.stream)}: ${this.deletesSkipped} record(s) carrying ${SDC_DELETED_AT} not appended (hard_delete)`,
      );
      this.deletesSkipped = 0;
    }
    this.pending = 0;
  }

  /**
   * Staged rows into the table, in one round trip: the last record per key (DISTINCT ON over
   * the record order, which also sorts the batch by key so index pages are visited in order)
   * goes through INSERT ... ON CONFLICT ... DO UPDATE, which leaves unchanged rows unwritten.
   * With hard_delete, keys whose last record carries `_sdc_deleted_at` are deleted instead.
   * `optimistic`: a plain INSERT under a savepoint, for batches of new keys only (a fifth
   * cheaper than ON CONFLICT's speculative insertion); a duplicate key fails it as a whole.
   */
  private mergeSql(optimistic = false): string {
    const plan = this.plan as Plan;
    const target = this.qualifiedTable;
    const keys = plan.keyColumns.map(quoteIdent).join(', ');
    const list = plan.columnNames.map(quoteIdent).join(', ');
    const latest = `(SELECT DISTINCT ON (${keys}) * FROM ${this.stageTable} ORDER BY ${keys}, ${quoteIdent(plan.stageSequence)} DESC)`;
    const updatable = plan.columnNames.filter((column) => !plan.keyColumns.includes(column)).map(quoteIdent);
    // IS DISTINCT FROM needs an equality operator: json, xml and geometric columns have none.
    const comparable = plan.columnNames.every((column) => {
      const formatted = plan.table.columns.get(column)?.formatted ?? '';
      return (
        latticeTypeOf(formatted) !== undefined ||
        /^(character|numeric|double|real|integer|smallint|timestamp|time|date|uuid|bytea|interval|inet|money)/.test(formatted)
      );
    });
    const onConflict =
      updatable.length === 0
        ? `ON CONFLICT (${keys}) DO NOTHING`
        : `ON CONFLICT (${keys}) DO UPDATE SET ${updatable.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}` +
          (comparable
            ? ` WHERE (${updatable.map((c) => `t.${c}`).join(', ')}) IS DISTINCT FROM (${updatable.map((c) => `EXCLUDED.${c}`).join(', ')})`
            : '');
    const statements: string[] = [];
    if (this.settings.hardDelete && plan.columnNames.includes(SDC_DELETED_AT)) {
      const deleted = quoteIdent(SDC_DELETED_AT);
      const match = plan.keyColumns.map((k) => `t.${quoteIdent(k)} = s.${quoteIdent(k)}`).join(' AND ');
      statements.push(`DELETE FROM ${target} AS t USING ${latest} AS s WHERE ${match} AND s.${deleted} IS NOT NULL`);
      statements.push(`INSERT INTO ${target} AS t (${list}) SELECT ${list} FROM ${latest} AS s WHERE s.${deleted} IS NULL ${onConflict}`);
    } else if (optimistic) {
      statements.push(`SAVEPOINT ${MERGE_SAVEPOINT}`);
      statements.push(`INSERT INTO ${target} AS t (${list}) SELECT ${list} FROM ${latest} AS s`);
      statements.push(`RELEASE SAVEPOINT ${MERGE_SAVEPOINT}`);
    } else {
      statements.push(`INSERT INTO ${target} AS t (${list}) SELECT ${list} FROM ${latest} AS s ${onConflict}`);
    }
    statements.push(`TRUNCATE ${this.stageTable}`);
    return statements.join('; ');
  }

  /**
   * Starts the merge of the staged batch without waiting for it: PostgreSQL merges while the
   * next batch is read and encoded (held back, at most one batch, until the merge is done).
   * `settle()` waits for it; the target settles every sink before it commits.
   */
  private startMerge(): void {
    const target = this.qualifiedTable;
    this.stageHasRows = false;
    this.merging = this.merge().then(
      () => {
        this.merging = undefined;
      },
      (error: unknown) => {
        this.merging = undefined;
        this.mergeFailure ??= this.locate(toLoadError(error, `merging into ${target}`));
      },
    );
  }

  /**
   * As long as batches bring only new keys (a first load), they go in with a plain INSERT; the
   * first one that meets an existing key (23505) is rolled back to its savepoint and merged with
   * ON CONFLICT, as is every batch after it.
   */
  private async merge(): Promise<void> {
    if (this.insertOnly && !this.settings.hardDelete) {
      try {
        await this.session.query(this.mergeSql(true));
        return;
      } catch (error) {
        if (sqlState(error) !== '23505') throw error;
        this.insertOnly = false;
        this.context.logger.debug(`stream ${JSON.stringify(this.stream)}: keys already present; merging with ON CONFLICT from now on`);
        await this.session.query(`ROLLBACK TO SAVEPOINT ${MERGE_SAVEPOINT}; RELEASE SAVEPOINT ${MERGE_SAVEPOINT}`);
      }
    }
    await this.session.query(this.mergeSql());
  }

  /** Waits for the merge in flight, if any, and reports its failure. */
  async settle(): Promise<void> {
    if (this.merging) await this.merging;
    if (this.mergeFailure !== undefined) throw this.mergeFailure;
  }

  private locate(error: SingerError): SingerError {
    return error.locate({ stream: this.stream });
  }

  /** PostgreSQL's COPY error (`COPY t, line 3, column price: "x"`) as the record and column it means. */
  private copyError(segment: Segment, error: unknown): SingerError {
    if (error instanceof SingerError) return error;
    const lost = this.session.connectionError;
    if (lost !== undefined || isConnectionLost(error)) {
      return this.locate(toLoadError(betterReason(error, lost), `loading stream ${JSON.stringify(this.stream)}`));
    }
    const where = String((error as { where?: unknown }).where ?? '');
    const lineMatch = /\bline (\d+)/.exec(where);
    const index = lineMatch ? Number(lineMatch[1]) - 1 : -1;
    const plan = this.plan;
    let column: string | undefined;
    if (plan) {
      for (const [name, property] of plan.propertyOf) {
        if (where.includes(`, column ${name}:`) || where.endsWith(`, column ${name}`)) {
          column = property;
          break;
        }
      }
    }
    const message = (error as Error).message ?? String(error);
    if (index < 0 || index >= segment.lines.length) {
      return this.locate(
        new SingerError(`PostgreSQL rejected the COPY into ${this.qualifiedTable}: ${message}`, {
          code: 'PG_COPY_FAILED',
          column,
          cause: error,
        }),
      );
    }
    return new RecordError(`PostgreSQL rejected the value: ${message}`, {
      code: 'PG_VALUE_REJECTED',
      stream: this.stream,
      line: segment.lines[index],
      record: segment.records[index],
      column,
      cause: error,
      hint: 'Fix the source value or the SCHEMA; nothing after the last printed state was committed',
    });
  }

  override async updateSchema(schema: SchemaMessage): Promise<void> {
    await this.flush();
    prepareSchema(schema, this.settings.hardDelete || this.settings.addRecordMetadata);
    this.checkSchema(schema);
    this.schema = schema;
    this.invalidate();
  }

  /**
   * Rows of versions before `version` are superseded: deleted with `hard_delete`, else marked
   * in `_sdc_deleted_at`. Rows of the active version are never touched.
   */
  override async activateVersion(version: number): Promise<void> {
    await this.flush();
    if (!this.versioned) {
      this.versioned = true;
      this.invalidate();
    }
    if (!this.plan) await this.preparePlan();
    const versionColumn = quoteIdent(SDC_TABLE_VERSION);
    const older = `(${versionColumn} IS NULL OR ${versionColumn} < $1)`;
    const result = this.settings.hardDelete
      ? await this.session.query(`DELETE FROM ${this.qualifiedTable} WHERE ${older}`, [version])
      : await this.session.query(
          `UPDATE ${this.qualifiedTable} SET ${quoteIdent(SDC_DELETED_AT)} = now() WHERE ${older} AND ${quoteIdent(SDC_DELETED_AT)} IS NULL`,
          [version],
        );
    this.context.logger.info(
      `stream ${JSON.stringify(this.stream)}: activated version ${version}; ${result.rowCount ?? 0} row(s) of older versions ${this.settings.hardDelete ? 'deleted' : 'marked deleted'}`,
    );
  }

  /** After a rollback: whatever was in flight is gone, and temp tables made in it too. */
  async abort(): Promise<void> {
    const segment = this.segment;
    this.segment = undefined;
    this.invalidate();
    this.rows = '';
    this.rowLines = [];
    this.rowRecords = [];
    this.held = [];
    this.heldBytes = 0;
    this.stageHasRows = false;
    this.pending = 0;
    if (segment && segment.failure === undefined && this.session.connectionError === undefined) {
      segment.feed.destroy(new Error('rolled back'));
    }
    if (segment) await segment.settled;
    this.session.copyEnded(this);
    if (this.merging) await this.merging;
    this.mergeFailure = undefined;
  }
}
