import { createHmac } from 'node:crypto';

import { isLosslessNumber } from '@singer-ts/singer';

import { isMissing, type Rule, valueError } from './rule';

/**
 * `hash`: pseudonymises a value as the hex HMAC-SHA256 of its text under a secret key, so
 * equal values stay equal (joins still work) across runs with the same key, while the
 * original cannot be recovered or guessed by hashing candidates without the key. Numbers
 * and booleans are hashed by their JSON text (`5` and `"5"` give the same hash); null stays
 * null. The key is captured here and never appears in any message.
 */
export function hash(key: string): Rule {
  return (value, ctx) => {
    if (isMissing(value)) return null;
    let text: string;
    if (typeof value === 'string') text = value;
    else if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') text = String(value);
    else if (isLosslessNumber(value)) text = value.value;
    else throw valueError('step "hash" needs a string, number or boolean', 'VALUE_NOT_HASHABLE', value, ctx);
    return createHmac('sha256', key).update(text, 'utf8').digest('hex');
  };
}

/** `drop`: the column is left out of the output; the compiler removes it from the header. */
export const drop: Rule = () => undefined;
