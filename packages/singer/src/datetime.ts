/**
 * Checks of the ISO 8601 date and time texts PostgreSQL reads, for `format: date-time | date |
 * time`: schema inference, CSV coercion and record validation all use these, so a value one
 * of them accepts the others accept too.
 *
 * Accepted:
 * - date `YYYY-MM-DD` (year 0001-9999, a real day of the month, leap years included);
 * - time `HH:MM`, `HH:MM:SS`, `HH:MM:SS.fff…`, hour 00-23 or exactly `24:00[:00[.000]]`,
 *   seconds up to 60 (a leap second, which PostgreSQL rolls into the next minute);
 * - offset `Z`, `±HH`, `±HH:MM` or `±HHMM`, up to ±15:59 as PostgreSQL allows;
 * - date-time: a date alone (midnight), or date, `T` or a space, time, optional offset.
 *
 * Not accepted, though PostgreSQL reads some of them: week and ordinal dates, month names,
 * `BC`, years beyond 9999, zone names, a space before the offset. These are the texts a
 * data file would carry; anything else stays a string, so nothing is guessed.
 *
 * Hand-written over the characters rather than a regular expression: these run once per
 * value of every date column, and a match array per call is garbage we need not make.
 */

const ZERO = 48;
const COLON = 58;
const DASH = 45;
const PLUS = 43;
const DOT = 46;
const SPACE = 32;
const UPPER_T = 84;
const LOWER_T = 116;
const UPPER_Z = 90;
const LOWER_Z = 122;

/** `YYYY-MM-DD`: a real calendar date. */
export function isDate(text: string): boolean {
  return dateEnd(text, 0) === text.length;
}

/** `HH:MM[:SS[.fff]]` with an optional offset. */
export function isTime(text: string): boolean {
  return isTimeSpan(text, 0, text.length);
}

/** A date alone, or a date, `T` or a space, and a time with an optional offset. */
export function isDateTime(text: string): boolean {
  return isDateTimeSpan(text, 0, text.length);
}

/** `isDate` of `text.slice(start, end)`, without making the slice. */
export function isDateSpan(text: string, start: number, end: number): boolean {
  return dateEnd(text, start) === end;
}

/** `isTime` of `text.slice(start, end)`, without making the slice. */
export function isTimeSpan(text: string, start: number, end: number): boolean {
  const time = timeEnd(text, start);
  return time !== -1 && offsetEnd(text, time, end) === end;
}

/** `isDateTime` of `text.slice(start, end)`, without making the slice. */
export function isDateTimeSpan(text: string, start: number, end: number): boolean {
  const date = dateEnd(text, start);
  if (date === -1) return false;
  if (date === end) return true;
  const separator = text.charCodeAt(date);
  if (separator !== UPPER_T && separator !== LOWER_T && separator !== SPACE) return false;
  const time = timeEnd(text, date + 1);
  return time !== -1 && offsetEnd(text, time, end) === end;
}

/** The digit at `i`, or -1 (also past the end: `charCodeAt` gives NaN there). */
function digit(text: string, i: number): number {
  const d = text.charCodeAt(i) - ZERO;
  return d >= 0 && d <= 9 ? d : -1;
}

/** The two-digit number at `i`, or -1. */
function twoDigits(text: string, i: number): number {
  const tens = digit(text, i);
  const ones = digit(text, i + 1);
  return tens === -1 || ones === -1 ? -1 : tens * 10 + ones;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Index just after a date starting at `i`, or -1. */
function dateEnd(text: string, i: number): number {
  const century = twoDigits(text, i);
  const rest = twoDigits(text, i + 2);
  if (century === -1 || rest === -1 || text.charCodeAt(i + 4) !== DASH) return -1;
  const year = century * 100 + rest;
  const month = twoDigits(text, i + 5);
  if (year === 0 || month < 1 || month > 12 || text.charCodeAt(i + 7) !== DASH) return -1;
  const day = twoDigits(text, i + 8);
  if (day < 1 || day > daysInMonth(year, month)) return -1;
  return i + 10;
}

/** Index just after a time (without offset) starting at `i`, or -1. */
function timeEnd(text: string, i: number): number {
  const hour = twoDigits(text, i);
  if (hour < 0 || hour > 24 || text.charCodeAt(i + 2) !== COLON) return -1;
  const minute = twoDigits(text, i + 3);
  if (minute < 0 || minute > 59) return -1;
  let end = i + 5;
  let nonZero = minute !== 0;
  if (text.charCodeAt(end) === COLON) {
    const second = twoDigits(text, end + 1);
    if (second < 0 || second > 60) return -1;
    nonZero ||= second !== 0;
    end += 3;
    if (text.charCodeAt(end) === DOT) {
      end += 1;
      const first = end;
      for (let d = digit(text, end); d !== -1; d = digit(text, end)) {
        nonZero ||= d !== 0;
        end += 1;
      }
      if (end === first) return -1;
    }
  }
  // 24:00 is the end of the day; nothing may come after it.
  if (hour === 24 && nonZero) return -1;
  return end;
}

/**
 * Index just after an optional UTC offset starting at `i` (`i` itself when there is none), or
 * -1; the text ends at `end`.
 */
function offsetEnd(text: string, i: number, end: number): number {
  const c = text.charCodeAt(i);
  if (c === UPPER_Z || c === LOWER_Z) return i + 1;
  if (c !== PLUS && c !== DASH) return i;
  const hours = twoDigits(text, i + 1);
  if (hours < 0 || hours > 15) return -1;
  let minutesAt = i + 3;
  if (text.charCodeAt(minutesAt) === COLON) minutesAt += 1;
  else if (minutesAt === end) return minutesAt;
  const minutes = twoDigits(text, minutesAt);
  if (minutes < 0 || minutes > 59) return -1;
  return minutesAt + 2;
}
