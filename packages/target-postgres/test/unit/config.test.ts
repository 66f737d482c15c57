import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { createAjv, type JsonSchema, type Logger } from '@singer-ts/singer';

import { CONFIG_SCHEMA, DEFAULT_BATCH_SIZE_ROWS, normalizeConfig } from '../../src/config';

const CONFIG_PROPERTIES = CONFIG_SCHEMA.properties as Record<string, JsonSchema>;

function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const logger = {
    level: 'debug' as const,
    lines,
    debug: (m: string) => void lines.push(`DEBUG ${m}`),
    info: (m: string) => void lines.push(`INFO ${m}`),
    warn: (m: string) => void lines.push(`WARNING ${m}`),
    error: (m: string) => void lines.push(`ERROR ${m}`),
    child: () => logger,
    isDebug: () => true,
  };
  return logger;
}

// The original pipeline's config (singer-target-postgres 0.2.4), copied verbatim.
const ORIGINAL_CONFIG = join(__dirname, '..', 'fixtures', 'original-target-postgres.json');
const validate = createAjv().compile(CONFIG_SCHEMA);

describe('config schema', () => {
  it('accepts the original pipeline config unchanged', () => {
    const original = JSON.parse(readFileSync(ORIGINAL_CONFIG, 'utf8')) as Record<string, unknown>;
    expect(validate(original)).toBe(true);
    const config = normalizeConfig(original, {});
    expect(config.connection).toMatchObject({
      host: 'db',
      port: 5432,
      database: 'postgres',
      user: 'postgres',
      password: 'postgres',
    });
    expect(config.defaultTargetSchema).toBe('public');
  });

  it('rejects a bad load_method and a negative batch size together', () => {
    expect(validate({ load_method: 'merge', batch_size_rows: -1 })).toBe(false);
    expect(validate.errors?.map((e) => e.instancePath).sort()).toEqual(['/batch_size_rows', '/load_method']);
  });

  it('marks passwords, the connection string and the TLS key secret', () => {
    const properties = CONFIG_SCHEMA.properties as Record<string, Record<string, unknown>>;
    expect(properties.password?.secret).toBe(true);
    expect(properties.postgres_password?.secret).toBe(true);
    expect(properties.connection_string?.secret).toBe(true);
    expect((properties.ssl?.properties as Record<string, Record<string, unknown>>).key?.secret).toBe(true);
  });
});

describe('normalizeConfig', () => {
  it('applies defaults', () => {
    const config = normalizeConfig({}, {});
    expect(config).toMatchObject({
      defaultTargetSchema: 'public',
      batchSizeRows: DEFAULT_BATCH_SIZE_ROWS,
      loadMethod: undefined,
      addRecordMetadata: false,
      hardDelete: false,
      sanitizeNullTextCharacters: false,
      validateRecords: true,
    });
  });

  it('lets a postgres_* alias in the file win over a value taken from PG* variables', () => {
    const config = normalizeConfig({ host: 'from-env', postgres_host: 'from-file' }, { PGHOST: 'from-env' });
    expect(config.connection.host).toBe('from-file');
  });

  it('refuses a key and its alias with different values in the file', () => {
    expect(() => normalizeConfig({ host: 'a', postgres_host: 'b' }, {})).toThrow(/"host" and "postgres_host" disagree/);
  });

  it('maps postgres_schema and max_batch_rows', () => {
    const config = normalizeConfig({ postgres_schema: 'raw', max_batch_rows: 5 }, {});
    expect(config.defaultTargetSchema).toBe('raw');
    expect(config.batchSizeRows).toBe(5);
  });

  it('reads a connection string, whose parts win and the separate keys fill the gaps', () => {
    const config = normalizeConfig(
      { connection_string: 'postgresql://u@db.example:6543/warehouse', password: 's3cret', host: 'ignored' },
      {},
    );
    expect(config.connection).toMatchObject({
      host: 'db.example',
      port: 6543,
      user: 'u',
      password: 's3cret',
      database: 'warehouse',
    });
  });

  it('decodes a percent-encoded password in the connection string', () => {
    const config = normalizeConfig({ connection_string: 'postgres://u:p%40ss%2Fw@h/d' }, {});
    expect(config.connection.password).toBe('p@ss/w');
  });

  it('never echoes a malformed connection string', () => {
    expect(() => normalizeConfig({ connection_string: 'postgres://u:hunter2@[bad' }, {})).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') as unknown }),
    );
  });

  it('reads sslmode with libpq meaning', () => {
    expect(normalizeConfig({ connection_string: 'postgres://h/d?sslmode=require' }, {}).connection.ssl).toEqual({
      rejectUnauthorized: false,
    });
    expect(normalizeConfig({ connection_string: 'postgres://h/d?sslmode=disable' }, {}).connection.ssl).toBe(false);
    expect(normalizeConfig({ postgres_sslmode: 'verify-full' }, {}).connection.ssl).toEqual({ rejectUnauthorized: true });
    expect(normalizeConfig({}, { PGSSLMODE: 'require' }).connection.ssl).toEqual({ rejectUnauthorized: false });
  });

  it('takes ssl as a boolean or TLS options with PEM text or a file', () => {
    expect(normalizeConfig({ ssl: true }, {}).connection.ssl).toBe(true);
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(normalizeConfig({ ssl: { ca: pem, rejectUnauthorized: false } }, {}).connection.ssl).toEqual({
      ca: pem,
      rejectUnauthorized: false,
    });
    const file = join(__dirname, 'config.test.ts');
    expect((normalizeConfig({ ssl: { ca: file } }, {}).connection.ssl as { ca: string }).ca).toContain('normalizeConfig');
    expect(() => normalizeConfig({ ssl: { ca: '/no/such/file.pem' } }, {})).toThrow(/ssl.ca/);
  });
});

describe('configs of other PostgreSQL targets', () => {
  const logged = (raw: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => {
    const logger = memoryLogger();
    const config = normalizeConfig(raw, env, logger);
    return { config, lines: logger.lines };
  };

  it('accepts a pipelinewise-target-postgres config unchanged', () => {
    const raw = {
      host: 'db.example',
      port: 5432,
      user: 'loader',
      password: 'pw-secret-1',
      dbname: 'warehouse',
      default_target_schema: 'raw',
      batch_size_rows: 50000,
      add_metadata_columns: true,
      hard_delete: false,
      validate_records: true,
      flush_all_streams: false,
      parallelism: 0,
      max_parallelism: 16,
      primary_key_required: true,
      data_flattening_max_level: 0,
      temp_dir: '/tmp/pw',
    };
    expect(validate(raw)).toBe(true);
    const { config, lines } = logged(raw);
    expect(config.connection).toMatchObject({ host: 'db.example', port: 5432, user: 'loader', password: 'pw-secret-1', database: 'warehouse' });
    expect(config).toMatchObject({ defaultTargetSchema: 'raw', batchSizeRows: 50000, addRecordMetadata: true, validateRecords: true });
    // Keys without an equivalent are named once each at info level; nothing asks for more here.
    expect(lines.filter((l) => l.startsWith('WARNING'))).toEqual([]);
    expect(lines).toContain('INFO config key "flush_all_streams" has no effect in target-postgres: every stream is flushed at each STATE anyway');
    expect(lines.join('\n')).not.toContain('pw-secret-1');
  });

  it('reads pipelinewise\'s "ssl": "true" as libpq sslmode require', () => {
    expect(validate({ ssl: 'true' })).toBe(true);
    expect(validate({ ssl: 'yes' })).toBe(false);
    expect(normalizeConfig({ ssl: 'true' }, {}).connection.ssl).toEqual({ rejectUnauthorized: false });
    expect(normalizeConfig({ ssl: 'false' }, {}).connection.ssl).toBe(false);
  });

  it('warns about pipelinewise keys whose value asks for what this target does not do', () => {
    const { lines } = logged({ schema_mapping: { public: { target_schema: 'x' } }, data_flattening_max_level: 2, default_target_schema_select_permission: 'grp' });
    expect(lines.filter((l) => l.startsWith('WARNING')).map((l) => /key "([^"]+)"/.exec(l)?.[1])).toEqual([
      'schema_mapping',
      'data_flattening_max_level',
      'default_target_schema_select_permission',
    ]);
  });

  it('accepts a MeltanoLabs target-postgres config with sqlalchemy_url', () => {
    const raw = {
      sqlalchemy_url: 'postgresql+psycopg2://loader:p%40ss@db.example:6543/warehouse?sslmode=require',
      default_target_schema: 'melty',
      add_record_metadata: true,
      hard_delete: true,
      load_method: 'append-only',
      batch_size_rows: 1000,
      validate_records: false,
      activate_version: true,
      'dialect+driver': 'postgresql+psycopg2',
      stream_maps: {},
      flattening_enabled: false,
    };
    expect(validate(raw)).toBe(true);
    const { config, lines } = logged(raw);
    expect(config.connection).toMatchObject({
      host: 'db.example',
      port: 6543,
      user: 'loader',
      password: 'p@ss',
      database: 'warehouse',
      ssl: { rejectUnauthorized: false },
    });
    expect(config).toMatchObject({ defaultTargetSchema: 'melty', addRecordMetadata: true, hardDelete: true, loadMethod: 'append-only', validateRecords: false });
    expect(lines.filter((l) => l.startsWith('WARNING'))).toEqual([]);
  });

  it('reads plain postgresql:// and postgres:// in sqlalchemy_url, and refuses another database without echoing it', () => {
    expect(normalizeConfig({ sqlalchemy_url: 'postgresql://u@h/d' }, {}).connection).toMatchObject({ host: 'h', database: 'd' });
    expect(normalizeConfig({ sqlalchemy_url: 'postgres+asyncpg://u@h:1/d' }, {}).connection).toMatchObject({ host: 'h', port: 1 });
    expect(() => normalizeConfig({ sqlalchemy_url: 'mysql+pymysql://u:hunter2@h/d' }, {})).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('hunter2') as unknown }),
    );
    expect(() => normalizeConfig({ sqlalchemy_url: 'mysql+pymysql://u:hunter2@h/d' }, {})).toThrow(/"sqlalchemy_url" must be a PostgreSQL URL/);
    expect(() => normalizeConfig({ sqlalchemy_url: 'postgresql://u@h/a', connection_string: 'postgresql://u@h/b' }, {})).toThrow(
      /"connection_string" and "sqlalchemy_url" disagree/,
    );
  });

  it('reads MeltanoLabs ssl_enable, ssl_mode and certificates with libpq meaning', () => {
    const pem = (label: string) => `-----BEGIN ${label}-----\nMIIB\n-----END ${label}-----\n`;
    expect(normalizeConfig({ ssl_enable: true }, {}).connection.ssl).toEqual({ rejectUnauthorized: true });
    expect(normalizeConfig({ ssl_enable: true, ssl_mode: 'require' }, {}).connection.ssl).toEqual({ rejectUnauthorized: false });
    expect(normalizeConfig({ ssl_enable: true, ssl_mode: 'disable' }, {}).connection.ssl).toBe(false);
    const verified = normalizeConfig(
      {
        ssl_enable: true,
        ssl_mode: 'verify-ca',
        ssl_certificate_authority: pem('CERTIFICATE'),
        ssl_client_certificate_enable: true,
        ssl_client_certificate: pem('CERTIFICATE'),
        ssl_client_private_key: pem('PRIVATE KEY'),
      },
      {},
    ).connection.ssl as Record<string, unknown>;
    expect(verified).toMatchObject({ ca: pem('CERTIFICATE'), cert: pem('CERTIFICATE'), key: pem('PRIVATE KEY'), rejectUnauthorized: true });
    expect(typeof verified.checkServerIdentity).toBe('function');
    expect(normalizeConfig({ ssl_enable: false, ssl_mode: 'require' }, {}).connection.ssl).toBeUndefined();
    expect(CONFIG_PROPERTIES.ssl_client_private_key?.secret).toBe(true);
  });

  it('warns when MeltanoLabs TLS keys are given without the switch they need', () => {
    const { lines } = logged({ ssl_mode: 'verify-full', ssl_client_certificate: '/no/such.crt' });
    expect(lines.filter((l) => l.startsWith('WARNING'))).toEqual([
      'WARNING config key "ssl_mode" has no effect without "ssl_enable": true (as in MeltanoLabs target-postgres)',
      'WARNING config key "ssl_client_certificate" has no effect without "ssl_client_certificate_enable": true (as in MeltanoLabs target-postgres)',
    ]);
  });

  it('says which Meltano SDK settings have no effect, warning when their value asks for something', () => {
    const { lines } = logged({
      stream_maps: { orders: { __alias__: 'o' } },
      stream_map_config: {},
      flattening_enabled: true,
      flattening_max_depth: 3,
      faker_config: {},
      process_activate_version_messages: false,
      ssh_tunnel: { enable: true, host: 'bastion', private_key: 'KEY-MATERIAL' },
    });
    expect(lines.filter((l) => l.startsWith('WARNING')).map((l) => /key "([^"]+)"/.exec(l)?.[1])).toEqual([
      'stream_maps',
      'flattening_enabled',
      'process_activate_version_messages',
      'ssh_tunnel',
    ]);
    expect(lines.filter((l) => l.startsWith('INFO')).map((l) => /key "([^"]+)"/.exec(l)?.[1])).toEqual([
      'stream_map_config',
      'flattening_max_depth',
      'faker_config',
    ]);
    expect(lines.join('\n')).not.toContain('KEY-MATERIAL');
    expect((CONFIG_PROPERTIES.ssh_tunnel?.properties as Record<string, JsonSchema>).private_key?.secret).toBe(true);
  });

  it('warns once about each unknown key, naming the closest known key, and never fails', () => {
    const { config, lines } = logged({ batch_size_row: 10, hsot: 'h', Database: 'd', totally_unrelated_setting: 'hunter2-value' });
    expect(config.batchSizeRows).toBe(DEFAULT_BATCH_SIZE_ROWS);
    expect(lines).toEqual([
      'WARNING config key "batch_size_row" is not a target-postgres setting (did you mean "batch_size_rows"?); it is ignored',
      'WARNING config key "hsot" is not a target-postgres setting (did you mean "host"?); it is ignored',
      'WARNING config key "Database" is not a target-postgres setting (did you mean "database"?); it is ignored',
      'WARNING config key "totally_unrelated_setting" is not a target-postgres setting; it is ignored',
    ]);
  });

  it('maps the remaining singer-target-postgres keys', () => {
    const { config, lines } = logged({ postgres_database: 'd', logging_level: 'DEBUG', invalid_records_detect: false, before_run_sql: 'SELECT 1' });
    expect(config.connection.database).toBe('d');
    expect(lines.map((l) => l.split(' ')[0])).toEqual(['INFO', 'WARNING', 'WARNING']);
  });

  it('takes dbname and add_metadata_columns as aliases, refusing disagreement', () => {
    expect(normalizeConfig({ dbname: 'a' }, {}).connection.database).toBe('a');
    expect(normalizeConfig({ dbname: 'from-file', database: 'from-env' }, { PGDATABASE: 'from-env' }).connection.database).toBe('from-file');
    expect(() => normalizeConfig({ dbname: 'a', database: 'b' }, {})).toThrow(/"database" and "dbname" disagree/);
    expect(normalizeConfig({ add_metadata_columns: true }, {}).addRecordMetadata).toBe(true);
    expect(() => normalizeConfig({ add_metadata_columns: true, add_record_metadata: false }, {})).toThrow(/disagree/);
    expect(normalizeConfig({ batch_size: 7 }, {}).batchSizeRows).toBe(7);
  });
});
