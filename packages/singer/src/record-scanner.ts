/**
 * The fast path for RECORD lines: a regular expression compiled per SCHEMA that matches a
 * record message as taps write it (compact, or with a space after `:` and `,`; the record's
 * properties in SCHEMA order, all present, every value flat) and captures each value's text.
 * A sink that writes text (COPY rows) uses those texts as they are, and the record never
 * becomes a JS object: no `JSON.parse`, no validator walk, no object to collect.
 *
 * The pattern matches a line only when the generic path (`JSON.parse`, dropping unknown
 * properties, the ajv validator) would surely take the record the same way:
 * - each value is of the one JSON type its schema allows (or null where it allows null);
 * - strings are valid JSON with surrogates only in pairs; one with escapes is decoded as
 *   `JSON.parse` decodes it, and the sink is told so (its text is not its value);
 * - numbers are ones a double holds exactly by the generic path's own test (exact-json.ts):
 *   fewer than 16 digits and points, an exponent of at most two digits;
 * - what a pattern cannot say (`format`, lengths, bounds, `multipleOf`) is checked on the
 *   captured text, with the validator's own functions, after the match.
 * Any other line, or a value that fails a check, takes the generic path, which gives the exact
 * error or warning. So the fast path never decides anything the generic path would decide
 * differently; it only skips the work.
 */
import { SURE_DIGITS, SURE_EXPONENT_DIGITS } from './exact-json';
import type { JsonSchema } from './messages';
import { EXACT_NUMBER_KEYWORD } from './schema-normalize';
import { compileNumberCheck, type NumberLimits, RECORD_FORMATS } from './validate';

/** What a scanned property's text is. A string: the text is its value. */
export const TOKEN_STRING = 2;
/** An integer literal (`-12`) a double holds exactly. */
export const TOKEN_INTEGER = 4;
/** Any number (`1.5`, `2e3`, `7`) a double holds exactly. */
export const TOKEN_NUMBER = 5;
/** `true` or `false`. */
export const TOKEN_TRUE = 6;

/**
 * Whether a number text the pattern took (at most 15 digits) is already what `String` writes
 * for its double, so a sink writing the value as `String` does may copy the text: no exponent,
 * no trailing zero after the point, not `-0`, and not below 10^-6, where `String` switches to
 * exponent notation. Fifteen significant digits always come back from a double as they went in
 * (DBL_DIG), so such a text is the double's shortest spelling.
 */
export function isShortestNumberText(text: string): boolean {
  if (text.indexOf('e') !== -1 || text.indexOf('E') !== -1 || text === '-0') return false;
  const point = text.indexOf('.');
  if (point === -1) return true;
  if (text.charCodeAt(text.length - 1) === 48) return false;
  return !text.startsWith('0.000000', text.charCodeAt(0) === 45 ? 1 : 0);
}

/**
 * Keywords the record validator (ajv) acts on. A property schema using one not handled here
 * gets no pattern: its stream takes the generic path. Any other keyword is an annotation
 * (`description`, `inclusion`, `x-sql-datatype`, …), which ajv ignores too. A test checks that
 * every keyword ajv has code for is here, so one a later ajv adds cannot slip past.
 */
export const VALIDATION_KEYWORDS: ReadonlySet<string> = new Set([
  '$dynamicAnchor', '$recursiveAnchor', 'id', 'nullable', // the normalizer takes these out
  '$ref', '$dynamicRef', '$recursiveRef', 'additionalItems', 'additionalProperties', 'allOf', 'anyOf', 'const',
  'contains', 'dependencies', 'dependentRequired', 'dependentSchemas', 'discriminator', 'else', 'enum',
  'exclusiveMaximum', 'exclusiveMinimum', 'format', 'if', 'items', 'maxContains', 'maximum', 'maxItems',
  'maxLength', 'maxProperties', 'minContains', 'minimum', 'minItems', 'minLength', 'minProperties', 'multipleOf',
  'not', 'oneOf', 'pattern', 'patternProperties', 'prefixItems', 'properties', 'propertyNames', 'required', 'then',
  'type', 'unevaluatedItems', 'unevaluatedProperties', 'uniqueItems', EXACT_NUMBER_KEYWORD,
]);

const HANDLED = new Set(['type', 'format', 'maxLength', 'minLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf']);

/** JSON whitespace a line may have between tokens (a line has no line feed). */
const WS = '[ \\t\\r]*';
/** Characters a string holds as they are: no quote, backslash, control character or surrogate. */
const PLAIN = '[^"\\\\\\u0000-\\u001f\\ud800-\\udfff]';
/**
 * A string's text between its quotes, valid JSON: plain characters, escapes (Python's json
 * writes every non-ASCII character as one), and surrogates only in pairs (an emoji). Written as
 * an unrolled loop, which a backtracking engine runs without trying alternatives per character.
 */
const STRING_TEXT = `${PLAIN}*(?:(?:\\\\(?:["\\\\/bfnrt]|u[0-9a-fA-F]{4})|[\\ud800-\\udbff][\\udc00-\\udfff])${PLAIN}*)*`;
/** The text of a `time_extracted`: plain characters only (else the generic path reads it). */
const PLAIN_TEXT = `${PLAIN}*`;
/** At most `SURE_DIGITS` digits: exact as a double, and within bigint. */
const INTEGER = `-?(?:0|[1-9]\\d{0,${SURE_DIGITS - 1}})`;
/** A JSON number a double holds exactly by exact-json's own rule (`SURE_DIGITS`, `SURE_EXPONENT_DIGITS`). */
const NUMBER = `(?=-?[\\d.]{1,${SURE_DIGITS}}(?![\\d.]))-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][+-]?\\d{1,${SURE_EXPONENT_DIGITS}})?`;

const SURROGATE = /[\ud800-\udfff]/;

/** Checks a captured value's text: true only when the validator surely accepts the value. */
type TextCheck = (text: string) => boolean;

interface PropertyPattern {
  /** The value's part of the pattern, with one capture group. */
  readonly source: string;
  /** The kind of a captured value (a null value captures nothing). */
  readonly kind: number;
  readonly check: TextCheck | undefined;
}

/** A property schema as a pattern; `undefined` when it needs the generic path. */
function propertyPattern(node: unknown): PropertyPattern | undefined {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
  let schema = node as JsonSchema;
  let nullable = false;
  // A nullable union as normalizeSchema leaves it: `anyOf: [{…}, {type: "null"}]`.
  if (Array.isArray(schema.anyOf) && Object.keys(schema).every((k) => k === 'anyOf' || !VALIDATION_KEYWORDS.has(k))) {
    const branches = schema.anyOf as unknown[];
    const isNull = (b: unknown): boolean => typeof b === 'object' && b !== null && (b as JsonSchema).type === 'null' && Object.keys(b).every((k) => k === 'type' || !VALIDATION_KEYWORDS.has(k));
    const others = branches.filter((b) => !isNull(b));
    if (others.length !== 1 || typeof others[0] !== 'object' || others[0] === null) return undefined;
    nullable = others.length < branches.length;
    schema = others[0] as JsonSchema;
  }
  for (const keyword of Object.keys(schema)) {
    if (VALIDATION_KEYWORDS.has(keyword) && !HANDLED.has(keyword)) return undefined;
  }
  const types = Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.includes('null')) nullable = true;
  const valueTypes = types.filter((type) => type !== 'null');
  if (valueTypes.length !== 1) return undefined;
  const checks: TextCheck[] = [];
  let source: string;
  let kind: number;
  switch (valueTypes[0]) {
    case 'string': {
      source = `"(${STRING_TEXT})"`;
      kind = TOKEN_STRING;
      const format = typeof schema.format === 'string' && Object.hasOwn(RECORD_FORMATS, schema.format) ? RECORD_FORMATS[schema.format] : undefined;
      if (format) checks.push(format);
      const { minLength, maxLength } = schema;
      if (minLength !== undefined || maxLength !== undefined) {
        if (![minLength, maxLength].every((n) => n === undefined || (typeof n === 'number' && Number.isInteger(n)))) return undefined;
        const min = (minLength as number | undefined) ?? 0;
        const max = (maxLength as number | undefined) ?? Infinity;
        checks.push((text) => {
          // Code points, as JSON Schema counts: an emoji's surrogate pair is one.
          const length = SURROGATE.test(text) ? [...text].length : text.length;
          return length >= min && length <= max;
        });
      }
      break;
    }
    case 'integer':
      source = `(${INTEGER})`;
      kind = TOKEN_INTEGER;
      break;
    case 'number':
      source = `(${NUMBER})`;
      kind = TOKEN_NUMBER;
      break;
    case 'boolean':
      source = '(true|false)';
      kind = TOKEN_TRUE;
      break;
    default:
      return undefined;
  }
  if (kind === TOKEN_INTEGER || kind === TOKEN_NUMBER) {
    const limits: NumberLimits = {};
    let hasLimits = false;
    for (const keyword of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'] as const) {
      if (schema[keyword] === undefined) continue;
      // Draft-4 boolean exclusives are rewritten by normalizeSchema; a bound is a number here.
      if (typeof schema[keyword] !== 'number') return undefined;
      limits[keyword] = schema[keyword];
      hasLimits = true;
    }
    if (hasLimits) {
      const check = compileNumberCheck(limits);
      checks.push((text) => check(Number(text)) === undefined);
    }
  }
  if (nullable) source = `(?:${source}|null)`;
  const check: TextCheck | undefined =
    checks.length === 0 ? undefined : checks.length === 1 ? checks[0] : (text) => checks.every((c) => c(text));
  return { source, kind, check };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/**
 * One RECORD's values as the pattern captured them: the text of property `i` (in SCHEMA
 * order) is `captures[i + 1]`, `undefined` for null; `kinds[i]` says what a captured text is
 * (`TOKEN_TRUE` for either boolean). Reused for every record of the stream: read it before the
 * next line is matched.
 */
export class ScannedRecord {
  captures: RegExpExecArray | readonly (string | undefined)[] = [];
  /** 1 for a string property whose text holds escapes: its value is `decoded[i]`, not its text. */
  readonly escaped: Uint8Array;
  readonly decoded: (string | undefined)[];
  /** Whether any property of this record is escaped. */
  hasEscapes = false;

  constructor(
    readonly properties: readonly string[],
    readonly kinds: Uint8Array,
  ) {
    this.escaped = new Uint8Array(properties.length);
    this.decoded = new Array<string | undefined>(properties.length).fill(undefined);
  }

  /** The RECORD's `version`. */
  get version(): number | undefined {
    const text = this.captures[this.properties.length + 1];
    return text === undefined ? undefined : Number(text);
  }

  /** The RECORD's `time_extracted`. */
  get timeExtracted(): string | undefined {
    return this.captures[this.properties.length + 2];
  }

  /** The value of property `index` as the generic path would have it. */
  value(index: number): unknown {
    const text = this.captures[index + 1];
    if (text === undefined) return null;
    switch (this.kinds[index]) {
      case TOKEN_STRING:
        return this.escaped[index] === 1 ? this.decoded[index] : text;
      case TOKEN_TRUE:
        return text === 'true';
      default:
        return Number(text);
    }
  }

  /** The record as an object, equal to what `JSON.parse` of its text gives. */
  toObject(): Record<string, unknown> {
    const record: Record<string, unknown> = {};
    for (let i = 0; i < this.properties.length; i += 1) {
      const name = this.properties[i] as string;
      // An own property, as JSON.parse makes it, even for `__proto__`.
      if (name === '__proto__') Object.defineProperty(record, name, { value: this.value(i), enumerable: true, writable: true, configurable: true });
      else record[name] = this.value(i);
    }
    return record;
  }
}

/** See the module comment. */
export class RecordPattern {
  readonly record: ScannedRecord;
  readonly #pattern: RegExp;
  /** The properties with a check after the match, and their checks. */
  readonly #checked: readonly number[];
  /** The string properties. */
  readonly #strings: readonly number[];
  readonly #checks: readonly (TextCheck | undefined)[];

  private constructor(stream: string, names: string[], parts: PropertyPattern[]) {
    const key = (name: string): string => `${escapeRegExp(JSON.stringify(name))}${WS}:${WS}`;
    const properties = names.map((name, i) => `${key(name)}${(parts[i] as PropertyPattern).source}`).join(`${WS},${WS}`);
    this.#pattern = new RegExp(
      `^\\{${WS}${key('type')}"RECORD"${WS},${WS}${key('stream')}${escapeRegExp(JSON.stringify(stream))}${WS},${WS}${key('record')}\\{${WS}${properties}${WS}\\}` +
        `(?:${WS},${WS}${key('version')}(${INTEGER}))?(?:${WS},${WS}${key('time_extracted')}"(${PLAIN_TEXT})")?${WS}\\}${WS}$`,
    );
    this.#checks = parts.map((part) => part.check);
    this.#checked = parts.flatMap((part, i) => (part.check === undefined ? [] : [i]));
    this.#strings = parts.flatMap((part, i) => (part.kind === TOKEN_STRING ? [i] : []));
    this.record = new ScannedRecord(
      names,
      Uint8Array.from(parts, (part) => part.kind),
    );
  }

  /**
   * The pattern of a stream's normalized SCHEMA, or `undefined` when some part of it needs the
   * generic path (a nested or union type, `enum`, `pattern`, a root-level keyword, …).
   */
  static compile(stream: string, schema: JsonSchema): RecordPattern | undefined {
    const properties = schema.properties;
    if (typeof properties !== 'object' || properties === null) return undefined;
    for (const keyword of Object.keys(schema)) {
      if (['type', 'properties', 'required', 'additionalProperties', 'unevaluatedProperties'].includes(keyword)) continue;
      if (VALIDATION_KEYWORDS.has(keyword)) return undefined;
    }
    const names = Object.keys(properties);
    if (names.length === 0) return undefined;
    const parts: PropertyPattern[] = [];
    for (const name of names) {
      const part = propertyPattern(properties[name]);
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return new RecordPattern(stream, names, parts);
  }

  /** Matches `line` into `record`; false when the line must take the generic path. */
  match(line: string): boolean {
    const found = this.#pattern.exec(line);
    if (found === null) return false;
    const record = this.record;
    if (record.hasEscapes) {
      record.escaped.fill(0);
      record.hasEscapes = false;
    }
    // A line without a backslash has no escapes: its strings' texts are their values.
    if (line.indexOf('\\') !== -1) this.#decode(found);
    const checked = this.#checked;
    for (let k = 0; k < checked.length; k += 1) {
      const index = checked[k] as number;
      const text = record.escaped[index] === 1 ? record.decoded[index] : found[index + 1];
      if (text !== undefined && !(this.#checks[index] as TextCheck)(text)) return false;
    }
    record.captures = found;
    return true;
  }

  /** Decodes the strings that hold escapes, as `JSON.parse` does. */
  #decode(found: RegExpExecArray): void {
    const record = this.record;
    for (const index of this.#strings) {
      const text = found[index + 1];
      if (text === undefined || text.indexOf('\\') === -1) continue;
      record.decoded[index] = JSON.parse(`"${text}"`) as string;
      record.escaped[index] = 1;
      record.hasEscapes = true;
    }
  }
}

/** `"stream":"name"` at the start of a RECORD line. */
const STREAM_NAME = /^\{[ \t\r]*"type"[ \t\r]*:[ \t\r]*"RECORD"[ \t\r]*,[ \t\r]*"stream"[ \t\r]*:[ \t\r]*"([^"\\]*)"/;

/**
 * Finds the pattern for each RECORD line (the last stream's first: streams mostly come in
 * runs) and matches it. `read` returns the stream's pattern, its `record` filled, or
 * `undefined` for a line that takes the generic path.
 */
export class RecordLineReader {
  readonly #patternFor: (stream: string) => RecordPattern | undefined;
  #last: RecordPattern | undefined;
  #lastStream = '';

  constructor(patternFor: (stream: string) => RecordPattern | undefined) {
    this.#patternFor = patternFor;
  }

  /** The stream whose pattern matched the last line `read` took. */
  get stream(): string {
    return this.#lastStream;
  }

  read(line: string): RecordPattern | undefined {
    let last = this.#last;
    // A SCHEMA since may have replaced the stream's pattern.
    if (last !== undefined && this.#patternFor(this.#lastStream) !== last) last = this.#last = undefined;
    if (last !== undefined && last.match(line)) return last;
    const stream = STREAM_NAME.exec(line)?.[1];
    const pattern = stream === undefined ? undefined : this.#patternFor(stream);
    if (pattern === undefined || pattern === last || !pattern.match(line)) return undefined;
    this.#last = pattern;
    this.#lastStream = stream as string;
    return pattern;
  }
}
