import { isMissing, type Rule, type RuleContext, valueError } from './rule';

/** Text steps apply to strings only: a number or boolean has no case or spaces to fix. */
function requireText(step: string, value: unknown, ctx: RuleContext): string {
  if (typeof value === 'string') return value;
  throw valueError(`step "${step}" needs text but the value is not a string`, 'VALUE_NOT_TEXT', value, ctx);
}

function textRule(step: string, change: (text: string) => string): Rule {
  return (value, ctx) => (isMissing(value) ? null : change(requireText(step, value, ctx)));
}

/** Upper-cases a single code point as a word's first letter (`ß` → `Ss`, not `SS`). */
function capitalizeFirst(text: string): string {
  const first = String.fromCodePoint(text.codePointAt(0) ?? 0);
  if (!/\p{L}/u.test(first)) return text;
  const upper = first.toUpperCase();
  const initial = upper.length > first.length ? upper[0]! + upper.slice(1).toLowerCase() : upper;
  return initial + text.slice(first.length);
}

/**
 * Contraction endings after which the letter stays small (`it's`, `don't`, `we'll`). Any
 * other letter after an apostrophe follows an elision and starts a word (`d'Oeste`,
 * `Sant'Ana`, `O'Neil`).
 */
const CONTRACTION_ENDINGS = new Set(['s', 't', 'd', 'm', 'll', 're', 've']);

/** A word: letters, marks and digits, possibly joined by apostrophes (`d'oeste`, `it's`). */
const WORD = /[\p{L}\p{M}\p{N}]+(?:['\u2019][\p{L}\p{M}\p{N}]+)*/gu;
const APOSTROPHE = /(['\u2019])/u;

function titlecaseWord(word: string): string {
  const parts = word.split(APOSTROPHE);
  let out = capitalizeFirst(parts[0]!);
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const segment = parts[i + 1]!;
    out += parts[i]! + (CONTRACTION_ENDINGS.has(segment) ? segment : capitalizeFirst(segment));
  }
  return out;
}

/** `  a  ` → `a`: white space (Unicode's) removed from both ends. */
export const trim: Rule = textRule('trim', (text) => text.trim());

export const lowercase: Rule = textRule('lowercase', (text) => text.toLowerCase());

export const uppercase: Rule = textRule('uppercase', (text) => text.toUpperCase());

/**
 * As Python's `inflection.humanize`: underscores become spaces, the text is lower-cased and
 * its first letter capitalised (`cama_mesa_banho` → `Cama mesa banho`). Unlike inflection, a
 * trailing `_id` is kept (`customer_id` → `Customer id`) and non-ASCII letters are
 * lower-cased too (inflection lower-cases only `[a-z]`, giving `SÃo`).
 */
export const humanize: Rule = textRule('humanize', (text) =>
  capitalizeFirst(text.normalize('NFC').replace(/_/g, ' ').toLowerCase()).normalize('NFC'),
);

/**
 * As Python's `inflection.titleize` for ordinary words: underscores become spaces, each
 * word's first letter is capitalised and the rest lower-cased (`são paulo` → `São Paulo`).
 * Fixes inflection's faults instead of copying them:
 * - input is NFC-normalised first, so a decomposed accent never splits a word;
 * - hyphens are kept and start a word (`xangri-lá` → `Xangri-Lá`, inflection: `Xangri Lá`);
 * - after an elision apostrophe the letter is capitalised (`d'oeste` → `D'Oeste`), after a
 *   contraction it is not (`it's` → `It's`);
 * - a trailing `_id` is kept; camelCase is not split (`McAllen` → `Mcallen`, not `Mc Allen`);
 * - a letter after a digit stays small (`3rd` → `3rd`, inflection: `3Rd`).
 */
export const titlecase: Rule = textRule('titlecase', (text) =>
  text.normalize('NFC').replace(/_/g, ' ').toLowerCase().replace(WORD, titlecaseWord).normalize('NFC'),
);
