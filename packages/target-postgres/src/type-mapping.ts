import type { JsonSchema } from '@singer-ts/singer';

/**
 * The column types this target creates. Each JSON Schema type maps to exactly one; a union of
 * several takes the narrowest one that holds every member without loss.
 */
export type PgType = 'boolean' | 'bigint' | 'numeric' | 'timestamptz' | 'date' | 'time' | 'text' | 'jsonb';

/** The SQL spelling used in DDL. */
export const SQL_TYPE: Readonly<Record<PgType, string>> = {
  boolean: 'boolean',
  bigint: 'bigint',
  numeric: 'numeric',
  timestamptz: 'timestamp with time zone',
  date: 'date',
  time: 'time without time zone',
  text: 'text',
  jsonb: 'jsonb',
};

/** One member of a schema's type union, before it is mapped to a column type. */
type Kind = 'null' | 'any' | PgType;

function kindsOfString(schema: JsonSchema): PgType {
  switch (schema.format) {
    case 'date-time':
      return 'timestamptz';
    case 'date':
      return 'date';
    case 'time':
      return 'time';
    // NOTE: the Meltano SDK's convention for decimals that must not pass through a double.
    case 'singer.decimal':
      return 'numeric';
    default:
      return 'text';
  }
}

function kindOf(type: string, schema: JsonSchema): Kind {
  switch (type) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'boolean';
    case 'integer':
      return 'bigint';
    case 'number':
      return 'numeric';
    case 'string':
      return kindsOfString(schema);
    case 'object':
    case 'array':
      return 'jsonb';
    default:
      return 'any';
  }
}

/** Every kind a schema admits, following `type` lists and `anyOf`/`oneOf` branches. */
function collectKinds(schema: JsonSchema, into: Set<Kind>): void {
  const branches = [schema.anyOf, schema.oneOf].filter(Array.isArray) as JsonSchema[][];
  const types = Array.isArray(schema.type) ? schema.type : typeof schema.type === 'string' ? [schema.type] : [];
  for (const type of types) into.add(kindOf(type, schema));
  for (const list of branches) for (const branch of list) collectKinds(branch, into);
  // No `type` and no branches: any JSON value (`{}`); `properties`/`items` alone imply a container.
  if (types.length === 0 && branches.length === 0) {
    into.add(schema.properties || schema.items ? 'jsonb' : 'any');
  }
}

/**
 * The join of two column types in the widening lattice: the narrowest type that holds every
 * value of both. `bigint` widens to `numeric`; any two other different scalars meet in `text`;
 * `jsonb` holds everything (scalars become JSON scalars), so it is the top.
 */
export function widenType(a: PgType, b: PgType): PgType {
  if (a === b) return a;
  if (a === 'jsonb' || b === 'jsonb') return 'jsonb';
  if ((a === 'bigint' && b === 'numeric') || (a === 'numeric' && b === 'bigint')) return 'numeric';
  return 'text';
}

/** The column type for a property's JSON Schema, per the contract's mapping. */
export function pgTypeFor(schema: JsonSchema): PgType {
  const kinds = new Set<Kind>();
  collectKinds(schema, kinds);
  kinds.delete('null');
  if (kinds.has('any')) return 'jsonb';
  let result: PgType | undefined;
  for (const kind of kinds as Set<PgType>) result = result === undefined ? kind : widenType(result, kind);
  // Only `null` (a column that is always empty): text takes whatever comes later.
  return result ?? 'text';
}

/**
 * Maps a type as `format_type()` reports it for an existing column to the lattice, or
 * `undefined` for a type this target did not create (`varchar(20)`, `double precision`,
 * `timestamp without time zone`, ...), which is left exactly as the user made it.
 */
export function latticeTypeOf(formatted: string): PgType | undefined {
  const base = formatted.replace(/\(.*\)$/, '').trim();
  switch (base) {
    case 'boolean':
      return 'boolean';
    case 'bigint':
      return 'bigint';
    case 'numeric':
      return formatted === 'numeric' ? 'numeric' : undefined;
    case 'timestamp with time zone':
      return 'timestamptz';
    case 'date':
      return 'date';
    case 'time without time zone':
      return 'time';
    case 'text':
      return 'text';
    case 'jsonb':
      return 'jsonb';
    default:
      return undefined;
  }
}

/**
 * The `USING` expression that converts a column's values to a wider type without loss. The
 * session runs with `TimeZone=UTC` and `DateStyle=ISO`, so timestamps render as
 * `2017-10-02 10:56:33+00`.
 */
export function widenUsing(quotedColumn: string, to: PgType): string {
  switch (to) {
    case 'numeric':
      return `${quotedColumn}::numeric`;
    case 'text':
      return `${quotedColumn}::text`;
    case 'jsonb':
      return `to_jsonb(${quotedColumn})`;
    default:
      return `${quotedColumn}::${SQL_TYPE[to]}`;
  }
}
