import { readFileSync } from 'node:fs';

import { ConfigError, type JsonSchema } from '@singer-ts/singer';
import { parse as parseConnectionString } from 'pg-connection-string';

/** How a stream's records reach its table. */
export type LoadMethod = 'upsert' | 'append-only' | 'overwrite';

export const LOAD_METHODS: readonly LoadMethod[] = ['upsert', 'append-only', 'overwrite'];

/** TLS options as node-postgres passes them to `tls.connect`. */
export interface TlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
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
    ssl: {
      type: ['boolean', 'object'],
      description: 'false, true (TLS with the server certificate verified), or TLS options',
      properties: {
        ca: sslFile('CA certificate(s) to trust'),
        cert: sslFile('Client certificate'),
        key: sslFile('Client private key', true),
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
    load_method: {
      type: 'string',
      enum: [...LOAD_METHODS],
      description: 'upsert (default where the stream has key properties), append-only (default otherwise), overwrite',
    },
    add_record_metadata: {
      type: 'boolean',
      description: 'Add _sdc_extracted_at, _sdc_received_at, _sdc_batched_at, _sdc_deleted_at, _sdc_sequence, _sdc_table_version columns',
    },
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
  },
  // Meltano and singer-target-postgres configs carry keys of their own (logging_level, ...).
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
];

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

/** Reads PEM text given inline or as a file path. */
function pem(value: unknown, key: string): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (cause) {
    throw new ConfigError(`key ${JSON.stringify(key)} is neither PEM text nor a readable file`, { cause, file: value });
  }
}

/** libpq's sslmode as node-postgres TLS options. */
function sslFromMode(
  mode: string,
  files: { ca?: string; cert?: string; key?: string },
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

function connectionFrom(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): ConnectionSettings {
  const settings: ConnectionSettings = { application_name: 'target-postgres' };
  if (present(raw.host)) settings.host = String(raw.host);
  settings.port = portNumber(raw.port, 'port');
  if (present(raw.user)) settings.user = String(raw.user);
  if (present(raw.password)) settings.password = String(raw.password);
  if (present(raw.database)) settings.database = String(raw.database);

  let sslMode: string | undefined;
  const sslFiles: { ca?: string; cert?: string; key?: string } = {
    ca: pem(raw.postgres_sslrootcert, 'postgres_sslrootcert'),
    cert: pem(raw.postgres_sslcert, 'postgres_sslcert'),
    key: pem(raw.postgres_sslkey, 'postgres_sslkey'),
  };
  if (present(raw.postgres_sslmode)) sslMode = String(raw.postgres_sslmode);

  if (present(raw.connection_string)) {
    let url: URL;
    try {
      url = new URL(String(raw.connection_string));
    } catch {
      // The string itself may hold a password: never echo it.
      throw new ConfigError('key "connection_string" is not a URL like postgres://user:password@host:5432/database');
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
      throw new ConfigError('key "connection_string" must start with postgres:// or postgresql://');
    }
    // NOTE: TLS parameters are taken out and read with libpq's meaning; pg-connection-string 2.x
    // treats require/verify-ca as verify-full and warns on every connect.
    for (const name of ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl', 'uselibpqcompat']) {
      const value = url.searchParams.get(name);
      if (value === null) continue;
      url.searchParams.delete(name);
      if (name === 'sslmode') sslMode = value;
      else if (name === 'ssl') sslMode = value === 'false' || value === '0' ? 'disable' : 'verify-full';
      else if (name === 'sslrootcert') sslFiles.ca = pem(value, 'connection_string sslrootcert');
      else if (name === 'sslcert') sslFiles.cert = pem(value, 'connection_string sslcert');
      else if (name === 'sslkey') sslFiles.key = pem(value, 'connection_string sslkey');
    }
    const parts = parseConnectionString(url.toString());
    // Its parts win; the separate keys (or PG* variables) fill what it leaves out.
    if (parts.host) settings.host = parts.host;
    if (parts.port) settings.port = portNumber(parts.port, 'connection_string port');
    if (parts.user) settings.user = parts.user;
    if (parts.password) settings.password = parts.password;
    if (parts.database) settings.database = parts.database;
    if (parts.options) settings.options = parts.options;
    if (parts.application_name) settings.application_name = parts.application_name;
  }

  if (raw.ssl !== undefined && raw.ssl !== null) {
    if (typeof raw.ssl === 'boolean') {
      settings.ssl = raw.ssl;
    } else {
      const options = raw.ssl as Record<string, unknown>;
      const tls: TlsOptions = {};
      const ca = pem(options.ca, 'ssl.ca');
      const cert = pem(options.cert, 'ssl.cert');
      const key = pem(options.key, 'ssl.key');
      if (ca !== undefined) tls.ca = ca;
      if (cert !== undefined) tls.cert = cert;
      if (key !== undefined) tls.key = key;
      if (typeof options.rejectUnauthorized === 'boolean') tls.rejectUnauthorized = options.rejectUnauthorized;
      settings.ssl = tls;
    }
  } else if (sslMode !== undefined) {
    const files = Object.fromEntries(Object.entries(sslFiles).filter(([, v]) => v !== undefined));
    settings.ssl = sslFromMode(sslMode, files, 'sslmode');
  } else if (present(env.PGSSLMODE)) {
    settings.ssl = sslFromMode(String(env.PGSSLMODE), {}, 'PGSSLMODE');
  }
  return settings;
}

/**
 * After validation: aliases, defaults, the connection string and TLS files, into one typed
 * config. Throws `ConfigError` for what the schema cannot express (conflicting aliases).
 */
export function normalizeConfig(raw: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): TargetPostgresConfig {
  const resolved = resolveAliases(raw, env);
  const loadMethod = resolved.load_method as LoadMethod | undefined;
  return {
    connection: connectionFrom(resolved, env),
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
