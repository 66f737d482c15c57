import { createHash } from 'node:crypto';

import { InputError } from '@singer-ts/singer';

/** PostgreSQL's NAMEDATALEN - 1: longer identifiers are silently truncated by the server. */
export const MAX_IDENTIFIER_BYTES = 63;

/** `_` plus 8 hex digits of the full name's hash. */
const HASH_SUFFIX_BYTES = 9;

/**
 * Quotes an identifier for SQL: wraps it in double quotes and doubles any double quote inside,
 * as `pg`'s `escapeIdentifier` does, so no stream or property name can inject SQL.
 */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** `"schema"."table"`. */
export function qualifiedName(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** The longest prefix of `text` that fits `maxBytes` of UTF-8 without splitting a character. */
function utf8Prefix(text: string, maxBytes: number): string {
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += char.length;
  }
  return text.slice(0, end);
}

/**
 * The name PostgreSQL will store for `name`: the name itself when it fits 63 bytes, else a
 * prefix plus `_` and 8 hex digits of the SHA-1 of the whole name, so two long names that
 * share a prefix still map to different identifiers. Case is kept verbatim.
 */
export function safeIdentifier(name: string, what = 'name'): string {
  if (name === '') throw new InputError(`an empty ${what} cannot be a PostgreSQL identifier`, { code: 'PG_BAD_IDENTIFIER' });
  if (name.includes('\u0000')) {
    throw new InputError(`${what} ${JSON.stringify(name)} holds a NUL character, which PostgreSQL identifiers cannot`, {
      code: 'PG_BAD_IDENTIFIER',
    });
  }
  if (Buffer.byteLength(name, 'utf8') <= MAX_IDENTIFIER_BYTES) return name;
  const hash = createHash('sha1').update(name, 'utf8').digest('hex').slice(0, 8);
  return `${utf8Prefix(name, MAX_IDENTIFIER_BYTES - HASH_SUFFIX_BYTES)}_${hash}`;
}

/**
 * Maps property names to column names for one table, checking that no two properties end up
 * in the same column (a shortened name colliding with a property literally named like it).
 */
export function columnNames(properties: Iterable<string>, table: string): Map<string, string> {
  const byProperty = new Map<string, string>();
  const owner = new Map<string, string>();
  for (const property of properties) {
    const column = safeIdentifier(property, `property of stream ${JSON.stringify(table)}`);
    const other = owner.get(column);
    if (other !== undefined && other !== property) {
      throw new InputError(
        `properties ${JSON.stringify(other)} and ${JSON.stringify(property)} both map to column ${JSON.stringify(column)}`,
        { code: 'PG_BAD_IDENTIFIER', stream: table, hint: 'Rename one of them in the tap or with a stream map' },
      );
    }
    owner.set(column, property);
    byProperty.set(property, column);
  }
  return byProperty;
}
