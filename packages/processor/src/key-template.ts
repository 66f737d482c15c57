/** The variables a `key_template` may use. */
export const KEY_VARIABLES = ['stream', 'year', 'month', 'day', 'hour', 'run_id'] as const;
export type KeyVariable = (typeof KEY_VARIABLES)[number];

export const DEFAULT_KEY_TEMPLATE = '{stream}/{year}/{month}/{day}/{stream}.csv';

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Every problem with a template (unknown variables, stray braces), empty when it is fine. */
export function checkKeyTemplate(template: string): string[] {
  const problems: string[] = [];
  if (template.trim() === '') problems.push('key_template: must not be empty');
  if (template.startsWith('/')) problems.push('key_template: an object key must not start with "/"');
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1]!;
    if (!(KEY_VARIABLES as readonly string[]).includes(name)) {
      problems.push(
        `key_template: unknown variable {${name}} (known: ${KEY_VARIABLES.map((v) => `{${v}}`).join(', ')})`,
      );
    }
  }
  if (/[{}]/.test(template.replace(PLACEHOLDER, ''))) problems.push('key_template: has an unmatched "{" or "}"');
  return problems;
}

/** What a run fills into its keys: the run's start time (UTC) and id. */
export interface KeyTemplateRun {
  readonly startedAt: Date;
  readonly runId: string;
}

const pad = (n: number): string => String(n).padStart(2, '0');

/**
 * Renders an object key for a stream: `{stream}/{year}/{month}/{day}/{stream}.csv` →
 * `orders/2024/03/07/orders.csv`. Dates are the run's start in UTC, zero-padded, so every
 * stream of a run lands in the same partition whatever the machine's zone. With gzip the key
 * gets `.gz` unless the template already ends so.
 */
export function renderKey(template: string, stream: string, run: KeyTemplateRun, gzip: boolean): string {
  const at = run.startedAt;
  const values: Record<KeyVariable, string> = {
    stream,
    year: String(at.getUTCFullYear()),
    month: pad(at.getUTCMonth() + 1),
    day: pad(at.getUTCDate()),
    hour: pad(at.getUTCHours()),
    run_id: run.runId,
  };
  const key = template.replace(PLACEHOLDER, (_all, name: string) => values[name as KeyVariable] ?? `{${name}}`);
  return gzip && !key.endsWith('.gz') ? `${key}.gz` : key;
}

/** A run id that sorts by time and is unique: `20240307T120501Z-3f9a1c`. */
export function newRunId(startedAt: Date, random: () => string): string {
  return `${startedAt.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${random()}`;
}
