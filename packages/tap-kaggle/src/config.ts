import { ConfigError, type JsonSchema } from '@singer-ts/singer';

import { type ApiFlavor, type DatasetRef,DEFAULT_BASE_URLS } from './kaggle-client';

/** The tap's config, normalised: what `TapKaggle` works with. */
export interface TapKaggleConfig {
  readonly dataset: DatasetRef & { readonly ref: string };
  /** Names or globs of the files to emit; undefined: every CSV. */
  readonly files: readonly string[] | undefined;
  readonly streamNames: Readonly<Record<string, string>>;
  readonly username: string | undefined;
  readonly key: string | undefined;
  readonly apiToken: string | undefined;
  readonly apiFlavor: ApiFlavor;
  readonly apiBaseUrl: string;
  readonly datasetVersion: number | undefined;
  readonly archivePath: string | undefined;
  readonly cacheDir: string | undefined;
  readonly sampleSize: number;
  readonly delimiter: string;
  /** Stream → key properties written in the catalog. */
  readonly keyProperties: Readonly<Record<string, readonly string[]>>;
  readonly maxRetries: number;
  /** Rows between resumable STATE messages inside a file; 0: only at the end of each file. */
  readonly stateIntervalRows: number;
  /** The one file to emit (`unit`, or `--unit`): one of the selected files; undefined: all of them. */
  readonly unit: string | undefined;
}

const DATASET_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*(/versions/[1-9][0-9]*)?$';

/** The config's JSON Schema (draft-07), validated by the SDK before anything runs. */
export const configSchema: JsonSchema = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  additionalProperties: false,
  required: ['dataset'],
  properties: {
    dataset: {
      type: 'string',
      pattern: DATASET_PATTERN,
      description: 'The Kaggle dataset as owner/slug (e.g. olistbr/brazilian-ecommerce); owner/slug/versions/N pins a version',
    },
    files: {
      type: ['array', 'string'],
      items: { type: 'string', minLength: 1 },
      description: 'File names or globs to emit (a list, or a JSON/comma-separated string); default every CSV',
    },
    stream_names: {
      type: ['object', 'string'],
      additionalProperties: { type: 'string', minLength: 1 },
      description: 'File name → stream name (default: the file name without .csv)',
    },
    username: { type: 'string', description: 'Kaggle user name for HTTP Basic (else KAGGLE_USERNAME, else kaggle.json)' },
    key: { type: 'string', secret: true, description: 'Kaggle API key for HTTP Basic (else KAGGLE_KEY, else kaggle.json)' },
    api_token: {
      type: 'string',
      secret: true,
      description: 'Kaggle API token (Bearer); else KAGGLE_API_TOKEN (the token or a file holding it), else ~/.kaggle/access_token',
    },
    api_base_url: { type: 'string', format: 'uri', description: 'The API base URL (default per api_flavor)' },
    api_flavor: {
      type: 'string',
      enum: ['rpc', 'rest'],
      default: 'rpc',
      description: 'rpc: POST {base}/datasets.DatasetApiService/… (current CLI); rest: GET {base}/datasets/download/… (older clients)',
    },
    dataset_version: {
      type: ['integer', 'string'],
      pattern: '^[1-9][0-9]*$',
      minimum: 1,
      description: 'Download this version instead of the current one',
    },
    archive_path: { type: 'string', minLength: 1, description: 'Read this downloaded zip (or folder of CSVs) instead of the API' },
    cache_dir: { type: 'string', minLength: 1, description: 'Keep downloads here and reuse them while the dataset version is current' },
    sample_size: { type: 'integer', minimum: 1, default: 1000, description: 'Rows sampled per file by discovery' },
    delimiter: { type: 'string', minLength: 1, maxLength: 1, default: ',', description: 'CSV field delimiter' },
    key_properties: {
      type: 'object',
      additionalProperties: { type: 'array', items: { type: 'string' } },
      description: 'Stream → key property names, written into the discovered catalog',
    },
    max_retries: { type: 'integer', minimum: 0, default: 5, description: 'Retries of a request answered 429/5xx or cut off' },
    state_interval_rows: {
      type: 'integer',
      minimum: 0,
      default: 100000,
      description: 'Rows between resumable STATE messages within a file (0: only after each file)',
    },
    unit: {
      type: 'string',
      minLength: 1,
      description: 'Emit only this file (a unit --list-units prints; the same as --unit); its state keeps only its bookmark',
    },
  },
};

/** Turns a validated raw config into `TapKaggleConfig`; throws `ConfigError` for what the schema can't say. */
export function normalizeConfig(raw: Record<string, unknown>): TapKaggleConfig {
  const problems: string[] = [];
  const datasetText = String(raw.dataset);
  const [owner = '', slug = '', , versionText] = datasetText.split('/');
  const files = parseFiles(raw.files, problems);
  const streamNames = parseStreamNames(raw.stream_names, problems);
  const flavor = (raw.api_flavor as ApiFlavor | undefined) ?? 'rpc';
  let datasetVersion = raw.dataset_version === undefined ? undefined : Number(raw.dataset_version);
  if (versionText !== undefined) {
    const fromRef = Number(versionText);
    if (datasetVersion !== undefined && datasetVersion !== fromRef) {
      problems.push(`"dataset" pins version ${fromRef} but "dataset_version" says ${datasetVersion}`);
    }
    datasetVersion = fromRef;
  }
  const username = optionalString(raw.username);
  const key = optionalString(raw.key);
  if ((username === undefined) !== (key === undefined)) {
    problems.push(`"${username === undefined ? 'key' : 'username'}" is set without "${username === undefined ? 'username' : 'key'}": Basic credentials need both`);
  }
  const streams = Object.values(streamNames);
  const duplicates = streams.filter((name, i) => streams.indexOf(name) !== i);
  if (duplicates.length > 0) problems.push(`"stream_names" gives several files the stream name ${JSON.stringify(duplicates[0])}`);
  if (problems.length > 0) {
    throw new ConfigError(`invalid config: ${problems.join('; ')}`, { problems });
  }
  return {
    dataset: { owner, slug, ref: `${owner}/${slug}` },
    files,
    streamNames,
    username,
    key,
    apiToken: optionalString(raw.api_token),
    apiFlavor: flavor,
    apiBaseUrl: optionalString(raw.api_base_url) ?? DEFAULT_BASE_URLS[flavor],
    datasetVersion,
    archivePath: optionalString(raw.archive_path),
    cacheDir: optionalString(raw.cache_dir),
    sampleSize: (raw.sample_size as number | undefined) ?? 1000,
    delimiter: (raw.delimiter as string | undefined) ?? ',',
    keyProperties: (raw.key_properties as Record<string, string[]> | undefined) ?? {},
    maxRetries: (raw.max_retries as number | undefined) ?? 5,
    stateIntervalRows: (raw.state_interval_rows as number | undefined) ?? 100_000,
    unit: optionalString(raw.unit),
  };
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value : undefined;
}

/** A list, or (as Meltano passes lists through the environment) a JSON list or comma-separated string. */
function parseFiles(value: unknown, problems: string[]): string[] | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(String);
  const text = String(value).trim();
  if (text.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(text);
      if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string' && item !== '')) return parsed as string[];
    } catch {
      // reported below
    }
    problems.push('"files" is a string that is not a JSON list of file names');
    return undefined;
  }
  const parts = text.split(',').map((part) => part.trim()).filter((part) => part !== '');
  if (parts.length === 0) problems.push('"files" is empty: leave it out to emit every CSV');
  return parts;
}

function parseStreamNames(value: unknown, problems: string[]): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value === 'object' && value !== null) return value as Record<string, string>;
  try {
    const parsed: unknown = JSON.parse(String(value));
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) && Object.values(parsed).every((v) => typeof v === 'string' && v !== '')) {
      return parsed as Record<string, string>;
    }
  } catch {
    // reported below
  }
  problems.push('"stream_names" must be an object (or a JSON object string) of file name → stream name');
  return {};
}
