/**
 * Checks of the ISO 8601 forms PostgreSQL accepts for timestamptz, date and time. Lenient in
 * form (space or `T`, offset optional, fraction optional), strict in value (real calendar days,
 * hours 0-23 or 24:00:00, leap seconds at :60).
 */

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const DATE_TIME = /^(\d{4}-\d{2}-\d{2})(?:[Tt ](.+))?$/;

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DD` naming a real calendar day. */
export function isDate(text: string): boolean {
  const match = DATE.exec(text);
  if (!match) return false;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const days = month === 2 && isLeapYear(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
  return day <= days;
}

/** `HH:MM[:SS[.fraction]]` with an optional offset (`Z`, `+03`, `+03:00`, `-0300`). */
export function isTime(text: string): boolean {
  const match = TIME.exec(text);
  if (!match) return false;
  const hour = Number(match[1]);
  const minute = Number(match[2]);
  const second = match[3] === undefined ? 0 : Number(match[3]);
  if (hour === 24) return minute === 0 && second === 0 && (match[4] === undefined || /^0+$/.test(match[4]));
  if (hour > 23 || minute > 59 || second > 60) return false;
  const offset = match[5];
  if (offset && offset.length > 1) {
    const digits = offset.slice(1).replace(':', '');
    if (Number(digits.slice(0, 2)) > 15 || (digits.length > 2 && Number(digits.slice(2)) > 59)) return false;
  }
  return true;
}

/**
 * A date-time: a date, then `T` or a space and a time with optional offset. A bare date counts
 * (midnight), as PostgreSQL reads it. A value without an offset is valid (the target takes it
 * as UTC).
 */
export function isDateTime(text: string): boolean {
  const match = DATE_TIME.exec(text);
  if (!match || !isDate(match[1]!)) return false;
  return match[2] === undefined || isTime(match[2]);
}
