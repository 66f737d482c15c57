import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { createAjv } from '@singer-ts/singer';

import { CONFIG_SCHEMA, DEFAULT_BATCH_SIZE_ROWS, normalizeConfig } from '../../src/config';

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
