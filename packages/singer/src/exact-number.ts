import { isLosslessNumber } from './exact-json';

/**
 * Exact decimal arithmetic for schema bounds and `multipleOf`, on the value's own text: a
 * JSON Schema number is a decimal, not a double. `0.01` is one hundredth, so `19.99` is a
 * multiple of it; `9223372036854775808` is greater than `9223372036854775807`. Doubles get
 * both wrong. A JavaScript number stands for the decimal of its shortest round-trip text
 * (`String(n)`), which is what a JSON parser that read it exactly was given.
 */

/** `coefficient × 10^exponent`, the coefficient without trailing zeros (zero is `0 × 10^0`). */
export interface Decimal {
  readonly negative: boolean;
  readonly coefficient: bigint;
  readonly exponent: number;
  /** Number of digits of the coefficient. */
  readonly digits: number;
}

const NUMBER_TEXT = /^([+-])?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** The exact text of a number value, or `undefined` for anything else (strings included). */
export function exactNumberText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return value.toString();
  if (isLosslessNumber(value)) return value.value;
  return undefined;
}

/** Parses decimal number text (`-12.50`, `1e+38`, `9223372036854775807`); `undefined` if it is not one. */
export function parseDecimal(text: string): Decimal | undefined {
  const match = NUMBER_TEXT.exec(text);
  if (!match) return undefined;
  const whole = match[2] ?? '';
  const fraction = match[3] ?? '';
  if (whole === '' && fraction === '') return undefined;
  const exponentText = match[4];
  let exponent = exponentText === undefined ? 0 : Number(exponentText);
  // An exponent beyond 2^53 cannot be reasoned about; no real bound or value needs one.
  if (!Number.isSafeInteger(exponent)) return undefined;
  let digits = (whole + fraction).replace(/^0+/, '');
  exponent -= fraction.length;
  if (digits === '') return { negative: false, coefficient: 0n, exponent: 0, digits: 1 };
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  if (!Number.isSafeInteger(exponent)) return undefined;
  return { negative: match[1] === '-', coefficient: BigInt(digits), exponent, digits: digits.length };
}

/** A number value (number, bigint or `LosslessNumber`) as a `Decimal`; `undefined` for anything else. */
export function toDecimal(value: unknown): Decimal | undefined {
  const text = exactNumberText(value);
  return text === undefined ? undefined : parseDecimal(text);
}

function isZero(d: Decimal): boolean {
  return d.coefficient === 0n;
}

/** Compares two decimals exactly: negative, zero or positive as `a` is less, equal or greater. */
export function compareDecimals(a: Decimal, b: Decimal): number {
  const signA = isZero(a) ? 0 : a.negative ? -1 : 1;
  const signB = isZero(b) ? 0 : b.negative ? -1 : 1;
  if (signA !== signB) return signA < signB ? -1 : 1;
  if (signA === 0) return 0;
  // Same sign: compare magnitudes by order (position of the leading digit), then digit by digit.
  const orderA = a.digits + a.exponent;
  const orderB = b.digits + b.exponent;
  let magnitude: number;
  if (orderA !== orderB) {
    magnitude = orderA < orderB ? -1 : 1;
  } else {
    const width = Math.max(a.digits, b.digits);
    const left = a.coefficient * 10n ** BigInt(width - a.digits);
    const right = b.coefficient * 10n ** BigInt(width - b.digits);
    magnitude = left === right ? 0 : left < right ? -1 : 1;
  }
  return signA * magnitude;
}

/** Compares two number values exactly (numbers, bigints, `LosslessNumber`s); `undefined` if either is not one. */
export function compareExact(a: unknown, b: unknown): number | undefined {
  if (typeof a === 'number' && typeof b === 'number') return a === b ? 0 : a < b ? -1 : 1;
  const left = toDecimal(a);
  const right = toDecimal(b);
  return left && right ? compareDecimals(left, right) : undefined;
}

function modPow(base: bigint, exponent: number, modulus: bigint): bigint {
  let result = 1n % modulus;
  let b = base % modulus;
  let e = BigInt(exponent);
  while (e > 0n) {
    if (e & 1n) result = (result * b) % modulus;
    b = (b * b) % modulus;
    e >>= 1n;
  }
  return result;
}

/** Whether `value` is an integer multiple of `divisor` (which must be positive), exactly. */
export function isMultipleOfDecimal(value: Decimal, divisor: Decimal): boolean {
  if (isZero(value)) return true;
  if (divisor.coefficient === 1n && value.exponent >= divisor.exponent) return true;
  if (value.exponent < divisor.exponent) {
    // The coefficient has no trailing zero, so it is not divisible by any power of ten.
    return false;
  }
  const shift = value.exponent - divisor.exponent;
  return ((value.coefficient % divisor.coefficient) * modPow(10n, shift, divisor.coefficient)) % divisor.coefficient === 0n;
}

/** Whether a number value is a multiple of a positive divisor, exactly; `undefined` if either is not a number. */
export function isExactMultipleOf(value: unknown, divisor: unknown): boolean | undefined {
  const v = toDecimal(value);
  const d = toDecimal(divisor);
  if (!v || !d || isZero(d) || d.negative) return undefined;
  return isMultipleOfDecimal(v, d);
}

/** The exact text of a decimal, plain for modest exponents (`0.01`, `1000`), else `1e+38` style. */
export function formatDecimal(d: Decimal): string {
  const sign = d.negative && !isZero(d) ? '-' : '';
  const digits = d.coefficient.toString();
  if (d.exponent >= 0 && d.exponent <= 21) return `${sign}${digits}${'0'.repeat(d.exponent)}`;
  if (d.exponent < 0 && -d.exponent <= 21) {
    const point = digits.length + d.exponent;
    return point > 0
      ? `${sign}${digits.slice(0, point)}.${digits.slice(point)}`
      : `${sign}0.${'0'.repeat(-point)}${digits}`;
  }
  const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const exponent = d.exponent + digits.length - 1;
  return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
}
