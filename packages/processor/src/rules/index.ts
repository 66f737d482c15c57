import { ConfigError } from '@singer-ts/singer';

import { drop, hash } from './privacy';
import type { Rule, RuleContext } from './rule';
import { humanize, lowercase, titlecase, trim, uppercase } from './text';
import { fillNull, integer, number, timestamp } from './types';

export type { Rule, RuleContext } from './rule';
export { isMissing } from './rule';

/** What compiling a step may need besides its argument. */
export interface RuleOptions {
  /** The HMAC key of `hash`; config `hash_key` or `PROCESSOR_HASH_KEY`. */
  hashKey?: string;
}

interface StepDefinition {
  /** Whether the step takes an argument (`{"fill_null": -1}`) or none (`"trim"`). */
  takesArgument: boolean;
  /** A problem with the argument, or undefined when it is fine. */
  checkArgument?(argument: unknown): string | undefined;
  create(argument: unknown, options: RuleOptions): Rule;
}

const plain = (rule: Rule): StepDefinition => ({ takesArgument: false, create: () => rule });

/** Every step a rule list may name. */
const STEPS: Record<string, StepDefinition> = {
  trim: plain(trim),
  lowercase: plain(lowercase),
  uppercase: plain(uppercase),
  humanize: plain(humanize),
  titlecase: plain(titlecase),
  timestamp: plain(timestamp),
  integer: plain(integer),
  number: plain(number),
  fill_null: {
    takesArgument: true,
    checkArgument: (argument) =>
      ['string', 'number', 'boolean'].includes(typeof argument)
        ? undefined
        : 'needs a string, number or boolean to fill with, e.g. {"fill_null": -1}',
    create: (argument) => fillNull(argument),
  },
  hash: {
    takesArgument: false,
    create: (_argument, options) => {
      if (!options.hashKey) throw new ConfigError('"hash" needs a key', { code: 'CONFIG_INVALID' });
      return hash(options.hashKey);
    },
  },
  drop: plain(drop),
};

/** The step names, for config schemas and messages. */
export const STEP_NAMES: readonly string[] = Object.keys(STEPS);

/** One step as configured, checked: its name and (for steps that take one) its argument. */
export interface RuleStep {
  readonly name: string;
  readonly argument?: unknown;
}

/** Steps per stream, per column, in order. */
export type RuleSet = Readonly<Record<string, Readonly<Record<string, readonly RuleStep[]>>>>;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseStep(raw: unknown, path: string, problems: string[]): RuleStep | undefined {
  let name: string;
  let argument: unknown;
  let hasArgument = false;
  if (typeof raw === 'string') name = raw;
  else if (isPlainObject(raw) && Object.keys(raw).length === 1) {
    name = Object.keys(raw)[0]!;
    argument = raw[name];
    hasArgument = true;
  } else {
    problems.push(`${path}: a step is a name ("trim") or an object with one key ({"fill_null": -1})`);
    return undefined;
  }
  const definition = Object.hasOwn(STEPS, name) ? STEPS[name] : undefined;
  if (!definition) {
    problems.push(`${path}: unknown step ${JSON.stringify(name)} (known: ${STEP_NAMES.join(', ')})`);
    return undefined;
  }
  if (!definition.takesArgument) {
    if (hasArgument) problems.push(`${path}: step "${name}" takes no argument; write it as "${name}"`);
    return { name };
  }
  if (!hasArgument) {
    problems.push(`${path}: step "${name}" needs an argument, e.g. {"${name}": …}`);
    return undefined;
  }
  const problem = definition.checkArgument?.(argument);
  if (problem) {
    problems.push(`${path}: step "${name}" ${problem}`);
    return undefined;
  }
  return { name, argument };
}

/**
 * Checks the `rules` config up front: every step known, every argument right, `drop` alone
 * at the end, a key for `hash`. Returns the rules and every problem found (not just the
 * first), each with its path (`rules.customers.customer_city[1]`). Columns can only be checked
 * against a stream's SCHEMA, in `compileStreamRules`.
 */
export function parseRules(raw: unknown, options: RuleOptions): { rules: RuleSet; problems: string[] } {
  const problems: string[] = [];
  const rules: Record<string, Record<string, RuleStep[]>> = {};
  if (raw === undefined || raw === null) return { rules, problems };
  if (!isPlainObject(raw)) return { rules, problems: ['rules: must be an object of streams'] };
  for (const [stream, columns] of Object.entries(raw)) {
    if (!isPlainObject(columns)) {
      problems.push(`rules.${stream}: must be an object of columns, each with a list of steps`);
      continue;
    }
    const byColumn: Record<string, RuleStep[]> = {};
    for (const [column, stepsRaw] of Object.entries(columns)) {
      const path = `rules.${stream}.${column}`;
      // A single step may be written without the list: {"customer_state": "uppercase"}.
      const list = Array.isArray(stepsRaw) ? stepsRaw : [stepsRaw];
      if (list.length === 0) problems.push(`${path}: the list of steps is empty`);
      const steps: RuleStep[] = [];
      list.forEach((item, i) => {
        const step = parseStep(item, Array.isArray(stepsRaw) ? `${path}[${i}]` : path, problems);
        if (step) steps.push(step);
      });
      const dropAt = steps.findIndex((s) => s.name === 'drop');
      if (dropAt >= 0 && steps.length > 1) {
        problems.push(`${path}: "drop" removes the column, so it must be the column's only step`);
      }
      if (steps.some((s) => s.name === 'hash') && !options.hashKey) {
        problems.push(`${path}: step "hash" needs a key: set "hash_key" in the config or PROCESSOR_HASH_KEY`);
      }
      byColumn[column] = steps;
    }
    rules[stream] = byColumn;
  }
  return { rules, problems };
}

/** A stream's rules compiled against its SCHEMA's columns. */
export interface CompiledRules {
  /** The output columns: the schema's properties in order, dropped ones left out. */
  readonly columns: readonly string[];
  /** The rule chain per column that has steps (dropped columns excluded). */
  readonly transforms: ReadonlyMap<string, Rule>;
  readonly contexts: ReadonlyMap<string, RuleContext>;
}

function chain(rules: Rule[]): Rule {
  if (rules.length === 1) return rules[0]!;
  return (value, ctx) => {
    let out = value;
    for (const rule of rules) out = rule(out, ctx);
    return out;
  };
}

/**
 * Compiles one stream's steps for the columns its SCHEMA declares, once per SCHEMA. A rule
 * for a column the schema lacks is a config error naming stream and column.
 */
export function compileStreamRules(
  stream: string,
  schemaColumns: readonly string[],
  rules: RuleSet,
  options: RuleOptions,
): CompiledRules {
  const steps = Object.hasOwn(rules, stream) ? rules[stream]! : {};
  const known = new Set(schemaColumns);
  const unknown = Object.keys(steps).filter((column) => !known.has(column));
  if (unknown.length > 0) {
    throw new ConfigError(
      `rules name ${unknown.length === 1 ? 'a column' : 'columns'} the stream's SCHEMA does not have: ${unknown
        .map((c) => JSON.stringify(c))
        .join(', ')} (columns: ${schemaColumns.map((c) => JSON.stringify(c)).join(', ')})`,
      { stream, column: unknown[0], hint: 'Fix the column name under "rules" in the processor config' },
    );
  }
  const transforms = new Map<string, Rule>();
  const contexts = new Map<string, RuleContext>();
  const columns: string[] = [];
  for (const column of schemaColumns) {
    const columnSteps = Object.hasOwn(steps, column) ? steps[column]! : [];
    if (columnSteps.some((s) => s.name === 'drop')) continue;
    columns.push(column);
    if (columnSteps.length === 0) continue;
    transforms.set(column, chain(columnSteps.map((s) => STEPS[s.name]!.create(s.argument, options))));
    contexts.set(column, Object.freeze({ stream, column }));
  }
  return { columns, transforms, contexts };
}
