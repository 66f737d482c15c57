import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import Ajv2020 from 'ajv/dist/2020';
import { parse } from 'yaml';

const REPO = resolve(__dirname, '../../..');
const PROJECT = join(REPO, 'singer-config');

interface Setting {
  name: string;
  kind?: string;
  sensitive?: boolean;
  env?: string;
}

interface Plugin {
  name: string;
  namespace?: string;
  executable?: string;
  pip_url?: string;
  capabilities?: string[];
  settings?: Setting[];
  config?: Record<string, unknown>;
  catalog?: string;
}

interface MeltanoProject {
  default_environment?: string;
  environments?: { name: string }[];
  plugins: { extractors?: Plugin[]; loaders?: Plugin[]; mappers?: Plugin[] };
}

const meltano = parse(readFileSync(join(PROJECT, 'meltano.yml'), 'utf8')) as MeltanoProject;
const extractors = meltano.plugins.extractors ?? [];
const loaders = meltano.plugins.loaders ?? [];
const allPlugins = [...extractors, ...loaders, ...(meltano.plugins.mappers ?? [])];

function plugin(name: string): Plugin {
  const found = allPlugins.find((p) => p.name === name);
  if (!found) throw new Error(`meltano.yml declares no plugin ${name}`);
  return found;
}

function readJson(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(PROJECT, name), 'utf8')) as Record<string, unknown>;
}

/** Every `bin` of the workspace packages: name → file (relative to the repository). */
function workspaceBins(): Map<string, string> {
  const bins = new Map<string, string>();
  for (const dir of readdirSync(join(REPO, 'packages'))) {
    const manifest = join(REPO, 'packages', dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> };
    for (const [name, file] of Object.entries(bin ?? {})) bins.set(name, join('packages', dir, file));
  }
  return bins;
}

/**
 * Splits a `meltano run` argument list into extract-load blocks the way Meltano does: an
 * extractor opens a block, mappers may follow, a loader closes it; anything else is invalid.
 */
function runBlocks(names: string[]): string[][] {
  const typeOf = (name: string): 'extractor' | 'loader' | 'mapper' => {
    if (extractors.some((p) => p.name === name)) return 'extractor';
    if (loaders.some((p) => p.name === name)) return 'loader';
    if ((meltano.plugins.mappers ?? []).some((p) => p.name === name)) return 'mapper';
    throw new Error(`${name} is not a plugin of the project`);
  };
  const blocks: string[][] = [];
  let open: string[] | undefined;
  for (const name of names) {
    const type = typeOf(name);
    if (type === 'extractor') {
      if (open) throw new Error(`${name} starts a block before ${open[0]} found its loader`);
      open = [name];
    } else if (!open) {
      throw new Error(`${name} (a ${type}) has no extractor before it`);
    } else if (type === 'mapper') {
      open.push(name);
    } else {
      blocks.push([...open, name]);
      open = undefined;
    }
  }
  if (open) throw new Error(`${open[0]} has no loader after it`);
  return blocks;
}

const SECRETS = ['key', 'api_token', 'aws_access_key_id', 'aws_secret_access_key', 'password', 'connection_string', 'hash_key'];

describe('singer-config/meltano.yml', () => {
  it("validates against Meltano's own JSON Schema for meltano.yml", () => {
    // Meltano's schema (MIT), kept with the tests so that a fresh clone needs nothing else.
    const schema = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'meltano.schema.json'), 'utf8')) as object;
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    const validate = ajv.compile(schema);
    const valid = validate(meltano);
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    // The schema does catch mistakes: a misspelt key and a capability a loader cannot have.
    expect(validate({ ...meltano, plugins: { extractors: [{ name: 'x', capabilites: [] }] } })).toBe(false);
    expect(validate({ ...meltano, plugins: { loaders: [{ name: 'x', capabilities: ['discover'] }] } })).toBe(false);
  });

  it('declares the four executables as custom plugins with the capabilities they honour', () => {
    expect(extractors.map((p) => p.name)).toEqual(['tap-kaggle', 'tap-minio-csv']);
    expect(loaders.map((p) => p.name)).toEqual(['processor', 'target-postgres']);
    for (const p of extractors) expect(p.capabilities).toEqual(['catalog', 'discover', 'state', 'about']);
    for (const p of loaders) expect(p.capabilities).toEqual(['about']);
    for (const p of allPlugins) {
      expect(p.pip_url).toBeUndefined();
      expect(p.namespace).toBe(p.name.replace(/-/g, '_'));
    }
  });

  it("points each plugin at its package's bin, which `npm ci` links under node_modules/.bin", () => {
    const bins = workspaceBins();
    for (const p of allPlugins) {
      // A path with a slash is resolved against the project folder by Meltano.
      const executable = resolve(PROJECT, p.executable ?? '');
      expect(relative(REPO, executable)).toBe(join('node_modules', '.bin', p.name));
      const binFile = bins.get(p.name);
      expect(binFile).toBeDefined();
      expect(existsSync(join(REPO, binFile!))).toBe(true);
      expect(existsSync(executable)).toBe(true);
    }
  });

  it('makes `meltano run tap-kaggle processor tap-minio-csv target-postgres` two extract-load blocks', () => {
    expect(runBlocks(['tap-kaggle', 'processor', 'tap-minio-csv', 'target-postgres'])).toEqual([
      ['tap-kaggle', 'processor'],
      ['tap-minio-csv', 'target-postgres'],
    ]);
    expect(() => runBlocks(['tap-kaggle', 'tap-minio-csv', 'target-postgres'])).toThrow(/before tap-kaggle found/);
    // State needs an environment: Meltano keys it as <env>:<tap>-to-<target>.
    expect(meltano.environments?.map((e) => e.name)).toContain(meltano.default_environment);
  });

  it('gives every setting a kind, marks every secret sensitive and writes no secret or endpoint', () => {
    for (const p of allPlugins) {
      for (const s of p.settings ?? []) {
        expect({ plugin: p.name, setting: s.name, kind: typeof s.kind }).toEqual({
          plugin: p.name,
          setting: s.name,
          kind: 'string',
        });
        if (SECRETS.includes(s.name)) expect({ setting: `${p.name}.${s.name}`, sensitive: s.sensitive }).toEqual({
          setting: `${p.name}.${s.name}`,
          sensitive: true,
        });
      }
      const configured = Object.keys(p.config ?? {});
      for (const key of [...SECRETS, 'username', 'endpoint_url', 'host', 'port', 'user', 'database']) {
        expect({ plugin: p.name, configures: configured.includes(key) ? key : undefined }).toEqual({
          plugin: p.name,
          configures: undefined,
        });
      }
    }
    expect(plugin('tap-kaggle').settings?.find((s) => s.name === 'key')?.env).toBe('KAGGLE_KEY');
    expect(plugin('target-postgres').settings?.find((s) => s.name === 'password')?.env).toBe('PGPASSWORD');
    expect(plugin('processor').settings?.find((s) => s.name === 'aws_secret_access_key')?.env).toBe(
      'AWS_SECRET_ACCESS_KEY',
    );
  });

  it('configures the plugins exactly as the JSON configs that `npm start` uses', () => {
    // NOTE: Meltano nests config keys at every dot, so a mapping keyed by file names
    // (`olist_customers_dataset.csv`) must travel as a JSON string (meltano/meltano#7317).
    const kaggle = plugin('tap-kaggle').config as Record<string, unknown>;
    expect({ ...kaggle, stream_names: JSON.parse(kaggle.stream_names as string) }).toEqual(readJson('tap-kaggle.json'));
    expect(plugin('tap-minio-csv').config).toEqual(readJson('tap-minio-csv.json'));
    expect(plugin('target-postgres').config).toEqual(readJson('target-postgres.json'));
    expect(plugin('tap-minio-csv').catalog).toBe('catalog.json');
    expect(existsSync(join(PROJECT, 'catalog.json'))).toBe(true);
    expect(plugin('processor').config).toEqual(readJson('processor.json'));
    // The processor writes where tap-minio-csv reads.
    expect(plugin('processor').config?.bucket).toBe(readJson('tap-minio-csv.json').bucket);
  });
});

describe('the Olist Singer configs', () => {
  const streams = ['customers', 'order_items', 'orders', 'products'];
  const keys: Record<string, string[]> = {
    customers: ['customer_id'],
    order_items: ['order_id', 'order_item_id'],
    orders: ['order_id'],
    products: ['product_id'],
  };

  it('has tap-kaggle emit the four Olist files as the four streams', () => {
    const config = readJson('tap-kaggle.json');
    expect(config.dataset).toBe('olistbr/brazilian-ecommerce');
    expect(config.files).toEqual([
      'olist_customers_dataset.csv',
      'olist_order_items_dataset.csv',
      'olist_orders_dataset.csv',
      'olist_products_dataset.csv',
    ]);
    expect(Object.values(config.stream_names as Record<string, string>).sort()).toEqual(streams);
    expect(config.key_properties).toEqual(keys);
  });

  it("has tap-minio-csv read each stream's objects under the processor's default keys", () => {
    const config = readJson('tap-minio-csv.json');
    const tables = config.tables as {
      table_name: string;
      search_prefix: string;
      search_pattern: string;
      key_properties: string[];
      date_overrides?: string[];
    }[];
    expect(tables.map((t) => t.table_name)).toEqual(streams);
    for (const t of tables) {
      const pattern = new RegExp(t.search_pattern);
      // {stream}/{year}/{month}/{day}/{stream}.csv, the processor's default key template.
      const key = `${t.table_name}/2024/05/17/${t.table_name}.csv`;
      expect(key.startsWith(t.search_prefix)).toBe(true);
      expect(pattern.test(key)).toBe(true);
      expect(pattern.test(`${key}.gz`)).toBe(true);
      for (const other of streams.filter((s) => s !== t.table_name)) {
        expect(pattern.test(`${other}/2024/05/17/${other}.csv`)).toBe(false);
      }
      expect(t.key_properties).toEqual(keys[t.table_name]);
    }
    expect(tables.find((t) => t.table_name === 'orders')?.date_overrides).toHaveLength(5);
    expect(tables.find((t) => t.table_name === 'order_items')?.date_overrides).toEqual(['shipping_limit_date']);
    expect(JSON.stringify(config)).not.toMatch(/aws_|endpoint|password|secret/);
  });

  it('pins the cleaned columns in catalog.json, zip prefixes as text, with every column selected', () => {
    const catalog = readJson('catalog.json') as {
      streams: {
        stream: string;
        tap_stream_id: string;
        schema: { properties: Record<string, { type: string | string[]; format?: string }> };
        metadata: { breadcrumb: string[]; metadata: Record<string, unknown> }[];
      }[];
    };
    expect(catalog.streams.map((s) => s.stream)).toEqual(streams);
    for (const s of catalog.streams) {
      expect(s.tap_stream_id).toBe(s.stream);
      const top = s.metadata.find((m) => m.breadcrumb.length === 0)?.metadata;
      expect(top?.['table-key-properties']).toEqual(keys[s.stream]);
      expect(top?.selected).toBe(true);
      for (const column of Object.keys(s.schema.properties)) {
        const m = s.metadata.find((e) => e.breadcrumb.join('/') === `properties/${column}`)?.metadata;
        expect({ column, selected: m?.selected }).toEqual({ column, selected: true });
      }
      expect(Object.keys(s.schema.properties)).toEqual(
        expect.arrayContaining(['_sdc_source_bucket', '_sdc_source_file', '_sdc_source_lineno']),
      );
    }
    const props = (stream: string): Record<string, { type: string | string[]; format?: string }> =>
      catalog.streams.find((s) => s.stream === stream)!.schema.properties;
    expect(props('customers').customer_zip_code_prefix?.type).toEqual(['null', 'string']);
    expect(props('orders').order_approved_at).toEqual({ type: ['null', 'string'], format: 'date-time' });
    expect(props('order_items').price?.type).toEqual(['null', 'number']);
    expect(props('products').product_name_lenght?.type).toEqual(['null', 'integer']);
  });

  it('has target-postgres load into public by upsert, with the connection left to PG* variables', () => {
    const config = readJson('target-postgres.json');
    expect(config).toEqual({ default_target_schema: 'public', load_method: 'upsert' });
  });
});
