import { ConfigError, type JsonSchema } from '@singer-ts/singer';

import { checkKeyTemplate, DEFAULT_KEY_TEMPLATE } from './key-template';
import { parseRules, type RuleSet, STEP_NAMES } from './rules';

export type Compression = 'none' | 'gzip';

export interface ProcessorConfig {
  readonly bucket: string;
  /** A MinIO or other S3-compatible endpoint; absent means AWS itself. */
  readonly endpointUrl: string | undefined;
  readonly region: string;
  readonly accessKeyId: string | undefined;
  readonly secretAccessKey: string | undefined;
  readonly sessionToken: string | undefined;
  readonly createBucket: boolean;
  readonly keyTemplate: string;
  readonly compression: Compression;
  readonly rules: RuleSet;
  readonly hashKey: string | undefined;
}

export const DEFAULT_REGION = 'us-east-1';

/** The config's JSON Schema, as `--about` shows it. */
export const CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  required: ['bucket'],
  properties: {
    bucket: { type: 'string', minLength: 1, description: 'The bucket the CSV objects are written to.' },
    endpoint_url: {
      type: 'string',
      minLength: 1,
      description: 'S3-compatible endpoint (MinIO); path-style addressing is used when set.',
    },
    region: { type: 'string', minLength: 1, description: `Region (default ${DEFAULT_REGION}).` },
    aws_access_key_id: {
      type: 'string',
      minLength: 1,
      secret: true,
      description: "Access key; absent (with the secret key), the AWS SDK's default chain.",
    },
    aws_secret_access_key: { type: 'string', minLength: 1, secret: true, description: 'Secret key.' },
    aws_session_token: { type: 'string', minLength: 1, secret: true, description: 'For temporary credentials.' },
    create_bucket: { type: 'boolean', description: 'Create the bucket when it is missing (default true).' },
    key_template: {
      type: 'string',
      minLength: 1,
      description: `Object key per stream; variables {stream}, {year}, {month}, {day}, {hour}, {run_id} (default ${DEFAULT_KEY_TEMPLATE}).`,
    },
    compression: {
      type: 'string',
      enum: ['none', 'gzip'],
      description: 'none (default) or gzip (the key gets ".gz").',
    },
    rules: {
      type: 'object',
      description: `Per stream, per column, an ordered list of steps: ${STEP_NAMES.join(', ')}.`,
      // Steps are checked by `parseRules`, whose messages name the step and its path.
      additionalProperties: { type: 'object' },
    },
    hash_key: {
      type: 'string',
      minLength: 1,
      secret: true,
      description: 'The HMAC key of the "hash" step.',
    },
  },
};

/** Config key → environment variables tried in order when the key is absent. */
export const CONFIG_ENV: Record<string, string[]> = {
  endpoint_url: ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
  aws_access_key_id: ['AWS_ACCESS_KEY_ID'],
  aws_secret_access_key: ['AWS_SECRET_ACCESS_KEY'],
  aws_session_token: ['AWS_SESSION_TOKEN'],
  region: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
  hash_key: ['PROCESSOR_HASH_KEY'],
};

const optionalString = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

/**
 * Turns the validated raw config into `ProcessorConfig`: defaults, and the checks JSON Schema
 * cannot express (step arguments, `drop` placement, a key for `hash`, template variables), all
 * reported at once.
 */
export function normalizeConfig(raw: Record<string, unknown>): ProcessorConfig {
  const hashKey = optionalString(raw.hash_key);
  const keyTemplate = optionalString(raw.key_template) ?? DEFAULT_KEY_TEMPLATE;
  const { rules, problems } = parseRules(raw.rules, { hashKey });
  problems.push(...checkKeyTemplate(keyTemplate));
  if (problems.length > 0) {
    throw new ConfigError(`invalid config: ${problems.join('; ')}`, {
      problems,
      hint: 'Fix these keys in the processor config',
    });
  }
  return {
    bucket: String(raw.bucket),
    endpointUrl: optionalString(raw.endpoint_url),
    region: optionalString(raw.region) ?? DEFAULT_REGION,
    accessKeyId: optionalString(raw.aws_access_key_id),
    secretAccessKey: optionalString(raw.aws_secret_access_key),
    sessionToken: optionalString(raw.aws_session_token),
    createBucket: raw.create_bucket !== false,
    keyTemplate,
    compression: raw.compression === 'gzip' ? 'gzip' : 'none',
    rules,
    hashKey,
  };
}
