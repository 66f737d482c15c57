import { createHmac } from 'node:crypto';

import { drop, hash } from '../../src/rules/privacy';
import { ctx, run } from './helpers';

describe('hash', () => {
  const key = 'test-key-1';

  it('is the hex HMAC-SHA256 of the value under the key', () => {
    const expected = createHmac('sha256', key).update('alice@example.com').digest('hex');
    expect(run(hash(key), 'alice@example.com')).toBe(expected);
    expect(expected).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is stable for the same key and differs for another key', () => {
    expect(run(hash(key), 'x')).toBe(run(hash(key), 'x'));
    expect(run(hash(key), 'x')).not.toBe(run(hash('other-key'), 'x'));
  });

  it('hashes numbers by their text and leaves null as null', () => {
    expect(run(hash(key), 5)).toBe(run(hash(key), '5'));
    expect(run(hash(key), null)).toBeNull();
  });

  it('never puts the key into an error', () => {
    let message = '';
    try {
      hash('very-secret-key')({ nested: true }, ctx);
    } catch (error) {
      message = `${(error as Error).message} ${JSON.stringify(error)}`;
    }
    expect(message).toContain('hash');
    expect(message).not.toContain('very-secret-key');
  });
});

describe('drop', () => {
  it('gives no value', () => {
    expect(run(drop, 'anything')).toBeUndefined();
  });
});
