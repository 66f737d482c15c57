import { LoadError, RecordError, SingerError } from '@singer-ts/singer';

import { betterReason, copyError, type CopyRows, isConnectionLost, sqlState, toLoadError } from '../../src/pg-errors';

/** An error shaped as node-postgres reports the server's. */
function pgError(message: string, fields: Record<string, string> = {}): Error {
  return Object.assign(new Error(message), fields);
}

const rows: CopyRows = {
  stream: 'orders',
  table: '"public"."orders"',
  lines: [4, 6, 9],
  records: [1, 2, 3],
  propertyOf: new Map([
    ['price', 'price'],
    ['created_at', 'createdAt'],
  ]),
};

describe('PostgreSQL error mapping', () => {
  it('maps a COPY row error to the record, input line and property it means', () => {
    const error = copyError(
      pgError('invalid input syntax for type numeric: "x"', { code: '22P02', where: 'COPY orders, line 2, column price: "x"' }),
      rows,
    );
    expect(error).toBeInstanceOf(RecordError);
    expect(error).toMatchObject({ stream: 'orders', line: 6, record: 2, column: 'price', code: 'PG_VALUE_REJECTED' });
  });

  it('names the property, not the shortened column, and works when the context ends at the column', () => {
    const error = copyError(pgError('date/time field value out of range', { where: 'COPY orders, line 3, column created_at' }), rows);
    expect(error).toMatchObject({ record: 3, column: 'createdAt' });
  });

  it('names the stream alone when the error has no row of ours', () => {
    const error = copyError(pgError('permission denied for table orders', { code: '42501' }), rows);
    expect(error).not.toBeInstanceOf(RecordError);
    expect(error).toMatchObject({ stream: 'orders', code: 'PG_COPY_FAILED' });
    expect(error.message).toContain('"public"."orders"');
  });

  it('says a lost connection is one, and to re-run from the last state', () => {
    const error = copyError(pgError('terminating connection due to administrator command', { code: '57P01' }), rows);
    expect(error).toMatchObject({ stream: 'orders', code: 'PG_CONNECTION_LOST' });
    expect(error.hint).toMatch(/re-run from that state/);
  });

  it('tells a deadlock or serialization failure apart: re-run from the last state', () => {
    for (const code of ['40P01', '40001']) {
      expect(toLoadError(pgError('deadlock detected', { code }), 'merging')).toMatchObject({ code: 'PG_CONCURRENT_UPDATE' });
    }
  });

  it('keeps the server detail and column of other failures', () => {
    const error = toLoadError(pgError('null value in column "x"', { code: '23502', detail: 'Failing row contains (1, null).', column: 'x' }), 'merging');
    expect(error).toBeInstanceOf(LoadError);
    expect(error.message).toBe('PostgreSQL failed while merging: null value in column "x" (Failing row contains (1, null).)');
    expect(error.column).toBe('x');
  });

  it('passes our own errors through unchanged', () => {
    const ours = new SingerError('already explained', { code: 'X' });
    expect(toLoadError(ours, 'anything')).toBe(ours);
    expect(copyError(ours, rows)).toBe(ours);
  });

  it('finds the SQLSTATE through causes, and prefers the server reason over a socket error', () => {
    const server = pgError('terminating connection', { code: '57P01' });
    const wrapped = new LoadError('wrapped', { cause: server });
    expect(sqlState(wrapped)).toBe('57P01');
    const socket = pgError('write EPIPE', { code: 'EPIPE' });
    expect(betterReason(socket, server)).toBe(server);
    expect(betterReason(server, socket)).toBe(server);
    expect(betterReason(undefined, socket)).toBe(socket);
    expect(isConnectionLost(socket)).toBe(true);
    expect(isConnectionLost(pgError('syntax error', { code: '42601' }))).toBe(false);
  });
});
