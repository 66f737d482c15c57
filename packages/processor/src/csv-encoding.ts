import { isLosslessNumber, type JsonSchema, stringifyExactJson, TOKEN_NUMBER, TOKEN_STRING } from '@singer-ts/singer';

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
  if (typeof value === 'number') return numberText(value);
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (isLosslessNumber(value)) return value.value;
  return stringifyExactJson(value);
}

/** Powers of ten for the decimals `numberText` writes itself. */
const SCALES = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];

/**
 * `String(value)`, without V8's number-to-string cache for fractions. NOTE: V8 allocates the
 * text of a non-integer number straight in the old generation, because its cache (which lives
 * there) refers to it. At two prices per order_items row that was 30 MB of old-space garbage
 * per million rows, collected only by full GCs, and the conversion itself was a third of the
 * CSV encoding time. A fraction with at most six decimals is written here from its scaled
 * integer instead (exactly what `String` gives: the shortest text that reads back as the same
 * double); any other number goes through `JSON.stringify`, which for a finite number is
 * `String` by definition and allocates young.
 */
export function numberText(value: number): string {
  if (Number.isInteger(value) || !Number.isFinite(value)) return String(value);
  for (let decimals = 1; decimals < SCALES.length; decimals += 1) {
    const scale = SCALES[decimals]!;
    const scaled = Math.round(value * scale);
    // Below 2^52 a double's spacing is under 1/scale, so no shorter decimal reads back as
    // `value`: `scaled / scale` is its shortest text, as String() would write it.
    if (scaled / scale !== value || Math.abs(scaled) >= 2 ** 52) continue;
    const magnitude = scaled < 0 ? -scaled : scaled;
    const whole = Math.floor(magnitude / scale);
    const fraction = String(magnitude - whole * scale);
    return `${scaled < 0 ? '-' : ''}${whole}.${'0'.repeat(decimals - fraction.length)}${fraction}`;
  }
  return JSON.stringify(value);
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
  if (typeof value === 'number') return numberText(value);
  return encodeCsvField(toCsvField(value));
}

/** `encodeCsvValue` for one column, chosen once for the column's type. */
export type CsvValueEncoder = (value: unknown) => string;

/** A text column's values: strings first, anything else as `encodeCsvValue` writes it. */
const encodeText: CsvValueEncoder = (value) => {
  if (typeof value !== 'string') return encodeCsvValue(value);
  if (value === '') return '""';
  return NEEDS_QUOTES.test(value) ? `"${value.replace(QUOTE, '""')}"` : value;
};

/** A numeric column's values: numbers first, anything else as `encodeCsvValue` writes it. */
const encodeNumeric: CsvValueEncoder = (value) => (typeof value === 'number' ? numberText(value) : encodeCsvValue(value));

/**
 * The encoder for a column of this JSON Schema: `encodeCsvValue`, with the type the schema
 * promises tried first (a validated record holds nothing else, but any value is still written
 * right).
 */
export function csvValueEncoder(schema: JsonSchema | undefined): CsvValueEncoder {
  const kind = scannedTextKind(schema);
  if (kind === TOKEN_STRING) return encodeText;
  if (kind === TOKEN_NUMBER) return encodeNumeric;
  return encodeCsvValue;
}

/**
 * For a column of this JSON Schema, the record pattern's token kind whose text its encoder
 * writes as the value would be written: `TOKEN_STRING` for a text column, `TOKEN_NUMBER` for a
 * numeric one (integer tokens included), 0 for any other.
 */
export function scannedTextKind(schema: JsonSchema | undefined): number {
  const types = schema === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  const kinds = types.filter((type) => type !== 'null');
  if (kinds.length === 1 && kinds[0] === 'string') return TOKEN_STRING;
  if (kinds.length > 0 && kinds.every((type) => type === 'number' || type === 'integer')) return TOKEN_NUMBER;
  return 0;
}
