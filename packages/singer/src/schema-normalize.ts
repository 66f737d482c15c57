import { InputError, previewValue } from './errors';
import { isLosslessNumber } from './exact-json';
import { parseDecimal } from './exact-number';
import type { Logger } from './logging';
import type { JsonSchema } from './messages';

/**
 * SCHEMA messages as taps write them, made into one shape the rest of the SDK and the targets
 * can rely on. Taps write every JSON Schema draft from 4 to 2020-12, and often none at all:
 * tap-postgres and tap-mysql describe a DECIMAL as
 * `{"type": ["null", "number"], "exclusiveMaximum": true, "maximum": 1e38, "multipleOf": 0.01}`
 * (draft-4 booleans), a BIGINT with `"maximum": 9223372036854775807` (beyond a double), and
 * array columns through recursive `$ref`s into `definitions`.
 *
 * The normalized schema keeps the tap's structure and exact numbers, with:
 * - draft-4 boolean `exclusiveMaximum`/`exclusiveMinimum` folded into the numeric (draft 6+)
 *   form, so `{"maximum": 10, "exclusiveMaximum": true}` is `{"exclusiveMaximum": 10}`;
 * - every `$ref` rewritten to a JSON pointer into the same document (anchors, `$id`-relative
 *   and `$recursiveRef`/`$dynamicRef` included), and inlined where a column's type is read:
 *   the root, each root property, and the `anyOf`/`oneOf`/`allOf` branches of a property;
 * - `$schema`, `$id` and anchors removed (the document is self-contained after the above);
 * - what cannot be checked removed with one warning per stream and keyword: a `$ref` out of
 *   the document, a regular expression JavaScript cannot compile, an `enum`/`const` holding
 *   numbers beyond a double, a keyword whose value is of the wrong kind.
 * Bounds and `multipleOf` keep their exact values (numbers or `LosslessNumber`s).
 */

/** The drafts this SDK reads; anything else is read as 2019-09 (a superset of draft 7). */
export type SchemaDraft = 'draft-04' | 'draft-06' | 'draft-07' | '2019-09' | '2020-12';

/** What the normalizer learned about a schema, kept beside the normalized object. */
export interface SchemaInfo {
  readonly stream: string;
  readonly draft: SchemaDraft;
}

/**
 * Says what a SCHEMA holds that cannot be used, once per stream and keyword, however many
 * times the same stream's schema is read (by the validator and the sink, or after a new SCHEMA).
 */
export class SchemaWarnings {
  private readonly seen = new Set<string>();

  constructor(private readonly logger: Logger | undefined) {}

  warn(stream: string, keyword: string, message: string): void {
    const key = `${stream}\u0000${keyword}`;
    if (this.seen.has(key)) return;
    this.seen.add(key);
    this.logger?.warn(`stream ${JSON.stringify(stream)}: SCHEMA keyword ${JSON.stringify(keyword)} ${message}`);
  }
}

const warningsByLogger = new WeakMap<Logger, SchemaWarnings>();
const silentWarnings = new SchemaWarnings(undefined);

/** The one `SchemaWarnings` of a logger: every schema read with it shares the once-only rule. */
export function schemaWarningsFor(logger: Logger | undefined): SchemaWarnings {
  if (!logger) return silentWarnings;
  let warnings = warningsByLogger.get(logger);
  if (!warnings) {
    warnings = new SchemaWarnings(logger);
    warningsByLogger.set(logger, warnings);
  }
  return warnings;
}

const JSON_TYPES = new Set(['null', 'boolean', 'object', 'array', 'number', 'integer', 'string']);

/** Keywords whose value is one subschema. */
const SINGLE_SUBSCHEMA = [
  'additionalItems',
  'additionalProperties',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
] as const;
/** Keywords whose value is a list of subschemas. */
const SUBSCHEMA_LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems'] as const;
/** Keywords whose value maps names to subschemas. */
const SUBSCHEMA_MAPS = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas'] as const;
/** Keywords whose value must be a non-negative number (lengths and counts). */
const COUNT_KEYWORDS = [
  'maxLength',
  'minLength',
  'maxItems',
  'minItems',
  'maxProperties',
  'minProperties',
  'maxContains',
  'minContains',
] as const;
/** Keywords that name or anchor a schema: resolved here, then dropped. */
const IDENTITY_KEYWORDS = new Set(['$schema', '$id', '$anchor', '$dynamicAnchor', '$recursiveAnchor', '$vocabulary']);
export const BOUND_KEYWORDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum'] as const;

/** Which draft a `$schema` URL names; `undefined` for none or one this SDK does not know. */
export function draftOf(uri: unknown): SchemaDraft | undefined {
  if (typeof uri !== 'string') return undefined;
  if (/draft-0?4\b/.test(uri)) return 'draft-04';
  if (/draft-0?6\b/.test(uri)) return 'draft-06';
  if (/draft-0?7\b/.test(uri)) return 'draft-07';
  if (/2019-09/.test(uri)) return '2019-09';
  if (/2020-12/.test(uri)) return '2020-12';
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !isLosslessNumber(value);
}

function isSchema(value: unknown): value is JsonSchema | boolean {
  return typeof value === 'boolean' || isPlainObject(value);
}

/** A number in a schema: a double, a bigint or a `LosslessNumber` (a number a double cannot hold). */
function isSchemaNumber(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value === 'bigint') return true;
  return isLosslessNumber(value) && parseDecimal(value.value) !== undefined;
}

function holdsExactNumber(value: unknown): boolean {
  if (typeof value === 'bigint' || isLosslessNumber(value)) return true;
  if (Array.isArray(value)) return value.some(holdsExactNumber);
  if (isPlainObject(value)) return Object.values(value).some(holdsExactNumber);
  return false;
}

function compiles(pattern: string): boolean {
  try {
    // NOTE: ajv compiles patterns with the `u` flag; a pattern that fails here fails there.
    new RegExp(pattern, 'u');
    return true;
  } catch {
    return false;
  }
}

function decodePointerSegment(segment: string): string {
  let text = segment;
  try {
    text = decodeURIComponent(segment);
  } catch {
    // A `%` that is not an escape is taken literally.
  }
  return text.replace(/~1/g, '/').replace(/~0/g, '~');
}

function encodePointerSegment(segment: string): string {
  return segment
    .replace(/~/g, '~0')
    .replace(/\//g, '~1')
    .replace(/[^A-Za-z0-9_\-.~!$&'()*+,;=:@]/g, (c) => encodeURIComponent(c));
}

/** `#/definitions/a` for a path of segments. */
function pointerOf(path: readonly string[]): string {
  return path.length === 0 ? '#' : `#/${path.map(encodePointerSegment).join('/')}`;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node: unknown = root;
  for (const segment of path) {
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(segment)) return undefined;
      node = node[Number(segment)];
    } else if (isPlainObject(node)) {
      if (!Object.prototype.hasOwnProperty.call(node, segment)) return undefined;
      node = node[segment];
    } else {
      return undefined;
    }
  }
  return node;
}

/** The base URI part of an `$id` (what precedes `#`), if it names a document. */
function documentId(id: unknown): string | undefined {
  if (typeof id !== 'string') return undefined;
  const base = id.split('#')[0] ?? '';
  return base === '' ? undefined : base;
}

interface Context {
  readonly stream: string;
  readonly draft: SchemaDraft;
  readonly root: Record<string, unknown>;
  /** Document ids of the root: a `$ref` starting with one of them points into this document. */
  readonly documentIds: Set<string>;
  /** `$anchor`, `$dynamicAnchor` and draft 6/7 `$id: "#name"` → path. */
  readonly anchors: Map<string, string[]>;
  readonly dynamicAnchors: Map<string, string[]>;
  readonly warnings: SchemaWarnings;
}

/** Visits every subschema of a raw schema with its path (for anchors). */
function eachSubschema(node: unknown, path: string[], visit: (node: Record<string, unknown>, path: string[]) => void): void {
  if (!isPlainObject(node)) return;
  visit(node, path);
  for (const keyword of SINGLE_SUBSCHEMA) eachSubschema(node[keyword], [...path, keyword], visit);
  const items = node.items;
  if (Array.isArray(items)) items.forEach((item, i) => eachSubschema(item, [...path, 'items', String(i)], visit));
  else eachSubschema(items, [...path, 'items'], visit);
  for (const keyword of SUBSCHEMA_LISTS) {
    const list = node[keyword];
    if (Array.isArray(list)) list.forEach((item, i) => eachSubschema(item, [...path, keyword, String(i)], visit));
  }
  for (const keyword of [...SUBSCHEMA_MAPS, 'dependencies']) {
    const map = node[keyword];
    if (isPlainObject(map)) for (const [name, item] of Object.entries(map)) eachSubschema(item, [...path, keyword, name], visit);
  }
}

function collectAnchors(ctx: Context): void {
  eachSubschema(ctx.root, [], (node, path) => {
    if (typeof node.$anchor === 'string') ctx.anchors.set(node.$anchor, path);
    if (typeof node.$dynamicAnchor === 'string') {
      ctx.anchors.set(node.$dynamicAnchor, path);
      ctx.dynamicAnchors.set(node.$dynamicAnchor, path);
    }
    for (const id of [node.$id, node.id]) {
      if (typeof id === 'string' && id.startsWith('#') && id.length > 1 && !id.startsWith('#/')) ctx.anchors.set(id.slice(1), path);
    }
  });
}

/** The path a `$ref` points to within the document, or `undefined` when it leaves it or is broken. */
function resolveRef(ref: string, ctx: Context): string[] | undefined {
  const hash = ref.indexOf('#');
  const base = hash < 0 ? ref : ref.slice(0, hash);
  const fragment = hash < 0 ? '' : ref.slice(hash + 1);
  if (base !== '' && !ctx.documentIds.has(base)) return undefined;
  let path: string[] | undefined;
  if (fragment === '') path = [];
  else if (fragment.startsWith('/')) path = fragment.slice(1).split('/').map(decodePointerSegment);
  else path = ctx.anchors.get(decodePointerSegment(fragment));
  if (path === undefined) return undefined;
  return isSchema(valueAt(ctx.root, path)) ? path : undefined;
}

/**
 * Whether following `$ref`s from `from` (a schema whose own `$ref` points at `target`) comes
 * back to a schema already passed without descending into any value: such a loop describes
 * nothing and would recurse forever.
 */
function refersToItself(from: string[], target: string[], ctx: Context): boolean {
  const seen = new Set([pointerOf(from)]);
  let path: string[] | undefined = target;
  while (path !== undefined) {
    const pointer = pointerOf(path);
    if (seen.has(pointer)) return true;
    seen.add(pointer);
    const node = valueAt(ctx.root, path);
    if (!isPlainObject(node)) return false;
    const next = node.$ref ?? node.$recursiveRef;
    path = typeof next === 'string' ? resolveRef(next, ctx) : undefined;
  }
  return false;
}

/** Reads a bound keyword's value; `undefined` (with a warning) when it is not a number. */
function boundValue(node: Record<string, unknown>, keyword: string, ctx: Context): unknown {
  const value = node[keyword];
  if (value === undefined) return undefined;
  if (isSchemaNumber(value)) return value;
  ctx.warnings.warn(ctx.stream, keyword, `is ${previewValue(value)}, not a number: that bound is not checked`);
  return undefined;
}

/** Folds draft-4 boolean exclusive flags into the numeric form; checks every bound is a number. */
function normalizeBounds(node: Record<string, unknown>, out: Record<string, unknown>, ctx: Context): void {
  for (const [inclusive, exclusive] of [
    ['minimum', 'exclusiveMinimum'],
    ['maximum', 'exclusiveMaximum'],
  ] as const) {
    const flag = node[exclusive];
    const limit = boundValue(node, inclusive, ctx);
    if (typeof flag === 'boolean') {
      // Draft 4: the flag says whether `minimum`/`maximum` itself is excluded.
      if (limit !== undefined) out[flag ? exclusive : inclusive] = limit;
      continue;
    }
    if (limit !== undefined) out[inclusive] = limit;
    const exclusiveLimit = boundValue(node, exclusive, ctx);
    if (exclusiveLimit !== undefined) out[exclusive] = exclusiveLimit;
  }
  const multipleOf = node.multipleOf;
  if (multipleOf !== undefined) {
    const decimal = isSchemaNumber(multipleOf) ? parseDecimal(String(isLosslessNumber(multipleOf) ? multipleOf.value : multipleOf)) : undefined;
    if (decimal && !decimal.negative && decimal.coefficient !== 0n) out.multipleOf = multipleOf;
    else ctx.warnings.warn(ctx.stream, 'multipleOf', `is ${previewValue(multipleOf)}, not a positive number: it is not checked`);
  }
}

function normalizeType(value: unknown, ctx: Context): string | string[] | undefined {
  const names = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (names === undefined || names.some((name) => typeof name !== 'string')) {
    ctx.warnings.warn(ctx.stream, 'type', `is ${previewValue(value)}, not a type name or a list of them: any value is accepted`);
    return undefined;
  }
  const unique = [...new Set(names as string[])];
  // Draft 3's "any" means what a missing `type` means.
  if (unique.includes('any')) return undefined;
  const unknown = unique.filter((name) => !JSON_TYPES.has(name));
  if (unknown.length > 0 || unique.length === 0) {
    ctx.warnings.warn(
      ctx.stream,
      'type',
      `${unique.length === 0 ? 'is an empty list' : `names ${unknown.map((n) => JSON.stringify(n)).join(', ')}, not a JSON type`}: any value is accepted there`,
    );
    return undefined;
  }
  return typeof value === 'string' ? value : unique;
}

function normalizeSubschema(value: unknown, keyword: string, path: string[], ctx: Context): JsonSchema | boolean {
  if (isSchema(value)) return typeof value === 'boolean' ? value : normalizeNode(value, path, ctx);
  ctx.warnings.warn(ctx.stream, keyword, `holds ${previewValue(value)} where a schema belongs: any value is accepted there`);
  return {};
}

function normalizeNode(node: Record<string, unknown>, path: string[], ctx: Context): JsonSchema {
  const out: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(node)) {
    if (IDENTITY_KEYWORDS.has(keyword) || BOUND_KEYWORDS.includes(keyword as never) || keyword === 'multipleOf') continue;
    if (keyword === 'id' && typeof value === 'string') continue;
    if (keyword === EXACT_NUMBER_KEYWORD) continue;
    switch (keyword) {
      case '$ref':
      case '$recursiveRef':
      case '$dynamicRef': {
        if (typeof value !== 'string') {
          ctx.warnings.warn(ctx.stream, keyword, `is ${previewValue(value)}, not a reference: it is not followed`);
          break;
        }
        let target: string[] | undefined;
        if (keyword === '$dynamicRef' && value.startsWith('#') && ctx.dynamicAnchors.has(value.slice(1))) {
          target = ctx.dynamicAnchors.get(value.slice(1));
        } else {
          target = resolveRef(value, ctx);
        }
        if (target === undefined) {
          ctx.warnings.warn(ctx.stream, keyword, `${JSON.stringify(value)} does not point into the schema itself: what it describes is not checked`);
        } else if (refersToItself(path, target, ctx)) {
          ctx.warnings.warn(ctx.stream, keyword, `${JSON.stringify(value)} leads back to itself through references alone: any value is accepted there`);
        } else {
          out.$ref = pointerOf(target);
        }
        break;
      }
      case 'type': {
        const type = normalizeType(value, ctx);
        if (type !== undefined) out.type = type;
        break;
      }
      case 'nullable':
        // OpenAPI's spelling of "or null" (taps generated from OpenAPI specs write it).
        break;
      case 'required':
        if (Array.isArray(value)) out.required = [...new Set(value.filter((name) => typeof name === 'string'))];
        else if (value !== false) ctx.warnings.warn(ctx.stream, 'required', `is ${previewValue(value)}, not a list of property names: it is not checked`);
        break;
      case 'enum':
      case 'const':
        if (holdsExactNumber(value)) {
          ctx.warnings.warn(ctx.stream, keyword, 'holds numbers beyond what a double holds exactly: it is not checked');
        } else if (keyword === 'enum' && !Array.isArray(value)) {
          ctx.warnings.warn(ctx.stream, 'enum', `is ${previewValue(value)}, not a list: it is not checked`);
        } else {
          out[keyword] = value;
        }
        break;
      case 'pattern':
        if (typeof value === 'string' && compiles(value)) out.pattern = value;
        else ctx.warnings.warn(ctx.stream, 'pattern', `${typeof value === 'string' ? JSON.stringify(value) : previewValue(value)} is not a regular expression JavaScript reads: it is not checked`);
        break;
      case 'format':
        if (typeof value === 'string') out.format = value;
        break;
      case 'items':
        if (Array.isArray(value)) {
          const list = value.map((item, i) => normalizeSubschema(item, 'items', [...path, 'items', String(i)], ctx));
          // 2020-12 spells a tuple `prefixItems` (and its rest `items`); older drafts `items`/`additionalItems`.
          if (ctx.draft === '2020-12') out.prefixItems = list;
          else out.items = list;
        } else {
          out.items = normalizeSubschema(value, 'items', [...path, 'items'], ctx);
        }
        break;
      case 'dependencies':
        if (isPlainObject(value)) {
          const map: Record<string, unknown> = {};
          for (const [name, item] of Object.entries(value)) {
            map[name] = Array.isArray(item) ? item.filter((n) => typeof n === 'string') : normalizeSubschema(item, 'dependencies', [...path, keyword, name], ctx);
          }
          out.dependencies = map;
        } else {
          ctx.warnings.warn(ctx.stream, 'dependencies', 'is not an object: it is not checked');
        }
        break;
      default:
        if ((SINGLE_SUBSCHEMA as readonly string[]).includes(keyword)) {
          out[keyword] = normalizeSubschema(value, keyword, [...path, keyword], ctx);
        } else if ((SUBSCHEMA_LISTS as readonly string[]).includes(keyword)) {
          if (Array.isArray(value) && value.length > 0) {
            out[keyword] = value.map((item, i) => normalizeSubschema(item, keyword, [...path, keyword, String(i)], ctx));
          } else {
            ctx.warnings.warn(ctx.stream, keyword, 'is not a non-empty list of schemas: it is not checked');
          }
        } else if ((SUBSCHEMA_MAPS as readonly string[]).includes(keyword)) {
          if (isPlainObject(value)) {
            const map: Record<string, unknown> = {};
            for (const [name, item] of Object.entries(value)) {
              if (keyword === 'patternProperties' && !compiles(name)) {
                ctx.warnings.warn(ctx.stream, 'patternProperties', `${JSON.stringify(name)} is not a regular expression JavaScript reads: properties it would match are not checked`);
                continue;
              }
              map[name] = normalizeSubschema(item, keyword, [...path, keyword, name], ctx);
            }
            out[keyword] = map;
          } else {
            ctx.warnings.warn(ctx.stream, keyword, 'is not an object of schemas: it is not checked');
          }
        } else if ((COUNT_KEYWORDS as readonly string[]).includes(keyword)) {
          const count = isLosslessNumber(value) ? Number(value.value) : value;
          if (typeof count === 'number' && count >= 0 && !Number.isNaN(count)) out[keyword] = count;
          else ctx.warnings.warn(ctx.stream, keyword, `is ${previewValue(value)}, not a count: it is not checked`);
        } else {
          // Annotations (`description`, `inclusion`, `sql-datatype`, ...) and keywords no draft
          // defines: kept as they are; no validator acts on them.
          out[keyword] = value;
        }
    }
  }
  normalizeBounds(node, out, ctx);
  if (node.nullable === true && out.type !== undefined) {
    const types = Array.isArray(out.type) ? (out.type as string[]) : [out.type as string];
    if (!types.includes('null')) out.type = [...types, 'null'];
  }
  return out as JsonSchema;
}

const MAX_REF_CHAIN = 32;

/**
 * The schema a node stands for once its `$ref` chain is followed within `root` (pointers only,
 * as the normalized schema has them): the referenced schema's keywords, with the node's own
 * annotations where the referenced schema says nothing. A broken or circular chain stops where
 * it breaks.
 */
export function dereference(node: JsonSchema | boolean, root: unknown): JsonSchema | boolean {
  let current: JsonSchema | boolean = node;
  const seen = new Set<string>();
  for (let i = 0; i < MAX_REF_CHAIN; i += 1) {
    if (typeof current === 'boolean' || typeof current.$ref !== 'string') return current;
    const ref: string = current.$ref;
    if (seen.has(ref) || !ref.startsWith('#')) return current;
    seen.add(ref);
    const fragment = ref.slice(1);
    const path = fragment === '' ? [] : fragment.startsWith('/') ? fragment.slice(1).split('/').map(decodePointerSegment) : undefined;
    const target = path === undefined ? undefined : valueAt(root, path);
    if (!isSchema(target)) return current;
    const siblings: JsonSchema = { ...current };
    delete siblings.$ref;
    if (typeof target === 'boolean') return Object.keys(siblings).length === 0 ? target : target ? (siblings as JsonSchema) : false;
    current = { ...siblings, ...target };
  }
  return current;
}

/** Inlines `$ref`s where a column's type is read: a property and its union branches. */
function inlineForTypes(node: JsonSchema | boolean, root: unknown): JsonSchema | boolean {
  const resolved = dereference(node, root);
  if (typeof resolved === 'boolean') return resolved;
  const out: JsonSchema = { ...resolved };
  for (const keyword of ['anyOf', 'oneOf', 'allOf'] as const) {
    const list = resolved[keyword];
    if (Array.isArray(list)) out[keyword] = (list as (JsonSchema | boolean)[]).map((branch) => dereference(branch, root)) as JsonSchema[];
  }
  return out;
}

const infoOf = new WeakMap<object, SchemaInfo>();

/** What the normalizer learned about a schema it returned; `undefined` for any other object. */
export function schemaInfo(schema: JsonSchema): SchemaInfo | undefined {
  return infoOf.get(schema);
}

/** The keyword the record validator checks exact bounds and `multipleOf` with (never in a tap's schema). */
export const EXACT_NUMBER_KEYWORD = 'x-singer-exact-number';

/**
 * Normalizes a stream's schema as received (see above). Never changes its argument, never
 * throws anything but an `InputError` (code `SCHEMA_INVALID`, naming the stream), and warns
 * about what it had to leave out once per stream and keyword through `logger`. A schema this
 * function returned is returned as it is.
 */
export function normalizeSchema(stream: string, schema: JsonSchema, logger?: Logger): JsonSchema {
  if (infoOf.has(schema)) return schema;
  if (!isPlainObject(schema)) {
    throw new InputError('SCHEMA "schema" must be a JSON object', { stream, code: 'SCHEMA_INVALID' });
  }
  const warnings = schemaWarningsFor(logger);
  const declared = schema.$schema;
  let draft = draftOf(declared);
  if (declared !== undefined && draft === undefined) {
    warnings.warn(stream, '$schema', `names ${previewValue(declared)}, not a draft this target knows (4, 6, 7, 2019-09, 2020-12): read as 2019-09`);
  }
  draft ??= '2019-09';
  const ctx: Context = {
    stream,
    draft,
    root: schema,
    documentIds: new Set([documentId(schema.$id), documentId(schema.id)].filter((id): id is string => id !== undefined)),
    anchors: new Map(),
    dynamicAnchors: new Map(),
    warnings,
  };
  try {
    collectAnchors(ctx);
    let root = normalizeNode(schema, [], ctx);
    if (typeof root.$ref === 'string') {
      const resolved = dereference(root, root);
      root = typeof resolved === 'boolean' ? root : { ...resolved, ...pick(root, ['definitions', '$defs']) };
    }
    if (isPlainObject(root.properties)) {
      const properties: Record<string, JsonSchema> = {};
      for (const [name, property] of Object.entries(root.properties)) {
        properties[name] = inlineForTypes(property as JsonSchema | boolean, root) as JsonSchema;
      }
      root = { ...root, properties };
    }
    infoOf.set(root, { stream, draft });
    return root;
  } catch (cause) {
    if (cause instanceof InputError) throw cause;
    throw new InputError(`SCHEMA cannot be read: ${cause instanceof Error ? cause.message : String(cause)}`, {
      stream,
      code: 'SCHEMA_INVALID',
      cause,
    });
  }
}

function pick(node: JsonSchema, keys: string[]): JsonSchema {
  const out: JsonSchema = {};
  for (const key of keys) if (node[key] !== undefined) out[key] = node[key];
  return out;
}
