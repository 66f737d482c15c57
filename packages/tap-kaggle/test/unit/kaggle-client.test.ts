import { formatBytes, retryAfterMs } from '../../src/kaggle-client';

const headers = (value: string | null) => ({ headers: { get: (name: string) => (name === 'retry-after' ? value : null) } });

describe('Kaggle client helpers', () => {
  it('reads Retry-After as seconds', () => {
    expect(retryAfterMs(headers('3'))).toBe(3000);
    expect(retryAfterMs(headers('0.5'))).toBe(500);
  });

  it('reads Retry-After as an HTTP date', () => {
    const now = Date.parse('2024-05-01T10:00:00Z');
    expect(retryAfterMs(headers('Wed, 01 May 2024 10:00:07 GMT'), now)).toBe(7000);
    expect(retryAfterMs(headers('Wed, 01 May 2024 09:00:00 GMT'), now)).toBe(0);
  });

  it('ignores a missing or unreadable Retry-After', () => {
    expect(retryAfterMs(headers(null))).toBeUndefined();
    expect(retryAfterMs(headers('soon'))).toBeUndefined();
  });

  it('formats byte counts for progress lines', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(44_700_000)).toBe('42.6 MiB');
  });
});
