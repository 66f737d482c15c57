import { isLosslessNumber, LosslessNumber } from '@singer-ts/singer';

import { isMissing, type Rule, type RuleContext, valueError } from './rule';

/** Blank text in a typed column means a missing value, as pandas reads it. */
function isBlank(value: unknown): boolean {
  return typeof value === 'string' && value.trim() === '';
}

/** The exact decimal text of a numeric value, or undefined when it is not numeric. */
function numericText(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return value.toString();
  if (isLosslessNumber(value)) return value.value;
  if (typeof value === 'string') return value.trim();
  return undefined;
}

/** A decimal in plain or exponent notation: `5`, `-5.0`, `+.5`, `5.`, `1e3`, `1.5E-2`. */
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** No integer this long is a sensible column value; it also bounds `1e999999999`. */
const MAX_DIGITS = 1000;

interface Decimal {
  negative: boolean;
  /** Significant digits, no leading zeros ("" for zero). */
  digits: string;
  /** The value is `digits × 10^exponent`. */
  exponent: number;
}

function parseDecimal(text: string): Decimal | undefined {
  const match = DECIMAL.exec(text);
  if (!match) return undefined;
  const [, sign, whole = '', fraction = '', exponentText] = match;
  if (whole === '' && fraction === '') return undefined;
  const exponent = Number(exponentText ?? '0') - fraction.length;
  if (!Number.isSafeInteger(exponent)) return undefined;
  const digits = (whole + fraction).replace(/^0+/, '');
  return { negative: sign === '-', digits, exponent };
}

/** The value's integer text, or `'fraction'`/`'range'` when it has no exact integer form. */
function integerText(decimal: Decimal): string | 'fraction' | 'range' {
  let { digits, exponent } = decimal;
  if (digits === '') return '0';
  while (exponent < 0 && digits.endsWith('0')) {
    digits = digits.slice(0, -1);
    exponent += 1;
  }
  if (exponent < 0) return 'fraction';
  if (digits.length + exponent > MAX_DIGITS) return 'range';
  return (decimal.negative ? '-' : '') + digits + '0'.repeat(exponent);
}

/** A JS number when it holds the integer exactly, else the exact text as a LosslessNumber. */
function integerValue(text: string): number | LosslessNumber {
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : new LosslessNumber(text);
}

/**
 * Makes a whole number an integer: `5`, `5.0`, `"5"`, `"5.0"`, `"1e3"` → 5, 5, 5, 5, 1000
 * (pandas' `astype(int)` on whole floats). A fractional value is an error, never truncated;
 * blank text and null give null. Integers beyond 2^53 keep every digit.
 */
export const integer: Rule = (value, ctx) => {
  if (isMissing(value) || isBlank(value)) return null;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value === 0 ? 0 : value;
  const text = numericText(value);
  const decimal = text === undefined ? undefined : parseDecimal(text);
  if (decimal === undefined) throw valueError('is not an integer', 'VALUE_NOT_INTEGER', value, ctx);
  const result = integerText(decimal);
  if (result === 'fraction') {
    throw valueError('has a fractional part; "integer" never truncates', 'VALUE_NOT_INTEGER', value, ctx);
  }
  if (result === 'range') throw valueError('is too large for an integer', 'VALUE_NOT_INTEGER', value, ctx);
  return integerValue(result);
};

/** The canonical text of a decimal written as given: no `+`, no bare `.`, e.g. `+.50` → `0.50`. */
function canonicalNumber(text: string): string {
  let out = text.startsWith('+') ? text.slice(1) : text;
  out = out.replace(/^(-?)\./, '$10.').replace(/\.(?=[eE]|$)/, '');
  return out;
}

/**
 * Makes a value a number: `"3.14"` → 3.14, `" 2 "` → 2, `"1e-3"` → 0.001. Numbers pass
 * unchanged; a decimal a double cannot hold keeps its exact digits. `NaN`, `Infinity` and
 * any other text are errors; blank text and null give null.
 */
export const number: Rule = (value, ctx) => {
  if (isMissing(value) || isBlank(value)) return null;
  if (typeof value === 'number' || isLosslessNumber(value)) return value;
  if (typeof value === 'bigint') return new LosslessNumber(value.toString());
  if (typeof value === 'string') {
    const text = value.trim();
    if (parseDecimal(text) !== undefined) {
      const canonical = canonicalNumber(text);
      const n = Number(canonical);
      return Number.isFinite(n) && sameNumber(String(n), canonical) ? n : new LosslessNumber(canonical);
    }
  }
  throw valueError('is not a number', 'VALUE_NOT_NUMBER', value, ctx);
};

/** Whether two decimal texts denote the same value (`1.50` and `1.5`, `1e3` and `1000`). */
function sameNumber(a: string, b: string): boolean {
  const x = parseDecimal(a);
  const y = parseDecimal(b);
  if (!x || !y) return false;
  const norm = (d: Decimal): string => {
    let { digits, exponent } = d;
    while (digits.endsWith('0')) {
      digits = digits.slice(0, -1);
      exponent += 1;
    }
    return digits === '' ? '0' : `${d.negative ? '-' : ''}${digits}e${exponent}`;
  };
  return norm(x) === norm(y);
}

/** `fill_null(x)`: a missing value (null or absent) becomes `x`; every other value passes. */
export function fillNull(fill: unknown): Rule {
  return (value) => (isMissing(value) ? fill : value);
}

const TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?: ?(Z|[+-]\d{2}(?::?\d{2})?))?)?$/i;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function timestampError(reason: string, value: unknown, ctx: RuleContext): Error {
  return valueError(`is not a timestamp (${reason})`, 'VALUE_NOT_DATETIME', value, ctx);
}

const ZERO = 48;

/** The two digits at `at` as a number, or -1. */
function twoDigits(text: string, at: number): number {
  const a = text.charCodeAt(at) - ZERO;
  const b = text.charCodeAt(at + 1) - ZERO;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The common shape, `YYYY-MM-DD HH:MM:SS` (or with `T`), valid: checked without a regular
 * expression, as most values of a timestamp column take this path.
 */
function isPlainTimestamp(text: string): boolean {
  if (text.length !== 19) return false;
  const sep = text.charCodeAt(10);
  if (sep !== 32 && sep !== 84) return false;
  if (text[4] !== '-' || text[7] !== '-' || text[13] !== ':' || text[16] !== ':') return false;
  const century = twoDigits(text, 0);
  const yy = twoDigits(text, 2);
  const month = twoDigits(text, 5);
  const day = twoDigits(text, 8);
  const year = century * 100 + yy;
  return (
    century >= 0 &&
    yy >= 0 &&
    year >= 1 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth(year, month) &&
    twoDigits(text, 11) >= 0 &&
    twoDigits(text, 11) <= 23 &&
    twoDigits(text, 14) >= 0 &&
    twoDigits(text, 14) <= 59 &&
    twoDigits(text, 17) >= 0 &&
    twoDigits(text, 17) <= 59
  );
}

/**
 * Parses a date-time and writes it as ISO 8601: `2017-10-02 10:56:33` →
 * `2017-10-02T10:56:33`. The clock reading is kept exactly: no zone is ever added, removed
 * or converted. A value with an offset keeps it (`+0300` → `+03:00`, `z` → `Z`); fractions of
 * a second keep their digits; a bare date gets midnight. Blank and null give null.
 */
export const timestamp: Rule = (value, ctx) => {
  if (typeof value === 'string' && isPlainTimestamp(value)) return `${value.slice(0, 10)}T${value.slice(11)}`;
  if (isMissing(value) || isBlank(value)) return null;
  if (typeof value !== 'string') throw timestampError('not text', value, ctx);
  const match = TIMESTAMP.exec(value.trim());
  if (!match) throw timestampError('expected YYYY-MM-DD[ HH:MM[:SS[.fff]]][offset]', value, ctx);
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction, offset] = match as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (year < 1) throw timestampError('year 0000', value, ctx);
  if (month < 1 || month > 12) throw timestampError(`month ${mo} out of range`, value, ctx);
  if (day < 1 || day > daysInMonth(year, month)) throw timestampError(`day ${d} out of range`, value, ctx);
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) throw timestampError('time out of range', value, ctx);
  let zone = '';
  if (offset !== undefined) {
    if (offset.toUpperCase() === 'Z') zone = 'Z';
    else {
      const oh = offset.slice(1, 3);
      const om = offset.slice(3).replace(':', '') || '00';
      if (Number(oh) > 23 || Number(om) > 59) throw timestampError(`offset ${offset} out of range`, value, ctx);
      zone = `${offset[0]}${oh}:${om}`;
    }
  }
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${fraction === undefined ? '' : `.${fraction}`}${zone}`;
};
