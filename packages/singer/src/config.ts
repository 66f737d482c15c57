import { readFile } from 'node:fs/promises';

import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

import { ConfigError } from './errors';
import type { Logger, Redactor } from './logging';
import type { JsonSchema } from './messages';
import { schemaTypes, secretPaths } from './schema-keywords';

/** Config key → environment variables tried in order when the key is absent. */
export type EnvFallbacks = Record<string, string[]>;

/** An ajv instance that knows the keywords connectors use in config schemas. */
export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'secret', schemaType: 'boolean' });
  return ajv;
}

/** Reads a JSON file, naming the file and what is wrong when it can't. */
export async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const reason = (cause as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ConfigError(`${what} file ${reason}`, { file: path, cause, code: 'CONFIG_UNREADABLE' });
  }
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (cause) {
    throw new ConfigError(`${what} file is not valid JSON: ${(cause as Error).message}`, {
      file: path,
      cause,
      code: 'CONFIG_UNREADABLE',
    });
  }
}

/** Turns an environment string into the type the schema wants for that key. */
function fromEnv(text: string, schema: JsonSchema | undefined): unknown {
  const types = schema ? schemaTypes(schema) : [];
  if (types.includes('string') || types.length === 0) return text;
  if ((types.includes('integer') || types.includes('number')) && /^-?\d+(\.\d+)?$/.test(text.trim())) {
    return Number(text);
  }
  if (types.includes('boolean') && /^(true|false|1|0)$/i.test(text.trim())) {
    return /^(true|1)$/i.test(text.trim());
  }
  if (types.includes('object') || types.includes('array')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/** Applies environment fallbacks for keys the config does not set. */
export function applyEnvFallbacks(
  config: Record<string, unknown>,
  schema: JsonSchema,
  fallbacks: EnvFallbacks,
  env: NodeJS.ProcessEnv,
): Record<string, unknown> {
  const out = { ...config };
  for (const [key, names] of Object.entries(fallbacks)) {
    if (out[key] !== undefined && out[key] !== null && out[key] !== '') continue;
    for (const name of names) {
      const value = env[name];
      if (value !== undefined && value !== '') {
        out[key] = fromEnv(value, schema.properties?.[key]);
        break;
      }
    }
  }
  return out;
}

/** One readable sentence per ajv error, naming the key. */
export function describeAjvError(error: ErrorObject, root = 'config'): string {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'));
  let key = path.join('.');
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required': {
      const missing = String(params.missingProperty);
      return `missing required key ${JSON.stringify(key ? `${key}.${missing}` : missing)}`;
    }
    case 'additionalProperties': {
      const extra = String(params.additionalProperty);
      return `unknown key ${JSON.stringify(key ? `${key}.${extra}` : extra)}`;
    }
    case 'enum':
      return `key ${JSON.stringify(key)} must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    default:
      if (key === '') key = root;
      return `key ${JSON.stringify(key)} ${error.message ?? 'is invalid'}`;
  }
}

/** Deep-freezes a value so a loaded config cannot change under the connector. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/** What a connector's `normalize` gets besides the validated config. */
export interface NormalizeContext {
  /** Where to say what the config holds that has no effect here (key names, never values). */
  logger?: Logger;
  /** The environment the connector runs in (tests pass their own). */
  env: NodeJS.ProcessEnv;
}

export interface LoadConfigOptions<C> {
  /** Config files, merged left to right (later keys win). None: an empty config. */
  paths: string[];
  /** Keys set on top of the files (from command-line flags such as `--unit`). */
  overrides?: Record<string, unknown>;
  schema: JsonSchema;
  env?: EnvFallbacks;
  environment?: NodeJS.ProcessEnv;
  /** Learns every secret value so no log line or error ever shows it. */
  redactor?: Redactor;
  /** Handed to `normalize`, for warnings about keys. */
  logger?: Logger;
  normalize?: (raw: Record<string, unknown>, context: NormalizeContext) => C;
}

/**
 * Edit distance counting an adjacent transposition as one edit (optimal string alignment),
 * so `batch_size_row` is 1 from `batch_size_rows` and `hsot` 1 from `host`.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_row, i) => Array.from({ length: cols }, (_col, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i += 1) {
    for (let j = 1; j < cols; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate a mistyped name most likely meant: the nearest by `editDistance`, ignoring
 * case and `-`/`_`, within `maxDistance` (and closer than half the name, so short names do not
 * match anything). `undefined` when none is near enough.
 */
export function closestName(name: string, candidates: Iterable<string>, maxDistance = 2): string | undefined {
  const simplify = (text: string): string => text.toLowerCase().replace(/-/g, '_');
  const wanted = simplify(name);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, simplify(candidate));
    if (distance < bestDistance && distance <= maxDistance && distance * 2 < Math.max(wanted.length, 2)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

const validators = new WeakMap<JsonSchema, ValidateFunction>();

/**
 * Loads a connector's config: files, then environment fallbacks, then JSON Schema
 * validation naming every bad or missing key at once, then normalisation; the result is
 * deep-frozen. Secret values are registered with the redactor before anything can fail.
 */
export async function loadConfig<C = Record<string, unknown>>(options: LoadConfigOptions<C>): Promise<C> {
  let raw: Record<string, unknown> = {};
  for (const path of options.paths) {
    const content = await readJsonFile(path, 'config');
    if (typeof content !== 'object' || content === null || Array.isArray(content)) {
      throw new ConfigError('config file must hold a JSON object', { file: path });
    }
    raw = { ...raw, ...(content as Record<string, unknown>) };
  }
  raw = { ...raw, ...options.overrides };
  raw = applyEnvFallbacks(raw, options.schema, options.env ?? {}, options.environment ?? process.env);
  registerSecrets(raw, options.schema, options.redactor);

  let validate = validators.get(options.schema);
  if (!validate) {
    validate = createAjv().compile(options.schema);
    validators.set(options.schema, validate);
  }
  if (!validate(raw)) {
    const problems = [...new Set((validate.errors ?? []).map((e) => describeAjvError(e)))];
    throw new ConfigError(`invalid config: ${problems.join('; ')}`, {
      file: options.paths.length === 1 ? options.paths[0] : undefined,
      problems,
      hint: 'Fix these keys in the config file or set them in the environment',
    });
  }
  const context: NormalizeContext = { logger: options.logger, env: options.environment ?? process.env };
  const config = options.normalize ? options.normalize(raw, context) : (raw as C);
  return deepFreeze(config);
}

function registerSecrets(raw: Record<string, unknown>, schema: JsonSchema, redactor: Redactor | undefined): void {
  if (!redactor) return;
  for (const path of secretPaths(schema)) {
    let value: unknown = raw;
    for (const part of path) value = (value as Record<string, unknown> | undefined)?.[part];
    redactor.add(value);
  }
}
