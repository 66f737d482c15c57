import { ConfigError } from '@singer-ts/singer';

import { defaultStreamName, selectFiles, streamNameOf } from '../../src/file-selection';

const OLIST = [
  'olist_customers_dataset.csv',
  'olist_geolocation_dataset.csv',
  'olist_order_items_dataset.csv',
  'olist_orders_dataset.csv',
  'olist_products_dataset.csv',
  'product_category_name_translation.csv',
];

describe('choosing dataset files and naming their streams', () => {
  it('chooses every CSV by default and names streams after the files', () => {
    const { choices } = selectFiles([...OLIST, 'README.md', 'data/extra.CSV'], { streamNames: {} });
    expect(choices.map((c) => c.file)).toEqual([...OLIST, 'data/extra.CSV']);
    expect(choices[0]).toEqual({ file: 'olist_customers_dataset.csv', stream: 'olist_customers_dataset' });
    expect(choices[choices.length - 1]?.stream).toBe('extra');
  });

  it('chooses files by exact names and by globs', () => {
    const { choices } = selectFiles(OLIST, { files: ['olist_order*_dataset.csv', 'olist_customers_dataset.csv'], streamNames: {} });
    expect(choices.map((c) => c.file)).toEqual([
      'olist_customers_dataset.csv',
      'olist_order_items_dataset.csv',
      'olist_orders_dataset.csv',
    ]);
  });

  it('matches a pattern without a slash against base names inside folders', () => {
    const { choices } = selectFiles(['data/a.csv', 'other/b.csv'], { files: ['a.csv', 'other/*.csv'], streamNames: {} });
    expect(choices.map((c) => c.file)).toEqual(['data/a.csv', 'other/b.csv']);
  });

  it('maps files to stream names by full or base name', () => {
    const streamNames = { 'olist_orders_dataset.csv': 'orders', 'sub/x.csv': 'ex' };
    expect(streamNameOf('olist_orders_dataset.csv', streamNames)).toBe('orders');
    expect(streamNameOf('sub/x.csv', streamNames)).toBe('ex');
    expect(streamNameOf('deep/olist_orders_dataset.csv', streamNames)).toBe('orders');
    expect(streamNameOf('other.csv', streamNames)).toBe('other');
  });

  it('strips only a trailing .csv for the default stream name', () => {
    expect(defaultStreamName('a.csv.backup.csv')).toBe('a.csv.backup');
    expect(defaultStreamName('notes.txt')).toBe('notes.txt');
  });

  it('fails naming a listed file the dataset does not have', () => {
    expect(() => selectFiles(OLIST, { files: ['olist_order_dataset.csv'], streamNames: {} })).toThrow(ConfigError);
    expect(() => selectFiles(OLIST, { files: ['olist_order_dataset.csv'], streamNames: {} })).toThrow(/olist_order_dataset\.csv/);
  });

  it('only warns when a glob matches nothing', () => {
    const { choices, warnings } = selectFiles(OLIST, { files: ['*.parquet', 'olist_orders_dataset.csv'], streamNames: {} });
    expect(choices).toHaveLength(1);
    expect(warnings).toEqual(['"files" pattern "*.parquet" matches no file of the dataset']);
  });

  it('fails when two files would land in one stream', () => {
    expect(() => selectFiles(['a/x.csv', 'b/x.csv'], { streamNames: {} })).toThrow(/"a\/x\.csv" and "b\/x\.csv" would both be stream "x"/);
  });

  it('warns about stream_names keys that name no file', () => {
    const { warnings } = selectFiles(OLIST, { streamNames: { 'olist_order.csv': 'orders' } });
    expect(warnings[0]).toContain('olist_order.csv');
  });
});
