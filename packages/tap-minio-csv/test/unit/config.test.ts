import { ConfigError } from '@singer-ts/singer';

import { normalizeConfig, parseInstant, parseNameList, parseTables } from '../../src/config';

const legacyOrders = {
  start_date: '2022-12-18T00:00:00Z',
  aws_access_key_id: 'spotonaccesskey',
  aws_secret_access_key: 'spotonsecretkey',
  endpoint_url: 'http://minio-s3:9000',
  bucket: 'spoton-assignment',
  tables:
    '[{"search_pattern":"olist_orders_dataset.csv",   "table_name":"orders",   "key_properties":"order_id",   "delimiter":",",   "date_overrides":"order_purchase_timestamp,order_approved_at"}]',
};

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const e = error as ConfigError;
    return e.problems.length > 0 ? [...e.problems] : [e.message];
  }
  throw new Error('expected a ConfigError');
}

describe('config', () => {
  it('reads the legacy config whose tables are a JSON string with comma-separated lists', () => {
    const config = normalizeConfig(legacyOrders);
    expect(config.bucket).toBe('spoton-assignment');
    expect(config.endpointUrl).toBe('http://minio-s3:9000');
    expect(config.region).toBe('us-east-1');
    expect(config.startDate?.toISOString()).toBe('2022-12-18T00:00:00.000Z');
    expect(config.sampleSize).toBe(1000);
    expect(config.tables).toHaveLength(1);
    const [orders] = config.tables;
    expect(orders?.tableName).toBe('orders');
    expect(orders?.searchPrefix).toBe('');
    expect(orders?.keyProperties).toEqual(['order_id']);
    expect(orders?.dateOverrides).toEqual(['order_purchase_timestamp', 'order_approved_at']);
    expect(orders?.delimiter).toBe(',');
    expect(orders?.searchPattern.test('exports/olist_orders_dataset.csv')).toBe(true);
  });

  it('takes tables as a list with list-valued key_properties and date_overrides', () => {
    const config = normalizeConfig({
      bucket: 'b',
      sample_size: 5,
      region: 'eu-west-1',
      tables: [
        {
          table_name: 'items',
          search_prefix: 'exports/',
          search_pattern: '\\.csv(\\.gz)?$',
          key_properties: ['order_id', 'order_item_id'],
          date_overrides: ['shipping_limit_date'],
          delimiter: ';',
        },
      ],
    });
    expect(config.sampleSize).toBe(5);
    expect(config.region).toBe('eu-west-1');
    expect(config.tables[0]).toMatchObject({
      tableName: 'items',
      searchPrefix: 'exports/',
      keyProperties: ['order_id', 'order_item_id'],
      dateOverrides: ['shipping_limit_date'],
      delimiter: ';',
    });
  });

  it('names the table whose search_pattern is not a regular expression', () => {
    const problems = problemsOf(() =>
      parseTables([
        { table_name: 'good', search_pattern: 'a' },
        { table_name: 'broken', search_pattern: 'orders(' },
      ]),
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/table "broken": search_pattern is not a valid regular expression/);
  });

  it('lists every problem of every table at once', () => {
    const problems = problemsOf(() =>
      normalizeConfig({
        bucket: 'b',
        start_date: 'yesterday',
        tables: [
          { search_pattern: 'x' },
          { table_name: 't', search_pattern: 'x', delimiter: ';;', key_propertie: 'id' },
          { table_name: 't', search_pattern: 'y' },
          'not a table',
        ],
      }),
    );
    expect(problems).toEqual([
      'start_date must be an ISO 8601 date or date-time',
      'tables[0].table_name is required (a non-empty string)',
      'table "t": unknown key "key_propertie"',
      'table "t": delimiter must be a single character other than a quote or newline',
      'table "t": table_name is used twice',
      'tables[3] must be an object',
    ]);
  });

  it('rejects tables given as a string that is not JSON', () => {
    expect(() => parseTables('[{"table_name": "x"')).toThrow(/"tables" is a string but not JSON/);
  });

  it('rejects an empty list of tables', () => {
    expect(() => parseTables('[]')).toThrow(/"tables" is empty/);
  });

  it('splits comma-separated names and drops empty ones', () => {
    expect(parseNameList('a, b,,c ')).toEqual(['a', 'b', 'c']);
    expect(parseNameList(['a', ' b '])).toEqual(['a', 'b']);
    expect(parseNameList('')).toEqual([]);
    expect(parseNameList(undefined)).toEqual([]);
  });

  it('takes an ISO date-time without offset as UTC and rejects what is not ISO 8601', () => {
    expect(parseInstant('2024-03-01')?.toISOString()).toBe('2024-03-01T00:00:00.000Z');
    expect(parseInstant('2024-03-01 10:11:12')?.toISOString()).toBe('2024-03-01T10:11:12.000Z');
    expect(parseInstant('2024-03-01T10:11:12+02:00')?.toISOString()).toBe('2024-03-01T08:11:12.000Z');
    expect(parseInstant('03/01/2024')).toBeUndefined();
    expect(parseInstant('2024-13-45')).toBeUndefined();
  });
});
