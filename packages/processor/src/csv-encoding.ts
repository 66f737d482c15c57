import { isLosslessNumber, stringifyExactJson } from '@singer-ts/singer';

/** One CSV field: text, or null for SQL NULL. */
export type CsvField = string | null;

/**
 * A value's CSV text. Null (and an absent value) is an unquoted empty field, which
 * PostgreSQL's `COPY … CSV` (and tap-minio-csv) read as NULL; the empty string is quoted
 * (`""`) and read back as the empty string. Numbers keep their exact digits; objects and
 * arrays are JSON.
 */
export function toCsvField(value: unknown): CsvField {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (isLosslessNumber(value)) return value.value;
  return stringifyExactJson(value);
}

const NEEDS_QUOTES = /[",\r\n]/;
const QUOTE = /"/g;

/**
 * One field as RFC 4180 writes it: quoted when it holds a comma, quote or line break (quotes
 * doubled inside), and the empty string quoted so it stays distinct from NULL.
 */
export function encodeCsvField(field: CsvField): string {
  if (field === null) return '';
  if (field === '') return '""';
  return NEEDS_QUOTES.test(field) ? `"${field.replace(QUOTE, '""')}"` : field;
}

/** One record with its CRLF line end (RFC 4180). */
export function encodeCsvRow(fields: readonly CsvField[]): string {
  let line = fields.length > 0 ? encodeCsvField(fields[0]!) : '';
  for (let i = 1; i < fields.length; i += 1) line += `,${encodeCsvField(fields[i]!)}`;
  return `${line}\r\n`;
}

/** `encodeCsvField(toCsvField(value))` in one step, for the per-record path. */
export function encodeCsvValue(value: unknown): string {
  if (typeof value === 'string') {
    if (value === '') return '""';
    return NEEDS_QUOTES.test(value) ? `"${value.replace(QUOTE, '""')}"` : value;
  }
  // A number's text never holds a comma, quote or line break.
  if (typeof value === 'number') return String(value);
  return encodeCsvField(toCsvField(value));
}
