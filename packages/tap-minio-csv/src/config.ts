import { ConfigError, type JsonSchema } from '@singer-ts/singer';

import { findUnit, NO_SPLIT, parseSplit, type Unit, type UnitSplit } from './units';

/** One configured table: the objects under a prefix whose keys match a pattern, read as one stream. */
export interface TableSpec {
  /** The stream name. */
  readonly tableName: string;
  /** Only keys under this prefix are listed ('' lists the whole bucket). */
  readonly searchPrefix: string;
  /** Keys are kept when this matches anywhere in them (Python `re.search`, as tap-s3-csv). */
  readonly searchPattern: RegExp;
  readonly keyProperties: readonly string[];
  /** Columns discovery types as date-time whatever their samples look like. */
  readonly dateOverrides: readonly string[];
  readonly delimiter: string;
}

export interface TapMinioCsvConfig {
  readonly bucket: string;
  /** A MinIO or other S3-compatible endpoint; absent means AWS itself. */
  readonly endpointUrl: string | undefined;
  readonly region: string;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly sessionToken: string | undefined;
  /** Objects last modified before this instant are never read. */
  readonly startDate: Date | undefined;
  /** Rows sampled per table for discovery. */
  readonly sampleSize: number;
  readonly tables: readonly TableSpec[];
  /** How each table's objects split into units of work (`unit_split`; default none). */
  readonly unitSplit: UnitSplit;
  /** The one unit to sync (`unit`, or `--unit`); undefined: every selected table whole. */
  readonly unit: Unit | undefined;
}

export const DEFAULT_SAMPLE_SIZE = 1000;
export const DEFAULT_REGION = 'us-east-1';

const LIST_OR_CSV: JsonSchema = {
  anyOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }],
};

const TABLE_KEYS = ['table_name', 'search_prefix', 'search_pattern', 'key_properties', 'date_overrides', 'delimiter'];

const TABLE_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['table_name', 'search_pattern'],
  // A misspelt key (`key_propertie`) must not pass silently.
  additionalProperties: false,
  properties: {
    table_name: { type: 'string', minLength: 1, description: 'The stream name.' },
    search_prefix: { type: 'string', description: 'Only keys under this prefix are listed.' },
    search_pattern: {
      type: 'string',
      description: 'A regular expression; keys it matches (anywhere in the key) belong to the table.',
    },
    key_properties: {
      ...LIST_OR_CSV,
      description: 'Primary key columns: a list or a comma-separated string.',
    },
    date_overrides: {
      ...LIST_OR_CSV,
      description: 'Columns typed as date-time: a list or a comma-separated string.',
    },
    delimiter: { type: 'string', minLength: 1, maxLength: 1, description: 'Field delimiter (default ",").' },
  },
};

/** The config's JSON Schema: the keys of the PyPI tap-minio-csv / tap-s3-csv family. */
export const CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['bucket', 'tables'],
  additionalProperties: false,
  properties: {
    endpoint_url: {
      type: 'string',
      minLength: 1,
      description: 'S3-compatible endpoint (MinIO); path-style addressing is used when set.',
    },
    bucket: { type: 'string', minLength: 1, description: 'The bucket holding the CSV objects.' },
    region: { type: 'string', minLength: 1, description: `Region (default ${DEFAULT_REGION}).` },
    aws_access_key_id: { type: 'string', minLength: 1, secret: true },
    aws_secret_access_key: { type: 'string', minLength: 1, secret: true },
    aws_session_token: { type: 'string', minLength: 1, secret: true },
    start_date: {
      type: 'string',
      description: 'ISO 8601; objects last modified before it are skipped.',
    },
    tables: {
      description: 'A list of tables, or a JSON string holding that list (legacy configs).',
      // `items` applies to the list form only; the string form is checked by `parseTables`.
      type: ['array', 'string'],
      items: TABLE_SCHEMA,
    },
    sample_size: {
      type: 'integer',
      minimum: 1,
      description: `Rows sampled per table for discovery (default ${DEFAULT_SAMPLE_SIZE}).`,
    },
    unit_split: {
      type: 'string',
      pattern: '^\\s*(none|prefix:[1-9][0-9]*|hash:[1-9][0-9]*)\\s*$',
      description:
        'Units of work per table: "prefix:N" (the first N key levels after search_prefix) or "hash:N" (FNV-1a of the key modulo N); default none.',
    },
    unit: {
      type: 'string',
      minLength: 1,
      description: 'Sync only this unit (an id --list-units prints); the same as --unit.',
    },
  },
};

/** Config key -> environment variables tried in order when the key is absent. */
export const CONFIG_ENV: Record<string, string[]> = {
  endpoint_url: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
  aws_access_key_id: ['AWS_ACCESS_KEY_ID'],
  aws_secret_access_key: ['AWS_SECRET_ACCESS_KEY'],
  aws_session_token: ['AWS_SESSION_TOKEN'],
  region: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
};

/** `["a","b"]` or `"a, b"` -> `["a","b"]`; empty entries are dropped. */
export function parseNameList(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
  return items.map((item) => item.trim()).filter((item) => item !== '');
}

const ISO_INSTANT =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Parses an ISO 8601 date or date-time. A value without an offset is taken as UTC, so the
 * machine's time zone never moves a bookmark. Returns undefined when it is not ISO 8601.
 */
export function parseInstant(text: string): Date | undefined {
  const trimmed = text.trim();
  if (!ISO_INSTANT.test(trimmed)) return undefined;
  let normalised = trimmed.replace(' ', 'T');
  if (!normalised.includes('T')) normalised += 'T00:00:00';
  if (!/(?:Z|[+-]\d{2}:?\d{2})$/i.test(normalised)) normalised += 'Z';
  const date = new Date(normalised);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNameList(value: unknown): boolean {
  return (
    value === undefined ||
    typeof value === 'string' ||
    (Array.isArray(value) && value.every((item) => typeof item === 'string'))
  );
}

/**
 * Checks and normalises the `tables` key, given as a list or as a JSON string holding the list
 * (how the legacy tap's configs carry it). Every problem is collected, then thrown at once.
 */
export function parseTables(raw: unknown): TableSpec[] {
  let list = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch (error) {
      throw new ConfigError(`"tables" is a string but not JSON: ${(error as Error).message}`, {
        column: 'tables',
        hint: 'Give "tables" as a list, or a string holding a JSON list',
        cause: error,
      });
    }
  }
  if (!Array.isArray(list)) {
    throw new ConfigError('"tables" must be a list of tables (or a JSON string holding one)', {
      column: 'tables',
    });
  }
  const problems: string[] = [];
  const tables: TableSpec[] = [];
  const seen = new Set<string>();
  list.forEach((item: unknown, index) => {
    const at = `tables[${index}]`;
    if (!isPlainObject(item)) {
      problems.push(`${at} must be an object`);
      return;
    }
    const name = item.table_name;
    const label = typeof name === 'string' && name !== '' ? `table "${name}"` : at;
    const before = problems.length;
    for (const key of Object.keys(item)) {
      if (!TABLE_KEYS.includes(key)) problems.push(`${label}: unknown key ${JSON.stringify(key)}`);
    }
    if (typeof name !== 'string' || name.trim() === '') {
      problems.push(`${at}.table_name is required (a non-empty string)`);
    } else if (seen.has(name)) {
      problems.push(`${label}: table_name is used twice`);
    } else {
      seen.add(name);
    }
    let pattern: RegExp | undefined;
    if (typeof item.search_pattern !== 'string') {
      problems.push(`${label}: search_pattern is required (a regular expression)`);
    } else {
      try {
        pattern = new RegExp(item.search_pattern);
      } catch (error) {
        problems.push(`${label}: search_pattern is not a valid regular expression: ${(error as Error).message}`);
      }
    }
    if (item.search_prefix !== undefined && item.search_prefix !== null && typeof item.search_prefix !== 'string') {
      problems.push(`${label}: search_prefix must be a string`);
    }
    if (!isNameList(item.key_properties)) {
      problems.push(`${label}: key_properties must be a list of names or a comma-separated string`);
    }
    if (!isNameList(item.date_overrides)) {
      problems.push(`${label}: date_overrides must be a list of names or a comma-separated string`);
    }
    const delimiter = item.delimiter ?? ',';
    if (typeof delimiter !== 'string' || delimiter.length !== 1 || delimiter === '"' || /[\r\n]/.test(delimiter)) {
      problems.push(`${label}: delimiter must be a single character other than a quote or newline`);
    }
    if (problems.length > before || pattern === undefined) return;
    tables.push(
      Object.freeze({
        tableName: name as string,
        searchPrefix: typeof item.search_prefix === 'string' ? item.search_prefix : '',
        searchPattern: pattern,
        keyProperties: Object.freeze(parseNameList(item.key_properties)),
        dateOverrides: Object.freeze(parseNameList(item.date_overrides)),
        delimiter: delimiter as string,
      }),
    );
  });
  if (problems.length > 0) {
    throw new ConfigError(`invalid "tables": ${problems.join('; ')}`, { column: 'tables', problems });
  }
  if (tables.length === 0) {
    throw new ConfigError('"tables" is empty: configure at least one table', { column: 'tables' });
  }
  return tables;
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Turns the validated raw config into the typed, frozen config the tap runs on. */
export function normalizeConfig(raw: Record<string, unknown>): TapMinioCsvConfig {
  const problems: string[] = [];
  let startDate: Date | undefined;
  if (raw.start_date !== undefined && raw.start_date !== null && raw.start_date !== '') {
    startDate = typeof raw.start_date === 'string' ? parseInstant(raw.start_date) : undefined;
    if (!startDate) problems.push('start_date must be an ISO 8601 date or date-time');
  }
  let tables: TableSpec[] = [];
  try {
    tables = parseTables(raw.tables);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    problems.push(...(error.problems.length > 0 ? error.problems : [error.message]));
  }
  const sampleSize = raw.sample_size ?? DEFAULT_SAMPLE_SIZE;
  if (typeof sampleSize !== 'number' || !Number.isInteger(sampleSize) || sampleSize < 1) {
    problems.push('sample_size must be a positive integer');
  }
  if (typeof raw.bucket !== 'string' || raw.bucket === '') problems.push('bucket is required');
  let unitSplit: UnitSplit = NO_SPLIT;
  if (raw.unit_split !== undefined && raw.unit_split !== null) {
    const parsed = typeof raw.unit_split === 'string' ? parseSplit(raw.unit_split) : undefined;
    if (parsed === undefined) problems.push('unit_split must be "prefix:N" or "hash:N" with N ≥ 1');
    else unitSplit = parsed;
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid config: ${problems.join('; ')}`, { problems });
  }
  // After the tables are known good: the unit names one of them.
  const unit = typeof raw.unit === 'string' && raw.unit !== '' ? findUnit(raw.unit, tables, unitSplit) : undefined;
  return Object.freeze({
    bucket: raw.bucket as string,
    endpointUrl: optionalString(raw.endpoint_url),
    region: optionalString(raw.region) ?? DEFAULT_REGION,
    accessKeyId: optionalString(raw.aws_access_key_id),
    secretAccessKey: optionalString(raw.aws_secret_access_key),
    sessionToken: optionalString(raw.aws_session_token),
    startDate,
    sampleSize: sampleSize as number,
    tables: Object.freeze(tables),
    unitSplit,
    unit,
  });
}
