import { checkKeyTemplate, DEFAULT_KEY_TEMPLATE, renderKey } from '../../src/key-template';

const run = { startedAt: new Date('2024-03-07T05:04:03.210Z'), runId: '20240307T050403Z-abc123' };

describe('key templates', () => {
  it('partition by the run date by default', () => {
    expect(renderKey(DEFAULT_KEY_TEMPLATE, 'orders', run, false)).toBe('orders/2024/03/07/orders.csv');
  });

  it('fill every variable, dates in UTC and zero-padded', () => {
    expect(renderKey('x/{year}{month}{day}{hour}/{run_id}/{stream}.csv', 'order_items', run, false)).toBe(
      'x/2024030705/20240307T050403Z-abc123/order_items.csv',
    );
  });

  it('append .gz for gzip unless the template already ends so', () => {
    expect(renderKey('{stream}.csv', 's', run, true)).toBe('s.csv.gz');
    expect(renderKey('{stream}.csv.gz', 's', run, true)).toBe('s.csv.gz');
  });

  it('name unknown variables and stray braces', () => {
    expect(checkKeyTemplate(DEFAULT_KEY_TEMPLATE)).toEqual([]);
    expect(checkKeyTemplate('{stream}/{date}/{minute}.csv')).toEqual([
      expect.stringContaining('unknown variable {date}'),
      expect.stringContaining('unknown variable {minute}'),
    ]);
    expect(checkKeyTemplate('{stream.csv')).toEqual([expect.stringContaining('unmatched')]);
    expect(checkKeyTemplate('/{stream}.csv')).toEqual([expect.stringContaining('must not start with "/"')]);
  });
});
