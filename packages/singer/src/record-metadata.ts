import type { JsonSchema } from './messages';
import type { RecordPosition } from './sink';

export const SDC_EXTRACTED_AT = '_sdc_extracted_at';
export const SDC_RECEIVED_AT = '_sdc_received_at';
export const SDC_BATCHED_AT = '_sdc_batched_at';
export const SDC_DELETED_AT = '_sdc_deleted_at';
export const SDC_SEQUENCE = '_sdc_sequence';
export const SDC_TABLE_VERSION = '_sdc_table_version';

/** The `_sdc_*` columns a target fills itself, from the message rather than the record. */
export type MetadataKind = 'extracted_at' | 'received_at' | 'batched_at' | 'deleted_at' | 'sequence' | 'table_version';

export interface MetadataColumn {
  readonly kind: MetadataKind;
  readonly column: string;
  readonly schema: JsonSchema;
}

const TIMESTAMP: JsonSchema = { type: ['null', 'string'], format: 'date-time' };
const INTEGER: JsonSchema = { type: ['null', 'integer'] };

/** Every metadata column, in the order a table gets them (as the Meltano SDK names them). */
export const METADATA_COLUMNS: readonly MetadataColumn[] = [
  { kind: 'extracted_at', column: SDC_EXTRACTED_AT, schema: TIMESTAMP },
  { kind: 'received_at', column: SDC_RECEIVED_AT, schema: TIMESTAMP },
  { kind: 'batched_at', column: SDC_BATCHED_AT, schema: TIMESTAMP },
  { kind: 'deleted_at', column: SDC_DELETED_AT, schema: TIMESTAMP },
  { kind: 'sequence', column: SDC_SEQUENCE, schema: INTEGER },
  { kind: 'table_version', column: SDC_TABLE_VERSION, schema: INTEGER },
];

export interface MetadataChoice {
  /** `add_record_metadata`: every column. */
  readonly addRecordMetadata: boolean;
  /** Records carried a `version`: `_sdc_table_version`, and `_sdc_deleted_at` for soft deletes. */
  readonly versioned: boolean;
  /** Deletions remove rows instead of marking them. */
  readonly hardDelete: boolean;
}

/**
 * The metadata columns a stream's table carries. `_sdc_deleted_at` is always the target's when
 * present (a tap's log-based deletes set it on the record); any other `_sdc_*` the tap sends
 * itself stays the tap's property.
 */
export function metadataColumnsFor(schema: JsonSchema, choice: MetadataChoice): MetadataColumn[] {
  const properties = schema.properties ?? {};
  const kinds = new Set<MetadataKind>();
  if (choice.addRecordMetadata) for (const { kind } of METADATA_COLUMNS) kinds.add(kind);
  if (SDC_DELETED_AT in properties) kinds.add('deleted_at');
  if (choice.versioned) {
    kinds.add('table_version');
    if (!choice.hardDelete) kinds.add('deleted_at');
  }
  return METADATA_COLUMNS.filter(({ kind, column }) => kinds.has(kind) && (kind === 'deleted_at' || !(column in properties)));
}

/**
 * `time_extracted` as ISO 8601 text. The spec says RFC 3339 text; some writers (singer-node)
 * send epoch milliseconds (or seconds) as a number, which is read as such rather than refused.
 */
export function extractedAtText(value: unknown): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) {
    const millis = Math.abs(value) >= 1e11 ? value : value * 1000;
    const date = new Date(millis);
    if (!Number.isNaN(date.getTime())) return date.toISOString();
  }
  return String(value);
}

/**
 * Values of the metadata columns for one stream, record by record: one per sink. Timestamps are
 * ISO 8601 text. `_sdc_sequence` is the millisecond the record came, followed by a six-digit
 * counter of records within that millisecond (19 digits: a bigint), so it grows within a run
 * and across runs, a run resumed within the same second included.
 */
export class RecordMetadata {
  private sequenceMillis = 0;
  private sequenceMillisText = '';
  private sequenceInMillis = 0;
  private batchedAt = '';
  private lastNow = 0;
  private lastNowText = '';


  /** The batch was drained: the next record's `_sdc_batched_at` is the time it comes. */
  endBatch(): void {
    this.batchedAt = '';
  }

  /** The value of `kind` for `record`, as text; null for SQL NULL. */
  value(kind: MetadataKind, record: Record<string, unknown>, position: RecordPosition): string | null {
    switch (kind) {
      case 'extracted_at':
        return extractedAtText(position.timeExtracted);
      case 'received_at': {
        const now = Date.now();
        if (now !== this.lastNow) {
          this.lastNow = now;
          this.lastNowText = new Date(now).toISOString();
        }
        return this.lastNowText;
      }
      case 'batched_at':
        if (this.batchedAt === '') this.batchedAt = new Date().toISOString();
        return this.batchedAt;
      case 'deleted_at': {
        const deleted = record[SDC_DELETED_AT];
        return deleted == null ? null : String(deleted);
      }
      case 'sequence': {
        // The clock may step back (NTP): the sequence never does.
        const now = Math.max(Date.now(), this.sequenceMillis);
        if (now !== this.sequenceMillis || this.sequenceInMillis === 999_999) {
          this.sequenceMillis = now === this.sequenceMillis ? now + 1 : now;
          this.sequenceMillisText = String(this.sequenceMillis);
          this.sequenceInMillis = 0;
        } else {
          this.sequenceInMillis += 1;
        }
        return `${this.sequenceMillisText}${String(this.sequenceInMillis).padStart(6, '0')}`;
      }
      case 'table_version':
        return position.version === undefined ? null : String(position.version);
    }
  }
}
