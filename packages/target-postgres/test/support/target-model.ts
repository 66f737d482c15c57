import {
  isLosslessNumber,
  type JsonSchema,
  type Message,
  type RecordMessage,
  type SchemaMessage,
  SDC_BATCHED_AT,
  SDC_DELETED_AT,
  SDC_EXTRACTED_AT,
  SDC_RECEIVED_AT,
  SDC_SEQUENCE,
  SDC_TABLE_VERSION,
} from '@singer-ts/singer';

/**
 * A reference model of what CONTRACT.md promises a target-postgres run leaves in PostgreSQL and
 * prints on stdout, message by message. It knows nothing of batches, COPY or connections:
 * records apply in input order, a STATE commits everything before it (across streams) and then
 * prints its value unless it is the one printed last, and the end of input commits the rest.
 * A kill loses what was not committed; a new run starts with no stream known.
 */

export type LoadMethod = 'upsert' | 'append-only';

export interface ModelSettings {
  readonly loadMethod: LoadMethod;
  readonly hardDelete: boolean;
  readonly addRecordMetadata: boolean;
}

/** A cell whose value only the target knows (a clock reading, a sequence number): compared as "not null". */
export const SET_BY_TARGET = '<set by the target>';

/** A cell as PostgreSQL prints it (`::text`), SET_BY_TARGET, or null. */
export type Cell = string | null;

export type ColumnType = 'bigint' | 'numeric' | 'text' | 'timestamp with time zone';

export interface ColumnModel {
  /** `format_type()` of the column. */
  readonly type: ColumnType;
  /** Whether cells may be SET_BY_TARGET: then a value the model did not write is taken as one. */
  readonly setByTarget: boolean;
}

export interface RowModel {
  readonly cells: ReadonlyMap<string, Cell>;
  /** When the row was last written (a count of records over the whole history): `_sdc_sequence` follows it. */
  readonly written: number;
}

export interface TableModel {
  /** Columns the table must have. It may have more; they are not compared. */
  readonly columns: Map<string, ColumnModel>;
  /** The primary key's columns, or undefined where the table must have none (append-only, no keys). */
  primaryKey: readonly string[] | undefined;
  rows: RowModel[];
}

export { SDC_BATCHED_AT, SDC_DELETED_AT, SDC_EXTRACTED_AT, SDC_RECEIVED_AT, SDC_SEQUENCE, SDC_TABLE_VERSION };

const TIMESTAMPTZ: ColumnType = 'timestamp with time zone';

/** What `add_record_metadata` adds to every table (README, "ACTIVATE_VERSION, deletes and metadata"). */
const METADATA_COLUMNS: ReadonlyArray<[string, ColumnModel]> = [
  [SDC_EXTRACTED_AT, { type: TIMESTAMPTZ, setByTarget: false }],
  [SDC_RECEIVED_AT, { type: TIMESTAMPTZ, setByTarget: true }],
  [SDC_BATCHED_AT, { type: TIMESTAMPTZ, setByTarget: true }],
  [SDC_DELETED_AT, { type: TIMESTAMPTZ, setByTarget: true }],
  [SDC_SEQUENCE, { type: 'bigint', setByTarget: true }],
  [SDC_TABLE_VERSION, { type: 'bigint', setByTarget: false }],
];

const BIGINT_MIN = -(2n ** 63n);
const BIGINT_MAX = 2n ** 63n - 1n;

/** The tables of one PostgreSQL schema, by stream name. */
export class DatabaseModel {
  constructor(readonly tables: Map<string, TableModel> = new Map()) {}

  clone(): DatabaseModel {
    const tables = new Map<string, TableModel>();
    for (const [name, table] of this.tables) {
      tables.set(name, { columns: new Map(table.columns), primaryKey: table.primaryKey, rows: [...table.rows] });
    }
    return new DatabaseModel(tables);
  }
}

/** Column type of a property schema: the few JSON Schema shapes the generators write. */
export function columnTypeOf(schema: JsonSchema): ColumnType {
  const types = (Array.isArray(schema.type) ? schema.type : [schema.type]).filter((t) => t !== 'null');
  if (types.length !== 1 || schema.format !== undefined) throw new Error(`model: property schema ${JSON.stringify(schema)} not modelled`);
  switch (types[0]) {
    case 'integer':
      return 'bigint';
    case 'number':
      return 'numeric';
    case 'string':
      return 'text';
    default:
      throw new Error(`model: property type ${String(types[0])} not modelled`);
  }
}

/** Types only widen: bigint → numeric → text. */
function widen(from: ColumnType, to: ColumnType): ColumnType {
  const order: ColumnType[] = ['bigint', 'numeric', 'text'];
  if (!order.includes(from) || !order.includes(to)) return from === to ? from : 'text';
  return order[Math.max(order.indexOf(from), order.indexOf(to))] as ColumnType;
}

/**
 * A date-time as PostgreSQL prints a timestamptz in UTC. Only `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`
 * is modelled: that is all the generators write.
 */
export function timestamptzText(value: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d{1,6})?Z$/.exec(value);
  if (!match) throw new Error(`model: date-time ${JSON.stringify(value)} not modelled`);
  const fraction = (match[3] ?? '').replace(/0+$/, '').replace(/^\.$/, '');
  return `${match[1]} ${match[2]}${fraction}+00`;
}

/** A record value as PostgreSQL prints it back from its column. */
function cellOf(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (isLosslessNumber(value)) return value.toString();
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  throw new Error(`model: value ${JSON.stringify(value)} not modelled`);
}

/** Whether an integer's text is outside bigint's range. */
export function beyondBigint(text: string): boolean {
  if (!/^-?\d+$/.test(text)) return false;
  const n = BigInt(text);
  return n < BIGINT_MIN || n > BIGINT_MAX;
}

/** One stream as the running target knows it (forgotten when the process ends). */
interface StreamInRun {
  readonly properties: ReadonlyMap<string, ColumnType>;
  readonly keys: readonly string[];
  versioned: boolean;
}

export class TargetModel {
  /** What a reader of the database sees: everything up to the last commit. */
  committed = new DatabaseModel();
  /** What the open transaction holds. */
  private working = new DatabaseModel();
  /** State values printed by the current run, in order. */
  printed: unknown[] = [];
  private streams = new Map<string, StreamInRun>();
  /** ACTIVATE_VERSION messages that came before their stream's first SCHEMA in this run. */
  private pendingVersions = new Map<string, number[]>();
  private lastState: { value: unknown; text: string } | undefined;
  private lastPrintedText: string | undefined;
  /** Records written so far, over every run. */
  private writes = 0;

  constructor(readonly settings: ModelSettings) {}

  apply(message: Message): void {
    switch (message.type) {
      case 'SCHEMA':
        return this.schema(message);
      case 'RECORD':
        return this.record(message);
      case 'STATE':
        this.lastState = { value: message.value, text: JSON.stringify(message.value) };
        return this.checkpoint();
      case 'ACTIVATE_VERSION':
        return this.activateVersion(message.stream, message.version);
    }
  }

  /** End of input: the tail after the last STATE is committed and the last state printed. */
  end(): void {
    this.checkpoint();
  }

  /** `kill -9`: what was not committed is gone, and so is everything the process knew. */
  crash(): void {
    this.working = this.committed.clone();
    this.newProcess();
  }

  /** A new run after one that ended (`end()` first). */
  newRun(): void {
    this.working = this.committed.clone();
    this.newProcess();
  }

  private newProcess(): void {
    this.printed = [];
    this.streams = new Map();
    this.pendingVersions = new Map();
    this.lastState = undefined;
    this.lastPrintedText = undefined;
  }

  private checkpoint(): void {
    this.committed = this.working.clone();
    const state = this.lastState;
    if (state && state.text !== this.lastPrintedText) {
      this.printed.push(state.value);
      this.lastPrintedText = state.text;
    }
  }

  /** `_sdc_deleted_at` is read from records only when the target has a use for it. */
  private get keepsDeletedAt(): boolean {
    return this.settings.hardDelete || this.settings.addRecordMetadata;
  }

  private schema(message: SchemaMessage): void {
    const properties = new Map<string, ColumnType>();
    for (const [name, schema] of Object.entries(message.schema.properties ?? {})) properties.set(name, columnTypeOf(schema));
    for (const key of message.key_properties) {
      if (!properties.has(key)) throw new Error(`model: key ${key} is not a property`);
    }
    const known = this.streams.get(message.stream);
    this.streams.set(message.stream, { properties, keys: [...message.key_properties], versioned: known?.versioned ?? false });

    const existed = this.working.tables.has(message.stream);
    // The table, and every column a SCHEMA adds, exists after the next commit, records or not.
    const table = this.ensureTable(message.stream);
    for (const [name, type] of properties) {
      const column = table.columns.get(name);
      table.columns.set(name, { type: column ? widen(column.type, type) : type, setByTarget: false });
    }
    // With upsert the keys are the primary key, altered when key_properties change.
    const keyed = this.settings.loadMethod === 'upsert' && message.key_properties.length > 0;
    table.primaryKey = keyed ? [...message.key_properties] : undefined;

    // An ACTIVATE_VERSION that came before this stream's first SCHEMA takes effect now, on a
    // table that exists; on one that does not yet, it changes nothing.
    const pending = known ? undefined : this.pendingVersions.get(message.stream);
    this.pendingVersions.delete(message.stream);
    if (pending && existed) for (const version of pending) this.activateVersion(message.stream, version);
  }

  private ensureTable(stream: string): TableModel {
    let table = this.working.tables.get(stream);
    if (!table) {
      table = { columns: new Map(), primaryKey: undefined, rows: [] };
      if (this.settings.addRecordMetadata) for (const [name, column] of METADATA_COLUMNS) table.columns.set(name, column);
      this.working.tables.set(stream, table);
    }
    return table;
  }

  /** The first ACTIVATE_VERSION or versioned record: the table keeps versions (and soft deletes). */
  private markVersioned(stream: StreamInRun, table: TableModel): void {
    if (stream.versioned) return;
    stream.versioned = true;
    if (!table.columns.has(SDC_TABLE_VERSION)) table.columns.set(SDC_TABLE_VERSION, { type: 'bigint', setByTarget: false });
    if (!this.settings.hardDelete && !table.columns.has(SDC_DELETED_AT)) {
      table.columns.set(SDC_DELETED_AT, { type: TIMESTAMPTZ, setByTarget: true });
    }
  }

  private record(message: RecordMessage): void {
    const stream = this.streams.get(message.stream);
    const table = this.working.tables.get(message.stream);
    if (!stream || !table) throw new Error(`model: RECORD for ${message.stream} before its SCHEMA`);
    if (message.version !== undefined) this.markVersioned(stream, table);

    const cells = new Map<string, Cell>();
    // Properties of the SCHEMA; one the record lacks is null, one the SCHEMA lacks is dropped.
    for (const [name] of stream.properties) cells.set(name, cellOf(message.record[name]));
    const deletedAtValue = this.keepsDeletedAt ? cellOf(message.record[SDC_DELETED_AT]) : null;
    const deletedAt = deletedAtValue === null ? null : timestamptzText(deletedAtValue);
    if (table.columns.has(SDC_DELETED_AT)) cells.set(SDC_DELETED_AT, deletedAt);
    if (table.columns.has(SDC_TABLE_VERSION)) cells.set(SDC_TABLE_VERSION, message.version === undefined ? null : String(message.version));
    if (this.settings.addRecordMetadata) {
      cells.set(SDC_EXTRACTED_AT, message.time_extracted === undefined ? null : timestamptzText(message.time_extracted));
      cells.set(SDC_RECEIVED_AT, SET_BY_TARGET);
      cells.set(SDC_BATCHED_AT, SET_BY_TARGET);
      cells.set(SDC_SEQUENCE, SET_BY_TARGET);
    }

    const isDeletion = this.settings.hardDelete && deletedAt !== null;
    if (!isDeletion) {
      // An integer beyond bigint widens its column to numeric (a deletion stores nothing).
      for (const [name, cell] of cells) {
        const column = table.columns.get(name) as ColumnModel;
        if (column.type === 'bigint' && cell !== null && beyondBigint(cell)) table.columns.set(name, { ...column, type: 'numeric' });
      }
    }
    this.writes += 1;
    if (this.settings.loadMethod === 'append-only' || stream.keys.length === 0) {
      if (isDeletion && stream.keys.length > 0) {
        throw new Error('model: a deletion on an append-only stream with keys is not specified');
      }
      // Without keys a deletion has nothing to delete and is not appended.
      if (!isDeletion) table.rows.push({ cells: this.fill(table, cells), written: this.writes });
      return;
    }
    // Upsert: the last record per key wins, whatever the batches; a deletion removes the key.
    const sameKey = (row: RowModel): boolean => stream.keys.every((key) => row.cells.get(key) === cells.get(key));
    const index = table.rows.findIndex(sameKey);
    const old = index >= 0 ? table.rows[index] : undefined;
    const rows = table.rows.filter((row) => row !== old);
    if (!isDeletion) rows.push({ cells: this.fill(table, cells, old), written: this.writes });
    table.rows = rows;
  }

  /** Every column of the table: written ones, else what the row held (a column the SCHEMA dropped), else null. */
  private fill(table: TableModel, cells: Map<string, Cell>, old?: RowModel): Map<string, Cell> {
    const full = new Map<string, Cell>();
    for (const name of table.columns.keys()) full.set(name, cells.has(name) ? (cells.get(name) as Cell) : (old?.cells.get(name) ?? null));
    return full;
  }

  private activateVersion(streamName: string, version: number): void {
    const stream = this.streams.get(streamName);
    const table = this.working.tables.get(streamName);
    if (!stream || !table) {
      // Before the stream's first SCHEMA: one warning, and it waits for that SCHEMA.
      this.pendingVersions.set(streamName, [...(this.pendingVersions.get(streamName) ?? []), version]);
      return;
    }
    this.markVersioned(stream, table);
    const older = (row: RowModel): boolean => {
      const rowVersion = row.cells.get(SDC_TABLE_VERSION) ?? null;
      return rowVersion === null || BigInt(rowVersion) < BigInt(version);
    };
    if (this.settings.hardDelete) {
      table.rows = table.rows.filter((row) => !older(row));
      return;
    }
    table.rows = table.rows.map((row) => {
      if (!older(row) || (row.cells.get(SDC_DELETED_AT) ?? null) !== null) return row;
      const cells = new Map(row.cells);
      cells.set(SDC_DELETED_AT, SET_BY_TARGET);
      return { cells, written: row.written };
    });
  }
}

/**
 * The input a tap sends when it resumes from the state printed for the STATE at `stateIndex`
 * (-1: from the start): the stream's latest SCHEMA before that point for each stream seen so
 * far, then every message after it.
 */
export function resumeInput(messages: readonly Message[], stateIndex: number): Message[] {
  const schemas = new Map<string, SchemaMessage>();
  for (const message of messages.slice(0, stateIndex + 1)) if (message.type === 'SCHEMA') schemas.set(message.stream, message);
  return [...schemas.values(), ...messages.slice(stateIndex + 1)];
}

/** A database model as canonical text (rows sorted, write order left out), to compare two models. */
export function describeDatabase(db: DatabaseModel): string {
  const tables = [...db.tables.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify(
    tables.map(([name, table]) => ({
      name,
      columns: [...table.columns.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
      primaryKey: table.primaryKey ? [...table.primaryKey].sort() : null,
      rows: table.rows.map((row) => JSON.stringify([...row.cells.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).sort(),
    })),
  );
}
