import { RecordError } from '@singer-ts/singer';

/** Where a rule runs: fixed per stream and column, so one object serves every record. */
export interface RuleContext {
  readonly stream: string;
  readonly column: string;
}

/**
 * One step of a column's cleaning: a pure function of the value. It returns the new value
 * or throws a `RecordError` naming the column and value (the caller adds stream and record).
 */
export type Rule = (value: unknown, ctx: RuleContext) => unknown;

/** Whether a value counts as missing: JSON null, or a property the record does not have. */
export function isMissing(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

/** A value a rule cannot handle. */
export function valueError(message: string, code: string, value: unknown, ctx: RuleContext): RecordError {
  return new RecordError(message, { code, stream: ctx.stream, column: ctx.column, value });
}
