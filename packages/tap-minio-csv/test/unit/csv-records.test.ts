import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';

import { type JsonSchema, RecordError } from '@singer-ts/singer';

import { type ObjectRecordsOptions, readObjectRecords, SDC_SCHEMAS } from '../../src/csv-records';

const FIXTURES = join(__dirname, '../fixtures');

function options(key: string, properties: Record<string, JsonSchema>, extra: Partial<ObjectRecordsOptions> = {}): ObjectRecordsOptions {
  return {
    stream: 'things',
    bucket: 'bucket',
    key,
    file: `s3://bucket/${key}`,
    delimiter: ',',
    properties,
    ...extra,
  };
}

async function collect(iterable: AsyncIterable<Record<string, unknown>>): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const record of iterable) out.push(record);
  return out;
}

async function failure(iterable: AsyncIterable<Record<string, unknown>>): Promise<RecordError> {
  try {
    await collect(iterable);
  } catch (error) {
    expect(error).toBeInstanceOf(RecordError);
    return error as RecordError;
  }
  throw new Error('expected the read to fail');
}

const quotingSchema: Record<string, JsonSchema> = {
  id: { type: 'integer' },
  name: { type: ['null', 'string'] },
  note: { type: ['null', 'string'] },
  amount: { type: ['null', 'number'] },
  ...SDC_SCHEMAS,
};

describe('reading one CSV object', () => {
  it('follows COPY CSV: unquoted empty is null, quoted empty is the empty string, quoted line breaks kept', async () => {
    const records = await collect(
      readObjectRecords(createReadStream(join(FIXTURES, 'quoting.csv')), options('q/quoting.csv', quotingSchema)),
    );
    expect(records).toEqual([
      { id: 1, name: null, note: '', amount: 1.5, _sdc_source_bucket: 'bucket', _sdc_source_file: 'q/quoting.csv', _sdc_source_lineno: 2 },
      { id: 2, name: '', note: '', amount: null, _sdc_source_bucket: 'bucket', _sdc_source_file: 'q/quoting.csv', _sdc_source_lineno: 3 },
      { id: 3, name: 'a "quoted" word', note: 'two\nlines', amount: 2, _sdc_source_bucket: 'bucket', _sdc_source_file: 'q/quoting.csv', _sdc_source_lineno: 4 },
      { id: 4, name: 'plain', note: 'comma, inside', amount: -0.25, _sdc_source_bucket: 'bucket', _sdc_source_file: 'q/quoting.csv', _sdc_source_lineno: 7 },
    ]);
  });

  it('drops the BOM, reads CRLF, and keeps a leading zero in a string column', async () => {
    const records = await collect(
      readObjectRecords(
        createReadStream(join(FIXTURES, 'customers.csv')),
        options('customers.csv', { customer_zip_code_prefix: { type: 'string' }, customer_city: { type: 'string' } }),
      ),
    );
    expect(records).toEqual([
      { customer_zip_code_prefix: '01151', customer_city: 'Franca' },
      { customer_zip_code_prefix: '09790', customer_city: 'Sao Bernardo Do Campo' },
      { customer_zip_code_prefix: '01151', customer_city: 'Sao\r\nPaulo' },
    ]);
  });

  it("reads a leading-zero zip as the integer COPY would when the catalog says integer (the legacy catalog's meaning)", async () => {
    const records = await collect(
      readObjectRecords(
        createReadStream(join(FIXTURES, 'customers.csv')),
        options('customers.csv', { customer_zip_code_prefix: { type: ['integer'] } }),
      ),
    );
    expect(records.map((r) => r.customer_zip_code_prefix)).toEqual([1151, 9790, 1151]);
  });

  it('names object, line, column and value when a value does not fit its type', async () => {
    const error = await failure(
      readObjectRecords(
        createReadStream(join(FIXTURES, 'orders-typed.csv')),
        options('orders/2024.csv', {
          order_id: { type: 'string' },
          order_purchase_timestamp: { type: 'string', format: 'date-time' },
          items: { type: 'integer' },
        }),
      ),
    );
    expect(error.code).toBe('VALUE_NOT_INTEGER');
    expect(error.stream).toBe('things');
    expect(error.file).toBe('s3://bucket/orders/2024.csv');
    expect(error.line).toBe(3);
    expect(error.column).toBe('items');
    expect(error.value).toBe('x2');
    expect(error.toUserLine()).toMatch(/s3:\/\/bucket\/orders\/2024\.csv.*line 3.*column "items".*"x2"/);
  });

  it('gives a value that does not fit the hint it is given', async () => {
    const error = await failure(
      readObjectRecords(
        Readable.from(['id,amount\n1,lots\n']),
        options('a.csv', { id: { type: 'integer' }, amount: { type: ['null', 'number'] } }, { valueHint: 'Raise sample_size' }),
      ),
    );
    expect(error).toMatchObject({ code: 'VALUE_NOT_NUMBER', line: 2, column: 'amount', hint: 'Raise sample_size' });
  });

  it('gives null for a column the object lacks, and refuses one the catalog says may not be null', async () => {
    const body = 'id\n1\n';
    const records = await collect(
      readObjectRecords(Readable.from([body]), options('a.csv', { id: { type: 'integer' }, extra: { type: ['null', 'string'] } })),
    );
    expect(records).toEqual([{ id: 1, extra: null }]);

    const error = await failure(
      readObjectRecords(Readable.from([body]), options('a.csv', { id: { type: 'integer' }, extra: { type: 'string' } })),
    );
    expect(error.code).toBe('VALUE_NOT_NULLABLE');
    expect(error.column).toBe('extra');
    expect(error.file).toBe('s3://bucket/a.csv');
  });

  it('emits only the selected columns and reports columns the catalog does not know', async () => {
    const unknown: string[][] = [];
    const records = await collect(
      readObjectRecords(
        Readable.from(['id,name,secret,surprise\n1,a,s,x\n']),
        options(
          'a.csv',
          { name: { type: 'string' } },
          { knownColumns: new Set(['id', 'name', 'secret']), onUnknownColumns: (columns) => unknown.push(columns) },
        ),
      ),
    );
    expect(records).toEqual([{ name: 'a' }]);
    expect(unknown).toEqual([['surprise']]);
  });

  it('reads a gzipped object', async () => {
    const gz = gzipSync(readFileSync(join(FIXTURES, 'quoting.csv')));
    const records = await collect(readObjectRecords(Readable.from([gz]), options('q.csv.gz', quotingSchema)));
    expect(records).toHaveLength(4);
    expect(records[3]).toMatchObject({ id: 4, _sdc_source_lineno: 7 });
  });

  it('splits fields on the configured delimiter', async () => {
    const records = await collect(
      readObjectRecords(
        Readable.from(['a;b\n"x;y";2\n']),
        options('semi.csv', { a: { type: 'string' }, b: { type: 'integer' } }, { delimiter: ';' }),
      ),
    );
    expect(records).toEqual([{ a: 'x;y', b: 2 }]);
  });

  it('refuses a row with more fields than the header, naming object and line', async () => {
    const error = await failure(
      readObjectRecords(createReadStream(join(FIXTURES, 'ragged.csv')), options('ragged.csv', { id: { type: 'integer' } })),
    );
    expect(error.code).toBe('CSV_RAGGED_ROW');
    expect(error.file).toBe('s3://bucket/ragged.csv');
    expect(error.line).toBe(3);
  });

  it('refuses a header that names a column twice', async () => {
    const error = await failure(
      readObjectRecords(createReadStream(join(FIXTURES, 'bad-header.csv')), options('bad.csv', { id: { type: 'integer' } })),
    );
    expect(error.code).toBe('CSV_BAD_HEADER');
    expect(error.line).toBe(1);
    expect(error.file).toBe('s3://bucket/bad.csv');
  });
});
