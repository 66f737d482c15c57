import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';

import { isDate, isDateTime, isTime } from './datetime';
import { RecordError } from './errors';
import { containsExactNumber, isLosslessNumber } from './exact-json';
import type { JsonSchema } from './messages';

/**
 * Record validation ajv: the Singer formats are lenient where PostgreSQL is (a date-time
 * without an offset, `2017-10-02 10:56:33`, is valid and taken as UTC), and any other format
 * is not checked (Singer schemas carry formats no validator knows).
 */
function createRecordAjv(): Ajv {
  // NOTE: singer-python writes `"multipleOf": 0.01` for decimals; 19.99 / 0.01 is not an exact
  // integer in binary floating point, so the check needs a tolerance.
  const ajv = new Ajv({
    allErrors: false,
    strict: false,
    allowUnionTypes: true,
    validateFormats: true,
    logger: false,
    multipleOfPrecision: 9,
  });
  ajv.addFormat('date-time', { type: 'string', validate: isDateTime });
  ajv.addFormat('date', { type: 'string', validate: isDate });
  ajv.addFormat('time', { type: 'string', validate: isTime });
  ajv.addFormat('singer.decimal', { type: 'string', validate: (s: string) => /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(s) });
  return ajv;
}

/** An exact number stands in for validation as a double that has the same integer-ness. */
function shadowExactNumbers(value: unknown): unknown {
  if (isLosslessNumber(value)) {
    const text = value.value;
    const integral = /^-?\d+(\.0*)?$/.test(text) || (/[eE]/.test(text) && Number.isInteger(Number(text)));
    const approx = Number(text);
    return integral ? approx : Number.isInteger(approx) ? approx + 0.5 : approx;
  }
  if (typeof value === 'bigint') return Number(value);
  if (Array.isArray(value)) return value.map(shadowExactNumbers);
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = shadowExactNumbers(item);
    return out;
  }
  return value;
}

function describe(error: ErrorObject): string {
  if (error.keyword === 'type') return `must be of type ${String((error.params as { type: unknown }).type)}`;
  if (error.keyword === 'format') return `is not a valid ${String((error.params as { format: unknown }).format)}`;
  return error.message ?? 'is invalid';
}

/** Validates records of one stream against its SCHEMA; compiled once per schema. */
export class RecordValidator {
  private static readonly ajv = createRecordAjv();
  private readonly check: ValidateFunction;

  constructor(
    readonly stream: string,
    schema: JsonSchema,
  ) {
    // Records may carry properties the schema lacks; the target drops them with a warning.
    const rest: JsonSchema = { ...schema, type: 'object' };
    delete rest.additionalProperties;
    this.check = RecordValidator.ajv.compile(rest);
  }

  /** Throws a `RecordError` naming the column and value of the first problem. */
  validate(record: Record<string, unknown>): void {
    const subject = containsExactNumber(record) ? shadowExactNumbers(record) : record;
    if (this.check(subject)) return;
    const error = this.check.errors?.[0];
    if (!error) throw new RecordError('record does not match its schema', { stream: this.stream });
    const path = error.instancePath.split('/').slice(1);
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
