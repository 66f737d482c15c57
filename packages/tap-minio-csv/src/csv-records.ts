/**
 * One CSV object's bytes to records: the CSV path, free of S3 so it is tested on local streams.
 * CSV rules (COPY's, see `openCsv`) and value conversion (`compileCsvConverter`) are the SDK's;
 * this adds the `_sdc_source_*` columns and says where each error happened.
 */
import type { Readable } from 'node:stream';

import {
  compileCsvConverter,
  compileCsvRecordEncoder,
  type CsvConverter,
  type CsvRow,
  EncodedRecords,
  type JsonSchema,
  openCsv,
  SingerError,
} from '@singer-ts/singer';

/** The bucket an object came from. */
export const SDC_SOURCE_BUCKET = '_sdc_source_bucket';
/** The object's key. */
export const SDC_SOURCE_FILE = '_sdc_source_file';
/** The line of the object where the record starts (the header is line 1). */
export const SDC_SOURCE_LINENO = '_sdc_source_lineno';

export const SDC_COLUMNS: readonly string[] = [SDC_SOURCE_BUCKET, SDC_SOURCE_FILE, SDC_SOURCE_LINENO];

/** The schemas of the `_sdc_source_*` columns, as discovery writes them. */
export const SDC_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  [SDC_SOURCE_BUCKET]: { type: 'string' },
  [SDC_SOURCE_FILE]: { type: 'string' },
  [SDC_SOURCE_LINENO]: { type: 'integer' },
};

export interface ObjectRecordsOptions {
  readonly stream: string;
  readonly bucket: string;
  readonly key: string;
  /** How errors name the object (`s3://bucket/key`). */
  readonly file: string;
  readonly delimiter: string;
  /** The properties to emit (the catalog's selected ones), `_sdc_source_*` included or not. */
  readonly properties: Readonly<Record<string, JsonSchema>>;
  /** Called once per object with header columns the catalog does not know at all. */
  readonly onUnknownColumns?: (columns: string[]) => void;
  /** Every property of the catalog, selected or not: columns outside it are "unknown". */
  readonly knownColumns?: ReadonlySet<string>;
  /** What to do about a value that does not fit its column (replaces the SDK's generic hint). */
  readonly valueHint?: string;
}

/** One object opened for reading: its rows and how to turn each into a record. */
export interface ObjectRecords {
  /** The CSV rows; empty when the object holds nothing but blank lines. */
  readonly rows: AsyncIterable<CsvRow>;
  /** The record of one row, converted to the catalog's types; errors name line and column. */
  toRecord(row: CsvRow): Record<string, unknown>;
  /**
   * The records as JSON text, a batch per input chunk: what `toRecord` gives, encoded straight
   * from the CSV fields (the sync's path). Read either this or `rows`. A bad value ends it
   * with its error, after a batch of the records before it.
   */
  readonly encodedBatches: AsyncIterable<EncodedRecords>;
  /** Releases the body (needed when `rows` is not read to its end). */
  close(): void;
}

const NO_ROWS: AsyncIterable<never> = { [Symbol.asyncIterator]: () => ({ next: async () => ({ done: true, value: undefined }) }) };

/**
 * Opens one object's CSV: reads the header and compiles the conversion. A caller iterates
 * `rows` and calls `toRecord` itself, which saves a generator layer per record on the hot path
 * (`readObjectRecords` is the convenient form).
 */
export async function openObjectRecords(
  body: Readable | AsyncIterable<Buffer>,
  options: ObjectRecordsOptions,
): Promise<ObjectRecords> {
  const where = { stream: options.stream, file: options.file };
  const csv = await openCsv(body, { delimiter: options.delimiter, file: options.file, stream: options.stream });
  try {
    const header = csv.header;
    if (header.length === 0) {
      csv.close();
      return { rows: NO_ROWS, toRecord: () => ({}), encodedBatches: NO_ROWS, close: () => undefined };
    }
    if (options.onUnknownColumns && options.knownColumns) {
      const known = options.knownColumns;
      const unknown = header.filter((name) => !known.has(name));
      if (unknown.length > 0) options.onUnknownColumns(unknown);
    }
    const dataProperties: Record<string, JsonSchema> = {};
    for (const [name, schema] of Object.entries(options.properties)) {
      if (!SDC_COLUMNS.includes(name)) dataProperties[name] = schema;
    }
    let convert: CsvConverter;
    try {
      convert = compileCsvConverter(dataProperties, header);
    } catch (error) {
      // A column the object lacks, which the catalog says may not be null.
      if (error instanceof SingerError) error.locate({ ...where, line: 1 });
      throw error;
    }
    const { bucket, key } = options;
    const withBucket = SDC_SOURCE_BUCKET in options.properties;
    const withFile = SDC_SOURCE_FILE in options.properties;
    const withLine = SDC_SOURCE_LINENO in options.properties;
    const locate = (error: unknown, row: CsvRow): void => {
      if (error instanceof SingerError) {
        error.locate({ ...where, line: row.line });
        if (options.valueHint !== undefined) error.hint = options.valueHint;
      }
    };
    // The `_sdc_source_*` members as `toRecord` adds them, after the data: bucket and key are
    // the object's own, so their text is made once, into the encoder's tail.
    const hasData = Object.keys(dataProperties).length > 0;
    const constant: string[] = [];
    if (withBucket) constant.push(`${JSON.stringify(SDC_SOURCE_BUCKET)}:${JSON.stringify(bucket)}`);
    if (withFile) constant.push(`${JSON.stringify(SDC_SOURCE_FILE)}:${JSON.stringify(key)}`);
    if (withLine) constant.push(`${JSON.stringify(SDC_SOURCE_LINENO)}:`);
    let tail = `${hasData && constant.length > 0 ? ',' : ''}${constant.join(',')}`;
    if (!withLine) tail += '}';
    const encode = compileCsvRecordEncoder(dataProperties, header, { head: '{', tail });
    async function* encodedBatches(): AsyncGenerator<EncodedRecords> {
      for await (const rows of csv.rowBatches) {
        const texts: string[] = new Array<string>(rows.length);
        let i = 0;
        try {
          for (; i < rows.length; i += 1) {
            const row = rows[i] as CsvRow;
            texts[i] = withLine ? `${encode(row.fields)}${row.line}}` : encode(row.fields);
          }
        } catch (error) {
          locate(error, rows[i] as CsvRow);
          // The records before the bad one are sent first, as one by one they would be.
          if (i > 0) yield new EncodedRecords(texts.slice(0, i));
          throw error;
        }
        yield new EncodedRecords(texts);
      }
    }
    return {
      rows: csv.rows,
      toRecord(row) {
        let record: Record<string, unknown>;
        try {
          record = convert(row.fields);
        } catch (error) {
          locate(error, row);
          throw error;
        }
        if (withBucket) record[SDC_SOURCE_BUCKET] = bucket;
        if (withFile) record[SDC_SOURCE_FILE] = key;
        if (withLine) record[SDC_SOURCE_LINENO] = row.line;
        return record;
      },
      encodedBatches: { [Symbol.asyncIterator]: encodedBatches },
      close: () => csv.close(),
    };
  } catch (error) {
    csv.close();
    throw error;
  }
}

/**
 * Reads one object's CSV and yields its records, converted to the catalog's types. Every error
 * names the stream, the object, the line and (for values) the column and value.
 */
export async function* readObjectRecords(
  body: Readable | AsyncIterable<Buffer>,
  options: ObjectRecordsOptions,
): AsyncGenerator<Record<string, unknown>> {
  const object = await openObjectRecords(body, options);
  try {
    for await (const row of object.rows) yield object.toRecord(row);
  } finally {
    object.close();
  }
}
