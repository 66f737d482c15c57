import { compareExact, dereference, isLosslessNumber, type JsonSchema, LosslessNumber } from '@singer-ts/singer';

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
    // NOTE: the Meltano SDK's convention for decimals that must not pass through a double
    // (`singer.decimal` in older SDKs, `x-singer.decimal` since `use_singer_decimal`).
    case 'singer.decimal':
    case 'x-singer.decimal':
      return 'numeric';
    default:
      return 'text';
  }
}

const TWO_TO_63 = new LosslessNumber('9223372036854775808');
const BELOW_BIGINT = new LosslessNumber('-9223372036854775809');

function isBound(value: unknown): boolean {
  return (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint' || isLosslessNumber(value);
}

/**
 * Whether every integer a schema's bounds allow fits `bigint`. A schema without bounds says
 * nothing, so it gets `bigint` (a value beyond it widens the column when it comes); one whose
 * bounds reach beyond (MySQL's `BIGINT UNSIGNED` up to 2^64-1, `maximum: 1e38`) gets `numeric`
 * up front. Both the draft-4 (boolean) and later (numeric) exclusive forms are read.
 */
function boundsFitBigint(schema: JsonSchema): boolean {
  const { minimum, maximum, exclusiveMinimum, exclusiveMaximum } = schema;
  const cmp = (a: unknown, b: unknown): number => compareExact(a, b) ?? 0;
  // The largest integer below an inclusive bound m is floor(m): it fits while m < 2^63; below
  // an exclusive bound e it is ceil(e) - 1: it fits while e <= 2^63. The same, mirrored, below.
  if (isBound(maximum)) {
    if (exclusiveMaximum === true ? cmp(maximum, TWO_TO_63) > 0 : cmp(maximum, TWO_TO_63) >= 0) return false;
  }
  if (isBound(exclusiveMaximum) && cmp(exclusiveMaximum, TWO_TO_63) > 0) return false;
  if (isBound(minimum)) {
    if (exclusiveMinimum === true ? cmp(minimum, BELOW_BIGINT) < 0 : cmp(minimum, BELOW_BIGINT) <= 0) return false;
  }
  if (isBound(exclusiveMinimum) && cmp(exclusiveMinimum, BELOW_BIGINT) < 0) return false;
  return true;
}

function kindOf(type: string, schema: JsonSchema): Kind {
  switch (type) {
    case 'null':
      return 'null';
    case 'boolean':
      return 'boolean';
    case 'integer':
      return boundsFitBigint(schema) ? 'bigint' : 'numeric';
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

/** The kind of a JSON value listed in `enum` or `const` (a schema that gives no `type`). */
function kindOfValue(value: unknown): Kind {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return 'boolean';
  if (typeof value === 'string') return 'text';
  if (typeof value === 'bigint') return 'bigint';
  if (typeof value === 'number') return Number.isInteger(value) ? 'bigint' : 'numeric';
  if (isLosslessNumber(value)) return /^-?\d+$/.test(value.value) ? 'bigint' : 'numeric';
  return 'jsonb';
}

type Schema = JsonSchema | boolean;

/** The intersection of two kind sets (`allOf`): what both admit; `integer` is a `number`. */
function intersect(a: Set<Kind>, b: Set<Kind>): Set<Kind> {
  if (a.has('any')) return b;
  if (b.has('any')) return a;
  const out = new Set<Kind>();
  for (const kind of a) {
    if (b.has(kind)) out.add(kind);
    else if (kind === 'bigint' && b.has('numeric')) out.add('bigint');
    else if (kind === 'numeric' && b.has('bigint')) out.add('bigint');
  }
  return out;
}

/**
 * Every kind a schema admits, following `type` lists, `anyOf`/`oneOf` (union) and `allOf`
 * (intersection) branches, `enum`/`const` values, and `$ref`s into `root`.
 */
function kindsOf(node: Schema, root: unknown, depth = 0): Set<Kind> {
  const schema = dereference(node, root);
  if (schema === true) return new Set(['any']);
  if (schema === false) return new Set(['null']);
  if (depth > 16) return new Set(['any']);
  const kinds = new Set<Kind>();
  const types = Array.isArray(schema.type) ? schema.type : typeof schema.type === 'string' ? [schema.type] : [];
  for (const type of types) kinds.add(kindOf(type, schema));
  const unions = [schema.anyOf, schema.oneOf].filter(Array.isArray) as Schema[][];
  for (const list of unions) for (const branch of list) for (const kind of kindsOf(branch, root, depth + 1)) kinds.add(kind);
  if (types.length === 0 && unions.length === 0) {
    if (Array.isArray(schema.enum)) for (const value of schema.enum as unknown[]) kinds.add(kindOfValue(value));
    else if ('const' in schema) kinds.add(kindOfValue(schema.const));
    // No `type` and no branches: any JSON value (`{}`); `properties`/`items` alone imply a container.
    else kinds.add(schema.properties || schema.items ? 'jsonb' : 'any');
  }
  let result = kinds;
  if (Array.isArray(schema.allOf)) {
    for (const branch of schema.allOf as Schema[]) result = intersect(result, kindsOf(branch, root, depth + 1));
  }
  return result;
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

/**
 * The column type for a property's JSON Schema, per the contract's mapping. `root` is the
 * stream's whole schema, for a `$ref` into its `definitions`/`$defs` (a schema from
 * `normalizeSchema` has its columns' references already resolved). Type-less or empty schemas
 * (`{}`) are `jsonb`; a column that is only ever `null` (`{"type": "null"}`) is `text`, which
 * holds whatever the column later turns out to carry; integers whose bounds reach beyond
 * `bigint` are `numeric`.
 */
export function pgTypeFor(schema: JsonSchema | boolean, root?: JsonSchema): PgType {
  const kinds = kindsOf(schema, root ?? schema);
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
