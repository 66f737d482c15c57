import { isLosslessNumber, isSafeNumber, LosslessNumber, parse, stringify } from 'lossless-json';

export { isLosslessNumber, LosslessNumber };

/**
 * The numbers a double surely holds exactly, as this module and the record pattern
 * (`record-scanner.ts`) both take them: at most this many digits and points together from the
 * first digit (15 significant digits always come back from a double as they went in)…
 */
export const SURE_DIGITS = 15;
/** …and an exponent of at most this many digits (`1e400` would become Infinity). */
export const SURE_EXPONENT_DIGITS = 2;

/**
 * A line may hold a number that a double cannot represent exactly: a long run of digits
 * (integers beyond 2^53, decimals with more than 15 significant digits) or a huge exponent
 * (`1e400` would become Infinity). Only such lines take the slow lossless parser. The check
 * looks at number tokens only (after `:`, `,` or `[`), so hex ids and timestamps inside
 * strings don't trigger it; string content that happens to look like `:1234567890123456`
 * may, which costs speed, never exactness.
 */
const RISKY_NUMBER = new RegExp(`[:,[]\\s*-?\\d(?:[\\d.]{${SURE_DIGITS}}|[\\d.]*[eE][+-]?\\d{${SURE_EXPONENT_DIGITS + 1}})`);

function parseNumber(text: string): number | LosslessNumber {
  return isSafeNumber(text) ? Number(text) : new LosslessNumber(text);
}

/** `JSON.parse`, except that numbers a double cannot hold exactly become `LosslessNumber`. */
export function parseExactJson(text: string): unknown {
  if (!RISKY_NUMBER.test(text)) return JSON.parse(text);
  return parse(text, null, parseNumber);
}

/** Whether a value holds a `LosslessNumber` or a bigint anywhere (plain objects and arrays). */
export function containsExactNumber(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint';
  if (isLosslessNumber(value)) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (containsExactNumber(item)) return true;
    return false;
  }
  for (const key in value) {
    if (containsExactNumber((value as Record<string, unknown>)[key])) return true;
  }
  return false;
}

/** `JSON.stringify`, except that `LosslessNumber` and bigint values are written exactly. */
export function stringifyExactJson(value: unknown, indent?: number): string {
  if (!containsExactNumber(value)) return JSON.stringify(value, null, indent);
  return stringify(value, null, indent) ?? 'null';
}
