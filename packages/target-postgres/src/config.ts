import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

import { closestName, ConfigError, type JsonSchema, type Logger } from '@singer-ts/singer';
import { parse as parseConnectionString } from 'pg-connection-string';

/** How a stream's records reach its table. */
export type LoadMethod = 'upsert' | 'append-only' | 'overwrite';

export const LOAD_METHODS: readonly LoadMethod[] = ['upsert', 'append-only', 'overwrite'];

/** TLS options as node-postgres passes them to `tls.connect`. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  /** Certificate revocation list(s) to check the server certificate against. */
  crl?: string;
  rejectUnauthorized?: boolean;
  /** Set for libpq's `verify-ca`: the certificate chain is checked, the host name is not. */
  checkServerIdentity?: () => undefined;
}

/** Where and how to connect; every field optional, node-postgres's defaults fill the rest. */
export interface ConnectionSettings {
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  ssl?: boolean | TlsOptions;
  /** Extra server settings from a connection string's `options` (`-c search_path=x`). */
  options?: string;
  application_name: string;
}

export interface TargetPostgresConfig {
  readonly connection: Readonly<ConnectionSettings>;
  /** Schema holding the tables; created if missing. */
  readonly defaultTargetSchema: string;
  /** Rows per COPY flush into PostgreSQL (not per commit: commits follow STATE). */
  readonly batchSizeRows: number;
  /** `undefined`: upsert where the stream has key properties, append-only where it has none. */
  readonly loadMethod: LoadMethod | undefined;
  readonly addRecordMetadata: boolean;
  readonly hardDelete: boolean;
  readonly sanitizeNullTextCharacters: boolean;
  readonly validateRecords: boolean;
}

export const DEFAULT_BATCH_SIZE_ROWS = 100_000;
export const DEFAULT_TARGET_SCHEMA = 'public';

const text = (description: string, extra: Record<string, unknown> = {}): JsonSchema => ({
  type: 'string',
  description,
  ...extra,
});
const portSchema = (description: string): JsonSchema => ({
  type: ['integer', 'string'],
  description,
  pattern: '^[0-9]+$',
  minimum: 1,
  maximum: 65535,
});
const sslFile = (description: string, secret = false): JsonSchema => ({
  type: 'string',
  description: `${description}: PEM text, or the path of a file holding it`,
  ...(secret ? { secret: true } : {}),
});

/**
 * Keys of other targets' configs (pipelinewise-target-postgres, MeltanoLabs target-postgres,
 * singer-target-postgres) and the Meltano SDK's built-in settings that have no equivalent
 * here. They are accepted so those configs keep working; each present one is named once in the
 * log, as a warning when its value asks for something this target does not do.
 */
interface NoEffect {
  schema: JsonSchema;
  reason: string;
  /** Whether the value asks for behaviour this target lacks (then the note is a warning). */
  matters?: (value: unknown) => boolean;
}

const isTrue = (value: unknown): boolean => value === true;
const isFalse = (value: unknown): boolean => value === false;
const isNonEmpty = (value: unknown): boolean =>
  value !== null && value !== undefined && (typeof value !== 'object' || Object.keys(value).length > 0);

const NO_EFFECT: Record<string, NoEffect> = {
  // Meltano SDK built-ins
  stream_maps: { schema: { type: ['object', 'null'] }, reason: 'stream maps are not applied; map in the tap or with a mapper plugin', matters: isNonEmpty },
  stream_map_config: { schema: { type: ['object', 'null'] }, reason: 'stream maps are not applied' },
  faker_config: { schema: { type: ['object', 'null'] }, reason: 'stream maps are not applied' },
  flattening_enabled: { schema: { type: ['boolean', 'null'] }, reason: 'nested objects are stored as jsonb, never flattened', matters: isTrue },
  flattening_max_depth: { schema: { type: ['integer', 'null'] }, reason: 'nested objects are stored as jsonb, never flattened' },
  flattening_max_key_length: { schema: { type: ['integer', 'null'] }, reason: 'nested objects are stored as jsonb, never flattened' },
  flattening_separator: { schema: { type: ['string', 'null'] }, reason: 'nested objects are stored as jsonb, never flattened' },
  batch_config: { schema: { type: ['object', 'null'] }, reason: 'BATCH messages are not read' },
  process_activate_version_messages: {
    schema: { type: 'boolean' },
    reason: 'ACTIVATE_VERSION messages are always processed',
    matters: isFalse,
  },
  // MeltanoLabs target-postgres
  activate_version: { schema: { type: 'boolean' }, reason: 'ACTIVATE_VERSION messages are always processed', matters: isFalse },
  interpret_content_encoding: {
    schema: { type: 'boolean' },
    reason: 'strings with a contentEncoding are stored as text',
    matters: isTrue,
  },
  // pipelinewise-target-postgres
  flush_all_streams: { schema: { type: 'boolean' }, reason: 'every stream is flushed at each STATE anyway' },
  parallelism: { schema: { type: 'integer' }, reason: 'one connection loads every stream' },
  max_parallelism: { schema: { type: 'integer' }, reason: 'one connection loads every stream' },
  parallelism_max: { schema: { type: 'integer' }, reason: 'one connection loads every stream' },
  temp_dir: { schema: { type: 'string' }, reason: 'records stream to PostgreSQL; nothing is written to disk' },
  primary_key_required: {
    schema: { type: 'boolean' },
    reason: 'streams without key properties are loaded (append-only), not refused',
  },
  data_flattening_max_level: {
    schema: { type: 'integer' },
    reason: 'nested objects are stored as jsonb, never flattened',
    matters: (value) => typeof value === 'number' && value > 0,
  },
  schema_mapping: {
    schema: { type: ['object', 'null'] },
    reason: 'every stream loads into default_target_schema, into a table named after the whole stream name',
    matters: isNonEmpty,
  },
  default_target_schema_select_permission: {
    schema: { type: ['string', 'array', 'object', 'null'] },
    reason: 'no privileges are granted; grant them yourself',
    matters: isNonEmpty,
  },
  default_target_schema_select_permissions: {
    schema: { type: ['string', 'array', 'object', 'null'] },
    reason: 'no privileges are granted; grant them yourself',
    matters: isNonEmpty,
  },
  // singer-target-postgres (datamill-co)
  invalid_records_detect: { schema: { type: ['boolean', 'null'] }, reason: 'an invalid record always stops the run', matters: isFalse },
  invalid_records_threshold: {
    schema: { type: ['integer', 'null'] },
    reason: 'an invalid record always stops the run',
    matters: (value) => typeof value === 'number' && value > 0,
  },
  disable_collection: { schema: { type: ['boolean', 'string', 'null'] }, reason: 'nothing is collected' },
  logging_level: { schema: { type: ['string', 'null'] }, reason: 'use --log-level or LOG_LEVEL' },
  persist_empty_tables: { schema: { type: ['boolean', 'null'] }, reason: 'a table is always created when its SCHEMA arrives' },
  state_support: { schema: { type: ['boolean', 'null'] }, reason: 'state values are always printed after their records commit', matters: isFalse },
  max_buffer_size: { schema: { type: ['integer', 'null'] }, reason: 'memory is bounded by batch_size_rows' },
  batch_detection_threshold: { schema: { type: ['integer', 'null'] }, reason: 'memory is bounded by batch_size_rows' },
  add_upsert_indexes: { schema: { type: ['boolean', 'null'] }, reason: 'upsert keeps a unique key on the key properties anyway' },
  before_run_sql: { schema: { type: ['string', 'null'] }, reason: 'no SQL is run besides the load', matters: isNonEmpty },
  after_run_sql: { schema: { type: ['string', 'null'] }, reason: 'no SQL is run besides the load', matters: isNonEmpty },
};

/** The config's JSON Schema: what `--about` shows and what ajv checks before anything runs. */
export const CONFIG_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    host: text('PostgreSQL host name or address (else PGHOST; default localhost)'),
    port: portSchema('PostgreSQL port (else PGPORT; default 5432)'),
    user: text('User name (else PGUSER)'),
    password: text('Password (else PGPASSWORD)', { secret: true }),
    database: text('Database name (else PGDATABASE)'),
    connection_string: text(
      'postgres://user:password@host:port/database?sslmode=...: alternative to host/port/user/password/database; its parts win, the separate keys fill what it leaves out',
      { secret: true },
    ),
    postgres_host: text('Alias of host (singer-target-postgres)'),
    postgres_port: portSchema('Alias of port (singer-target-postgres)'),
    postgres_database: text('Alias of database (singer-target-postgres)'),
    postgres_username: text('Alias of user (singer-target-postgres)'),
    postgres_password: text('Alias of password (singer-target-postgres)', { secret: true }),
    postgres_schema: text('Alias of default_target_schema (singer-target-postgres)'),
    postgres_sslmode: {
      type: 'string',
      enum: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
      description: 'libpq sslmode (singer-target-postgres); allow/prefer connect without TLS',
    },
    postgres_sslrootcert: text('CA certificate file (singer-target-postgres)'),
    postgres_sslcert: text('Client certificate file (singer-target-postgres)'),
    postgres_sslkey: text('Client key file (singer-target-postgres)'),
    postgres_sslcrl: text('Certificate revocation list file (singer-target-postgres)'),
    dbname: text('Alias of database (pipelinewise-target-postgres)'),
    sqlalchemy_url: text(
      'postgresql://… or postgresql+psycopg2://… (MeltanoLabs target-postgres): read as connection_string, whose rules it follows',
      { secret: true },
    ),
    'dialect+driver': text('MeltanoLabs target-postgres: no effect (this target speaks PostgreSQL\'s own protocol)'),
    ssl_enable: { type: 'boolean', description: 'Use TLS as ssl_mode says (MeltanoLabs target-postgres; default false)' },
    ssl_mode: {
      type: 'string',
      enum: ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'],
      description: 'libpq sslmode when ssl_enable is true (MeltanoLabs target-postgres; default verify-full)',
    },
    ssl_certificate_authority: sslFile('CA certificate to verify the server with, when ssl_enable is true (MeltanoLabs target-postgres)'),
    ssl_client_certificate_enable: {
      type: 'boolean',
      description: 'Present ssl_client_certificate and ssl_client_private_key to the server (MeltanoLabs target-postgres)',
    },
    ssl_client_certificate: sslFile('Client certificate, when ssl_client_certificate_enable is true (MeltanoLabs target-postgres)'),
    ssl_client_private_key: sslFile('Client private key, when ssl_client_certificate_enable is true (MeltanoLabs target-postgres)', true),
    ssl_storage_directory: text('MeltanoLabs target-postgres: no effect (certificates given as text are kept in memory)'),
    ssh_tunnel: {
      type: 'object',
      description: 'MeltanoLabs target-postgres: not supported; open the tunnel yourself and point host and port at it',
      properties: {
        enable: { type: 'boolean' },
        host: { type: 'string' },
        username: { type: 'string' },
        port: { type: 'integer' },
        private_key: { type: 'string', secret: true },
        private_key_password: { type: ['string', 'null'], secret: true },
      },
    },
    ssl: {
      type: ['boolean', 'object', 'string'],
      description:
        'false, true (TLS with the server certificate verified), or TLS options; the strings "true"/"false" of pipelinewise-target-postgres mean libpq sslmode require/disable',
      pattern: '^([Tt]rue|TRUE|[Ff]alse|FALSE)$',
      properties: {
        ca: sslFile('CA certificate(s) to trust'),
        cert: sslFile('Client certificate'),
        key: sslFile('Client private key', true),
        crl: sslFile('Certificate revocation list(s)'),
        rejectUnauthorized: { type: 'boolean', description: 'Verify the server certificate (default true)' },
      },
      additionalProperties: false,
    },
    default_target_schema: text('Schema for the tables (default public); created if missing'),
    batch_size_rows: {
      type: 'integer',
      minimum: 1,
      description: `Rows sent to PostgreSQL per flush, bounding memory (default ${DEFAULT_BATCH_SIZE_ROWS}); commits follow STATE`,
    },
    max_batch_rows: { type: 'integer', minimum: 1, description: 'Alias of batch_size_rows (singer-target-postgres)' },
    batch_size: { type: 'integer', minimum: 1, description: 'Alias of batch_size_rows (older pipelinewise-target-postgres)' },
    load_method: {
      type: 'string',
      enum: [...LOAD_METHODS],
      description: 'upsert (default where the stream has key properties), append-only (default otherwise), overwrite',
    },
    add_record_metadata: {
      type: 'boolean',
      description: 'Add _sdc_extracted_at, _sdc_received_at, _sdc_batched_at, _sdc_deleted_at, _sdc_sequence, _sdc_table_version columns',
    },
    add_metadata_columns: { type: 'boolean', description: 'Alias of add_record_metadata (pipelinewise-target-postgres)' },
    hard_delete: {
      type: 'boolean',
      description: 'Delete rows whose record carries _sdc_deleted_at, and rows of older versions at ACTIVATE_VERSION (default false: mark them)',
    },
    sanitize_null_text_characters: {
      type: 'boolean',
      description: 'Remove NUL characters from text instead of failing (default false)',
    },
    validate_records: {
      type: 'boolean',
      description: 'Validate each record against its SCHEMA (default true); false loads values as given and PostgreSQL decides',
    },
    ...Object.fromEntries(
      Object.entries(NO_EFFECT).map(([key, { schema, reason }]) => [key, { ...schema, description: `No effect: ${reason}` }]),
    ),
  },
  // Other targets' configs and Meltano carry keys of their own: each unknown one gets a warning.
  additionalProperties: true,
};

/** Config key → environment variables tried when the key is absent (libpq's names). */
export const CONFIG_ENV: Record<string, string[]> = {
  host: ['PGHOST'],
  port: ['PGPORT'],
  user: ['PGUSER'],
  password: ['PGPASSWORD'],
  database: ['PGDATABASE'],
};

const ALIASES: ReadonlyArray<[alias: string, key: string]> = [
  ['postgres_host', 'host'],
  ['postgres_port', 'port'],
  ['postgres_database', 'database'],
  ['postgres_username', 'user'],
  ['postgres_password', 'password'],
  ['postgres_schema', 'default_target_schema'],
  ['max_batch_rows', 'batch_size_rows'],
  ['batch_size', 'batch_size_rows'],
  ['dbname', 'database'],
  ['add_metadata_columns', 'add_record_metadata'],
  ['sqlalchemy_url', 'connection_string'],
];

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/** Reads PEM text given inline or as a file path. */
function pem(value: unknown, key: string): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (value.includes('-----BEGIN')) return value;
  const path = value === '~' || value.startsWith('~/') ? join(homedir(), value.slice(1)) : value;
  try {
    return readFileSync(path, 'utf8');
  } catch (cause) {
    throw new ConfigError(`key ${JSON.stringify(key)} is neither PEM text nor a readable file`, { cause, file: value });
  }
}

/** libpq's sslmode as node-postgres TLS options. */
function sslFromMode(
  mode: string,
  files: { ca?: string; cert?: string; key?: string; crl?: string },
  key: string,
): boolean | TlsOptions {
  switch (mode) {
    case 'disable':
    case 'allow':
    case 'prefer':
      return false;
    case 'require':
      return { ...files, rejectUnauthorized: false };
    case 'verify-ca':
      return { ...files, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case 'verify-full':
      return { ...files, rejectUnauthorized: true };
    default:
      throw new ConfigError(`key ${JSON.stringify(key)} must be one of disable, allow, prefer, require, verify-ca, verify-full`);
  }
}

function portNumber(value: unknown, key: string): number | undefined {
  if (!present(value)) return undefined;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`key ${JSON.stringify(key)} must be a port number`, { value });
  }
  return port;
}

/**
 * Resolves aliases: a `postgres_*` key stands in for its plain key. The plain key may have
 * been filled from the environment (PGHOST, ...), in which case the alias from the file wins;
 * both in the file with different values is ambiguous and an error.
 */
function resolveAliases(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out = { ...raw };
  const conflicts: string[] = [];
  for (const [alias, key] of ALIASES) {
    if (!present(raw[alias])) continue;
    const plain = raw[key];
    const fromEnv = (CONFIG_ENV[key] ?? []).some((name) => env[name] !== undefined && env[name] === String(plain));
    if (present(plain) && !fromEnv && String(plain) !== String(raw[alias])) {
      conflicts.push(`keys ${JSON.stringify(key)} and ${JSON.stringify(alias)} disagree; keep one`);
    }
    out[key] = raw[alias];
  }
  if (conflicts.length > 0) throw new ConfigError(`invalid config: ${conflicts.join('; ')}`, { problems: conflicts });
  return out;
}

/** A SQLAlchemy URL's `postgresql+driver://` scheme as libpq's `postgresql://`; `undefined` for another database. */
function sqlalchemyToLibpq(value: string): string | undefined {
  const match = /^(postgres(?:ql)?)(?:\+[A-Za-z0-9_]+)?:\/\//.exec(value);
  return match ? `postgresql://${value.slice(match[0].length)}` : undefined;
}

type SslFiles = { ca?: string; cert?: string; key?: string; crl?: string };

/** The TLS settings of the MeltanoLabs keys: `ssl_enable`, `ssl_mode`, certificates. */
function meltanoLabsSsl(raw: Record<string, unknown>, files: SslFiles): string | undefined {
  if (raw.ssl_enable !== true) return undefined;
  const ca = pem(raw.ssl_certificate_authority, 'ssl_certificate_authority');
  if (ca !== undefined) files.ca = ca;
  if (raw.ssl_client_certificate_enable === true) {
    const cert = pem(raw.ssl_client_certificate, 'ssl_client_certificate');
    const key = pem(raw.ssl_client_private_key, 'ssl_client_private_key');
    if (cert !== undefined) files.cert = cert;
    if (key !== undefined) files.key = key;
  }
  return present(raw.ssl_mode) ? String(raw.ssl_mode) : 'verify-full';
}

function connectionFrom(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, urlKey: string): ConnectionSettings {
  const settings: ConnectionSettings = { application_name: 'target-postgres' };
  if (present(raw.host)) settings.host = String(raw.host);
  settings.port = portNumber(raw.port, 'port');
  if (present(raw.user)) settings.user = String(raw.user);
  if (present(raw.password)) settings.password = String(raw.password);
  if (present(raw.database)) settings.database = String(raw.database);

  let sslMode: string | undefined;
  const sslFiles: SslFiles = {
    ca: pem(raw.postgres_sslrootcert, 'postgres_sslrootcert'),
    cert: pem(raw.postgres_sslcert, 'postgres_sslcert'),
    key: pem(raw.postgres_sslkey, 'postgres_sslkey'),
    crl: pem(raw.postgres_sslcrl, 'postgres_sslcrl'),
  };
  if (present(raw.postgres_sslmode)) sslMode = String(raw.postgres_sslmode);
  sslMode = meltanoLabsSsl(raw, sslFiles) ?? sslMode;

  if (present(raw.connection_string)) {
    const key = JSON.stringify(urlKey);
    let url: URL;
    try {
      url = new URL(String(raw.connection_string));
    } catch {
      // The string itself may hold a password: never echo it.
      throw new ConfigError(`key ${key} is not a URL like postgresql://user:password@host:5432/database`);
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      throw new ConfigError(`key ${key} must start with postgres:// or postgresql://`);
    }
    // NOTE: TLS parameters are taken out and read with libpq's meaning; pg-connection-string 2.x
    // treats require/verify-ca as verify-full and warns on every connect.
    for (const name of ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslcrl', 'ssl', 'uselibpqcompat']) {
      const value = url.searchParams.get(name);
      if (value === null) continue;
      url.searchParams.delete(name);
      if (name === 'sslmode') sslMode = value;
      else if (name === 'ssl') sslMode = value === 'false' || value === '0' ? 'disable' : 'verify-full';
      else if (name === 'sslrootcert') sslFiles.ca = pem(value, `${urlKey} sslrootcert`);
      else if (name === 'sslcert') sslFiles.cert = pem(value, `${urlKey} sslcert`);
      else if (name === 'sslkey') sslFiles.key = pem(value, `${urlKey} sslkey`);
      else if (name === 'sslcrl') sslFiles.crl = pem(value, `${urlKey} sslcrl`);
    }
    const parts = parseConnectionString(url.toString());
    // Its parts win; the separate keys (or PG* variables) fill what it leaves out.
    if (parts.host) settings.host = parts.host;
    if (parts.port) settings.port = portNumber(parts.port, `${urlKey} port`);
    if (parts.user) settings.user = parts.user;
    if (parts.password) settings.password = parts.password;
    if (parts.database) settings.database = parts.database;
    if (parts.options) settings.options = parts.options;
    if (parts.application_name) settings.application_name = parts.application_name;
  }

  const ssl = raw.ssl;
  if (typeof ssl === 'string') {
    // pipelinewise-target-postgres: "ssl": "true" adds sslmode=require to its libpq connection.
    settings.ssl = sslFromMode(/^true$/i.test(ssl) ? 'require' : 'disable', {}, 'ssl');
  } else if (typeof ssl === 'boolean') {
    settings.ssl = ssl;
  } else if (ssl !== undefined && ssl !== null) {
    const options = ssl as Record<string, unknown>;
    const tls: TlsOptions = {};
    const ca = pem(options.ca, 'ssl.ca');
    const cert = pem(options.cert, 'ssl.cert');
    const key = pem(options.key, 'ssl.key');
    const crl = pem(options.crl, 'ssl.crl');
    if (ca !== undefined) tls.ca = ca;
    if (cert !== undefined) tls.cert = cert;
    if (key !== undefined) tls.key = key;
    if (crl !== undefined) tls.crl = crl;
    if (typeof options.rejectUnauthorized === 'boolean') tls.rejectUnauthorized = options.rejectUnauthorized;
    settings.ssl = tls;
  } else if (sslMode !== undefined) {
    const files = Object.fromEntries(Object.entries(sslFiles).filter(([, v]) => v !== undefined));
    settings.ssl = sslFromMode(sslMode, files, 'sslmode');
  } else if (present(env.PGSSLMODE)) {
    settings.ssl = sslFromMode(String(env.PGSSLMODE), {}, 'PGSSLMODE');
  }
  return settings;
}

/** Every key this target reads or knowingly accepts. */
const KNOWN_KEYS: ReadonlySet<string> = new Set(Object.keys(CONFIG_SCHEMA.properties ?? {}));

/**
 * Says, once per key, what the config holds that has no effect here: keys of other targets
 * with no equivalent (a warning when their value asks for something this target does not do),
 * MeltanoLabs TLS keys that only count with `ssl_enable`, and keys nobody knows, with the
 * nearest known key. Only key names are written, never a value.
 */
function reportKeys(raw: Record<string, unknown>, logger: Logger | undefined): void {
  if (!logger) return;
  for (const [key, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const noEffect = NO_EFFECT[key];
    if (noEffect) {
      const line = `config key ${JSON.stringify(key)} has no effect in target-postgres: ${noEffect.reason}`;
      if (noEffect.matters?.(value)) logger.warn(line);
      else logger.info(line);
    } else if (!KNOWN_KEYS.has(key)) {
      const near = closestName(key, KNOWN_KEYS);
      logger.warn(
        `config key ${JSON.stringify(key)} is not a target-postgres setting${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; it is ignored`,
      );
    }
  }
  if (raw['dialect+driver'] !== undefined && !/^postgres/i.test(String(raw['dialect+driver']))) {
    logger.warn('config key "dialect+driver" names another database; target-postgres loads into PostgreSQL whatever it says');
  }
  if (raw.ssl_enable !== true) {
    for (const key of ['ssl_mode', 'ssl_certificate_authority', 'ssl_client_certificate_enable']) {
      if (raw[key] !== undefined) logger.warn(`config key ${JSON.stringify(key)} has no effect without "ssl_enable": true (as in MeltanoLabs target-postgres)`);
    }
  }
  if (raw.ssl_client_certificate_enable !== true) {
    for (const key of ['ssl_client_certificate', 'ssl_client_private_key']) {
      if (raw[key] !== undefined) logger.warn(`config key ${JSON.stringify(key)} has no effect without "ssl_client_certificate_enable": true (as in MeltanoLabs target-postgres)`);
    }
  }
  const tunnel = raw.ssh_tunnel as Record<string, unknown> | undefined;
  if (tunnel?.enable === true) {
    logger.warn('config key "ssh_tunnel" is not supported: open the tunnel yourself (ssh -L) and point host and port at it');
  }
}

/**
 * After validation: aliases, defaults, the connection string and TLS files, into one typed
 * config. Throws `ConfigError` for what the schema cannot express (conflicting aliases, a
 * SQLAlchemy URL for another database). Keys without effect and unknown keys are reported
 * through `logger`, once each.
 */
export function normalizeConfig(
  raw: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
): TargetPostgresConfig {
  reportKeys(raw, logger);
  const input = { ...raw };
  if (present(input.sqlalchemy_url)) {
    const url = sqlalchemyToLibpq(String(input.sqlalchemy_url));
    if (url === undefined) {
      throw new ConfigError('key "sqlalchemy_url" must be a PostgreSQL URL: postgresql://… or postgresql+driver://…');
    }
    input.sqlalchemy_url = url;
  }
  const urlKey = present(raw.sqlalchemy_url) && !present(raw.connection_string) ? 'sqlalchemy_url' : 'connection_string';
  const resolved = resolveAliases(input, env);
  const loadMethod = resolved.load_method as LoadMethod | undefined;
  return {
    connection: connectionFrom(resolved, env, urlKey),
    defaultTargetSchema: present(resolved.default_target_schema)
      ? String(resolved.default_target_schema)
      : DEFAULT_TARGET_SCHEMA,
    batchSizeRows: typeof resolved.batch_size_rows === 'number' ? resolved.batch_size_rows : DEFAULT_BATCH_SIZE_ROWS,
    loadMethod: loadMethod ?? undefined,
    addRecordMetadata: resolved.add_record_metadata === true,
    hardDelete: resolved.hard_delete === true,
    sanitizeNullTextCharacters: resolved.sanitize_null_text_characters === true,
    validateRecords: resolved.validate_records !== false,
  };
}
