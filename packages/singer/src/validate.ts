import Ajv, { _, type Code, type ErrorObject, type KeywordCxt, type ValidateFunction } from 'ajv';
import Ajv2019 from 'ajv/dist/2019';
import Ajv2020 from 'ajv/dist/2020';

import { isDate, isDateTime, isTime } from './datetime';
import { InputError, RecordError } from './errors';
import { containsExactNumber, isLosslessNumber } from './exact-json';
import { compareDecimals, type Decimal, exactNumberText, isMultipleOfDecimal, parseDecimal } from './exact-number';
import type { Logger } from './logging';
import type { JsonSchema } from './messages';
import {
  BOUND_KEYWORDS,
  EXACT_NUMBER_KEYWORD,
  normalizeSchema,
  type SchemaDraft,
  schemaInfo,
  schemaWarningsFor,
} from './schema-normalize';

/**
 * While a record holding exact numbers (`LosslessNumber`, bigint) is checked, doubles stand in
 * for them in place (with the right type and integer-ness, which is all ajv's own keywords look
 * at). `swapped` lists each replaced value as container, key, original, so the exact-number
 * keyword reads the real value; the record is restored before `validate` returns. A record
 * holds few such values, so a flat list beats a map.
 */
const shadow: { swapped: unknown[] | undefined } = { swapped: undefined };

/** A bound of a number keyword: its exact decimal, and the double when the schema gave one. */
interface Bound {
  readonly text: string;
  readonly decimal: Decimal;
  /** Set when the schema's value is a JavaScript number: then a number value compares as a double, exactly. */
  readonly double: number | undefined;
  /**
   * For a bound a double cannot hold (`9223372036854775807`): a double just below it and one
   * just above. A double value below the first is surely below the bound, above the second
   * surely above, so only values in between need decimal arithmetic.
   */
  readonly below: number;
  readonly above: number;
}

const bits = new Float64Array(1);
const ints = new BigInt64Array(bits.buffer);

/** The next double towards -Infinity (`up: false`) or +Infinity (`up: true`). */
function nextDouble(x: number, up: boolean): number {
  if (Number.isNaN(x) || x === (up ? Infinity : -Infinity)) return x;
  if (x === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE;
  bits[0] = x;
  ints[0] = (ints[0] as bigint) + ((x > 0) === up ? 1n : -1n);
  return bits[0] as number;
}

interface Divisor {
  readonly text: string;
  readonly decimal: Decimal;
  /** The divisor as a safe integer, when it is one (`1`, `100`). */
  readonly integer: number | undefined;
  /** `n` when the divisor is `10^-n` (`0.01`, `1e-38`): a multiple has at most `n` decimals. */
  readonly places: number | undefined;
  /** `10^n` for such a divisor when a double holds it exactly (`n <= 22`). */
  readonly scale: number | undefined;
}

export interface NumberLimits {
  minimum?: unknown;
  maximum?: unknown;
  exclusiveMinimum?: unknown;
  exclusiveMaximum?: unknown;
  multipleOf?: unknown;
}

function toBound(value: unknown): Bound | undefined {
  const text = exactNumberText(value);
  const decimal = text === undefined ? undefined : parseDecimal(text);
  if (text === undefined || decimal === undefined) return undefined;
  // The nearest double is within half a step of the bound, so one step further is past it.
  const nearest = Number(text);
  return {
    text,
    decimal,
    double: typeof value === 'number' ? value : undefined,
    below: Number.isFinite(nearest) ? nextDouble(nearest, false) : nearest,
    above: Number.isFinite(nearest) ? nextDouble(nearest, true) : nearest,
  };
}

function toDivisor(value: unknown): Divisor | undefined {
  const bound = toBound(value);
  if (!bound) return undefined;
  const { decimal } = bound;
  const asNumber = Number(bound.text);
  const places = decimal.coefficient === 1n && decimal.exponent < 0 ? -decimal.exponent : undefined;
  return {
    text: bound.text,
    decimal,
    integer: decimal.exponent >= 0 && Number.isSafeInteger(asNumber) ? asNumber : undefined,
    places,
    // Parsed, not computed: `1e22` is exactly 10^22, which `10 ** 22` need not be.
    scale: places !== undefined && places <= 22 ? Number(`1e${places}`) : undefined,
  };
}

/** Below this, `value * 10^n` is within 1/4 of the integer it stands for (see `isMultiple`). */
const SCALED_LIMIT = 2 ** 50;

/** Decimals of a double's shortest text, or `undefined` when it is written with an exponent. */
function decimalPlaces(value: number): number | undefined {
  const text = String(value);
  if (text.includes('e')) return undefined;
  const point = text.indexOf('.');
  return point < 0 ? 0 : text.length - point - 1;
}

function isMultiple(value: number, divisor: Divisor): boolean {
  if (divisor.integer !== undefined) {
    if (Number.isSafeInteger(value)) return value % divisor.integer === 0;
    if (!Number.isInteger(value)) return false;
  } else if (divisor.places !== undefined) {
    if (divisor.scale !== undefined) {
      // A double is a multiple of 10^-n exactly when it is the double nearest some k / 10^n
      // (its shortest text then has at most n decimals). Below 2^50, k is value * 10^n rounded,
      // and k / 10^n is the nearest double to that quotient (both operands are exact doubles).
      const scaled = value * divisor.scale;
      if (Math.abs(scaled) < SCALED_LIMIT) return Math.round(scaled) / divisor.scale === value;
    }
    const places = decimalPlaces(value);
    if (places !== undefined) return places <= divisor.places;
  }
  return isMultipleOfDecimal(parseDecimal(String(value)) as Decimal, divisor.decimal);
}

export type NumberCheck = (value: unknown) => string | undefined;

/**
 * The check of one schema's bounds and `multipleOf`, exact whatever their size or precision:
 * a message saying what the value must be, or `undefined` when it fits.
 */
export function compileNumberCheck(limits: NumberLimits): NumberCheck {
  const min = toBound(limits.minimum);
  const max = toBound(limits.maximum);
  const exMin = toBound(limits.exclusiveMinimum);
  const exMax = toBound(limits.exclusiveMaximum);
  const divisor = toDivisor(limits.multipleOf);

  function checkDecimal(d: Decimal): string | undefined {
    if (min && compareDecimals(d, min.decimal) < 0) return `must be >= ${min.text}`;
    if (exMin && compareDecimals(d, exMin.decimal) <= 0) return `must be > ${exMin.text}`;
    if (max && compareDecimals(d, max.decimal) > 0) return `must be <= ${max.text}`;
    if (exMax && compareDecimals(d, exMax.decimal) >= 0) return `must be < ${exMax.text}`;
    if (divisor && !isMultipleOfDecimal(d, divisor.decimal)) return `must be multiple of ${divisor.text}`;
    return undefined;
  }

  return (value: unknown): string | undefined => {
    if (typeof value !== 'number') {
      const decimal = parseDecimal(exactNumberText(value) ?? '');
      return decimal === undefined ? 'is not a number' : checkDecimal(decimal);
    }
    // Two doubles compare exactly as the decimals they stand for; a bound a double cannot hold
    // needs the value's decimal only when the value is within a step of it.
    let decimal: Decimal | undefined;
    const exactly = (): Decimal => (decimal ??= parseDecimal(String(value)) as Decimal);
    if (min && (min.double !== undefined ? value < min.double : value <= min.above && compareDecimals(exactly(), min.decimal) < 0)) {
      return `must be >= ${min.text}`;
    }
    if (exMin && (exMin.double !== undefined ? value <= exMin.double : value <= exMin.above && compareDecimals(exactly(), exMin.decimal) <= 0)) {
      return `must be > ${exMin.text}`;
    }
    if (max && (max.double !== undefined ? value > max.double : value >= max.below && compareDecimals(exactly(), max.decimal) > 0)) {
      return `must be <= ${max.text}`;
    }
    if (exMax && (exMax.double !== undefined ? value >= exMax.double : value >= exMax.below && compareDecimals(exactly(), exMax.decimal) >= 0)) {
      return `must be < ${exMax.text}`;
    }
    if (divisor && !isMultiple(value, divisor)) return `must be multiple of ${divisor.text}`;
    return undefined;
  };
}

/** Reads the value ajv is looking at from the original record when a stand-in took its place. */
function originalValue(data: unknown, parentData: unknown, property: string | number): unknown {
  const swapped = shadow.swapped;
  if (swapped === undefined) return data;
  for (let i = 0; i < swapped.length; i += 3) {
    if (swapped[i] === parentData && swapped[i + 1] === property) return swapped[i + 2];
  }
  return data;
}

/**
 * An expression that is true only when a double `data` certainly fits `limits`, for ajv to test
 * inline before calling the exact check (which also says what is wrong); `undefined` when the
 * limits need more than doubles (a divisor like 0.05 or 1e-30).
 */
function fastFit(limits: NumberLimits, data: Code): Code | undefined {
  const parts: Code[] = [];
  const bounds: [unknown, '>=' | '>' | '<=' | '<'][] = [
    [limits.minimum, '>='],
    [limits.exclusiveMinimum, '>'],
    [limits.maximum, '<='],
    [limits.exclusiveMaximum, '<'],
  ];
  for (const [value, op] of bounds) {
    if (value === undefined) continue;
    const bound = toBound(value);
    if (bound === undefined) return undefined;
    // A bound a double cannot hold: values a step inside it surely fit (see Bound).
    const lower = op === '>=' || op === '>';
    const limit = bound.double ?? (lower ? bound.above : bound.below);
    if (!Number.isFinite(limit)) return undefined;
    if (bound.double === undefined) parts.push(lower ? _`${data} > ${limit}` : _`${data} < ${limit}`);
    else parts.push(op === '>=' ? _`${data} >= ${limit}` : op === '>' ? _`${data} > ${limit}` : op === '<=' ? _`${data} <= ${limit}` : _`${data} < ${limit}`);
  }
  if (limits.multipleOf !== undefined) {
    const divisor = toDivisor(limits.multipleOf);
    if (divisor?.integer !== undefined) {
      parts.push(_`Number.isSafeInteger(${data}) && ${data} % ${divisor.integer} === 0`);
    } else if (divisor?.scale !== undefined) {
      // See isMultiple: below 2^50, rounding at scale and back is exact.
      parts.push(_`Math.abs(${data} * ${divisor.scale}) < ${SCALED_LIMIT} && Math.round(${data} * ${divisor.scale}) / ${divisor.scale} === ${data}`);
    } else {
      return undefined;
    }
  }
  return parts.length === 0 ? undefined : parts.reduce((all, part) => _`${all} && ${part}`);
}

function addExactNumberKeyword(ajv: Ajv): void {
  ajv.addKeyword({
    keyword: EXACT_NUMBER_KEYWORD,
    type: 'number',
    schemaType: 'object',
    error: { message: ({ params }) => _`${params.message as Code}` },
    code(cxt: KeywordCxt) {
      const { gen, data, it } = cxt;
      const limits = cxt.schema as NumberLimits;
      const check = compileNumberCheck(limits);
      const fn = gen.scopeValue('keyword', {
        ref: (value: unknown, parent: unknown, property: string | number) => check(originalValue(value, parent, property)),
      });
      const exact = _`${fn}(${data}, ${it.parentData}, ${it.parentDataProperty})`;
      const fast = fastFit(limits, data);
      let message;
      if (fast === undefined) {
        message = gen.const('exactMessage', exact);
      } else {
        // The common case (a double, no stand-ins in this record) decides inline; anything
        // else, or a value the inline test does not pass, gets the exact check and its message.
        const holder = gen.scopeValue('keyword', { ref: shadow });
        message = gen.const('exactMessage', _`${holder}.swapped === undefined && ${fast} ? undefined : ${exact}`);
      }
      cxt.setParams({ message });
      cxt.fail(_`${message} !== undefined`);
    },
  });
}

const DECIMAL_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * The formats records are checked against, by name. Any other format is not checked (Singer
 * schemas carry formats no validator knows). The record pattern (record-scanner.ts) checks
 * captured text with these same functions.
 */
export const RECORD_FORMATS: Readonly<Record<string, (text: string) => boolean>> = {
  'date-time': isDateTime,
  date: isDate,
  time: isTime,
  // NOTE: the Meltano SDK's spellings of a decimal kept as text.
  'singer.decimal': (text) => DECIMAL_TEXT.test(text),
  'x-singer.decimal': (text) => DECIMAL_TEXT.test(text),
};

/**
 * Record validation ajv: the Singer formats are lenient where PostgreSQL is (a date-time
 * without an offset, `2017-10-02 10:56:33`, is valid and taken as UTC), and any other format
 * is not checked (Singer schemas carry formats no validator knows). Bounds and `multipleOf`
 * are checked exactly by a keyword of ours, never by ajv's own in doubles.
 */
function createRecordAjv(draft: SchemaDraft): Ajv {
  const options = {
    allErrors: false,
    strict: false,
    allowUnionTypes: true,
    validateFormats: true,
    // The schema has been normalized; a draft's meta-schema would refuse what taps write.
    validateSchema: false,
    logger: false as const,
  };
  // NOTE: 2019-09 reads drafts 4 to 7 too (it keeps `definitions`, `dependencies`, tuple
  // `items`); only 2020-12 changes a keyword's meaning (`items`), so it gets its own class.
  const ajv: Ajv = draft === '2020-12' ? new Ajv2020(options) : new Ajv2019(options);
  for (const [name, validate] of Object.entries(RECORD_FORMATS)) ajv.addFormat(name, { type: 'string', validate });
  addExactNumberKeyword(ajv);
  return ajv;
}

const ajvByDraft = new Map<'2019' | '2020', Ajv>();

function ajvFor(draft: SchemaDraft): Ajv {
  const key = draft === '2020-12' ? '2020' : '2019';
  let ajv = ajvByDraft.get(key);
  if (!ajv) {
    ajv = createRecordAjv(draft);
    ajvByDraft.set(key, ajv);
  }
  return ajv;
}

const SINGLE = ['additionalItems', 'additionalProperties', 'contains', 'propertyNames', 'not', 'if', 'then', 'else', 'unevaluatedItems', 'unevaluatedProperties', 'contentSchema', 'items'];
const LISTS = ['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'];
const MAPS = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas', 'dependencies'];

/** A normalized schema as ajv gets it: bounds and `multipleOf` moved into the exact keyword. */
function forAjv(node: unknown): unknown {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return node;
  const out: Record<string, unknown> = { ...(node as Record<string, unknown>) };
  const limits: NumberLimits = {};
  let hasLimits = false;
  for (const keyword of [...BOUND_KEYWORDS, 'multipleOf'] as const) {
    if (out[keyword] === undefined) continue;
    limits[keyword] = out[keyword];
    delete out[keyword];
    hasLimits = true;
  }
  if (hasLimits) out[EXACT_NUMBER_KEYWORD] = limits;
  for (const keyword of SINGLE) {
    if (out[keyword] !== undefined && !Array.isArray(out[keyword])) out[keyword] = forAjv(out[keyword]);
  }
  for (const keyword of LISTS) {
    if (Array.isArray(out[keyword])) out[keyword] = (out[keyword] as unknown[]).map(forAjv);
  }
  for (const keyword of MAPS) {
    const map = out[keyword];
    if (typeof map === 'object' && map !== null && !Array.isArray(map)) {
      out[keyword] = Object.fromEntries(Object.entries(map).map(([name, item]) => [name, Array.isArray(item) ? item : forAjv(item)]));
    }
  }
  return out;
}

/** Whether number text stands for an integer (`12`, `1.50e2`), without arithmetic. */
function isIntegralText(text: string): boolean {
  if (/^[+-]?\d+$/.test(text)) return true;
  const match = /^[+-]?(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text);
  if (!match) return false;
  const fraction = match[2] ?? '';
  const digits = (match[1] ?? '') + fraction;
  const significant = digits.replace(/0+$/, '');
  if (/^0*$/.test(significant)) return true;
  const exponent = (match[3] === undefined ? 0 : Number(match[3])) - fraction.length + (digits.length - significant.length);
  return exponent >= 0;
}

/** An exact number's stand-in double: same type for ajv, and an integer exactly when it is one. */
function standIn(text: string): number {
  const integral = isIntegralText(text);
  let approx = Number(text);
  if (Number.isNaN(approx)) return approx;
  if (!Number.isFinite(approx)) approx = approx < 0 ? -Number.MAX_VALUE : Number.MAX_VALUE;
  if (integral || !Number.isInteger(approx)) return approx;
  // A fraction whose double rounds to an integer (`12345678901234567.5`) must not pass as one.
  return text.startsWith('-') ? -0.5 : 0.5;
}

/** Puts stand-ins in place of exact numbers, listing container, key and original in `into`. */
function swapExactNumbers(container: Record<string | number, unknown>, into: unknown[]): void {
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i += 1) swapOne(container, i, into);
  } else {
    for (const key in container) swapOne(container, key, into);
  }
}

function swapOne(container: Record<string | number, unknown>, key: string | number, into: unknown[]): void {
  const value = container[key];
  if (typeof value === 'bigint') {
    into.push(container, key, value);
    container[key] = standIn(value.toString());
  } else if (typeof value === 'object' && value !== null) {
    if (isLosslessNumber(value)) {
      into.push(container, key, value);
      container[key] = standIn(value.value);
    } else {
      swapExactNumbers(value as Record<string | number, unknown>, into);
    }
  }
}

function restoreExactNumbers(from: unknown[]): void {
  for (let i = 0; i < from.length; i += 3) (from[i] as Record<string | number, unknown>)[from[i + 1] as string] = from[i + 2];
}

function describe(error: ErrorObject): string {
  if (error.keyword === 'type') return `must be of type ${String((error.params as { type: unknown }).type)}`;
  if (error.keyword === 'format') return `is not a valid ${String((error.params as { format: unknown }).format)}`;
  if (error.keyword === 'additionalProperties') {
    return `must not have property ${JSON.stringify((error.params as { additionalProperty: unknown }).additionalProperty)} (its schema allows no other properties)`;
  }
  return error.message ?? 'is invalid';
}

function hasJsonType(value: unknown, type: string): boolean {
  switch (type) {
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'integer':
      return Number.isInteger(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

/** Calls `visit` on every subschema of a validation form (never on a map of names to schemas). */
function eachSchemaNode(node: unknown, visit: (schema: Record<string, unknown>) => void): void {
  if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
  const schema = node as Record<string, unknown>;
  visit(schema);
  for (const keyword of SINGLE) if (!Array.isArray(schema[keyword])) eachSchemaNode(schema[keyword], visit);
  for (const keyword of LISTS) if (Array.isArray(schema[keyword])) for (const item of schema[keyword] as unknown[]) eachSchemaNode(item, visit);
  for (const keyword of MAPS) {
    const map = schema[keyword];
    if (typeof map === 'object' && map !== null && !Array.isArray(map)) for (const item of Object.values(map)) eachSchemaNode(item, visit);
  }
}

/** Deletes `keyword` wherever its value is none of `types`; says whether it found any. */
function dropMistyped(form: JsonSchema, keyword: string, types: string[]): boolean {
  let found = false;
  eachSchemaNode(form, (schema) => {
    if (keyword in schema && !types.some((type) => hasJsonType(schema[keyword], type))) {
      delete schema[keyword];
      found = true;
    }
  });
  return found;
}

const MISTYPED = /^(\S+) value must be (\[[^\]]*\])/;

/**
 * Compiles the validation form. A keyword whose value is of the wrong kind for ajv
 * (`"uniqueItems": "yes"`) is left out with a warning and the schema compiled again; what
 * still fails is an `InputError` naming the stream.
 */
function compileLeniently(ajv: Ajv, form: JsonSchema, stream: string, logger: Logger | undefined): ValidateFunction {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return ajv.compile(form);
    } catch (cause) {
      const message = cause instanceof Error ? cause.message : String(cause);
      const mistyped = MISTYPED.exec(message);
      const keyword = mistyped?.[1];
      const types = mistyped ? (JSON.parse(mistyped[2] as string) as string[]) : [];
      if (keyword !== undefined && attempt < 16 && dropMistyped(form, keyword, types)) {
        schemaWarningsFor(logger).warn(stream, keyword, `has a value that is not ${types.join(' or ')}: it is not checked`);
        continue;
      }
      throw new InputError(`SCHEMA cannot be used to validate records: ${message}`, {
        stream,
        code: 'SCHEMA_INVALID',
        cause,
        hint: 'Fix the tap\'s schema, or set validate_records to false to load values as given',
      });
    } finally {
      // The compiled function keeps what it needs; ajv's cache would otherwise keep every schema.
      ajv.removeSchema(form);
    }
  }
}

/**
 * Validates records of one stream against its SCHEMA; compiled once per schema. The schema
 * may be as the tap sent it or as `normalizeSchema` returned it. Bounds and `multipleOf` are
 * compared exactly, whatever their size or precision; what cannot be checked is left out with
 * one warning per stream and keyword, through `logger`.
 */
export class RecordValidator {
  private readonly check: ValidateFunction;

  constructor(
    readonly stream: string,
    schema: JsonSchema,
    logger?: Logger,
  ) {
    const normalized = normalizeSchema(stream, schema, logger);
    const draft = schemaInfo(normalized)?.draft ?? '2019-09';
    const form = forAjv(normalized) as JsonSchema;
    // Records may carry properties the schema lacks; the target drops them with a warning
    // before they are checked, so the root's own rules about extra properties never apply.
    form.type = 'object';
    delete form.additionalProperties;
    delete form.unevaluatedProperties;
    const properties = normalized.properties;
    if (Array.isArray(form.required) && properties && typeof properties === 'object') {
      const missing = form.required.filter((name) => !(name in properties));
      if (missing.length > 0) {
        schemaWarningsFor(logger).warn(
          stream,
          'required',
          `lists ${missing.map((n) => JSON.stringify(n)).join(', ')}, not among its properties (records lose such properties before they are checked): not required`,
        );
        form.required = form.required.filter((name) => name in properties);
      }
    }
    this.check = compileLeniently(ajvFor(draft), form, stream, logger);
  }

  /** Throws a `RecordError` naming the column and value of the first problem. */
  validate(record: Record<string, unknown>): void {
    let valid: boolean;
    if (containsExactNumber(record)) {
      const swapped: unknown[] = [];
      try {
        swapExactNumbers(record, swapped);
        shadow.swapped = swapped;
        valid = this.check(record) as boolean;
      } finally {
        shadow.swapped = undefined;
        restoreExactNumbers(swapped);
      }
    } else {
      valid = this.check(record) as boolean;
    }
    if (valid) return;
    const error = this.check.errors?.[0];
    if (!error) throw new RecordError('record does not match its schema', { stream: this.stream });
    const path = error.instancePath
      .split('/')
      .slice(1)
      .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
    const column = path[0];
    let value: unknown = record;
    for (const part of path) value = (value as Record<string, unknown> | undefined)?.[part];
    throw new RecordError(`${path.length > 1 ? `${path.join('.')} ` : ''}${describe(error)}`, {
      stream: this.stream,
      column,
      ...(column !== undefined ? { value } : {}),
      hint: 'The record does not match the stream\'s SCHEMA; fix the source data or the schema (validate_records: false loads values as given)',
    });
  }
}
