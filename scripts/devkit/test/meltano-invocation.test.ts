import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

import {
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type ListObjectsV2CommandOutput,
  S3Client,
} from '@aws-sdk/client-s3';
import { createAjv, type JsonSchema, schemaTypes, secretPaths } from '@singer-ts/singer';
import { Client } from 'pg';
import { parse } from 'yaml';

import { type KaggleStandIn, startKaggleStandIn } from '../src/kaggle-stand-in';
import { generateSample, type SampleCounts, writeKaggleZip } from '../src/sample-dataset';
import { connectTestDatabase, testPgEnv, testS3Client, testS3Env } from '../src/testing';

/*
 * Runs the four executables exactly as Meltano (3.x) invokes the custom plugins that
 * singer-config/meltano.yml declares, since Meltano itself (Python) cannot be installed here.
 * What Meltano does is modelled on its sources (meltano/meltano, src/meltano/core):
 *
 * - settings (`settings_service.py`, `setting_definition.py`, `plugin/singer/base.py`): a
 *   setting's value comes from `<PLUGIN_NAME>_<SETTING>` / `<NAMESPACE>_<SETTING>` in the
 *   environment, else the active environment's `config`, else the plugin's `config`, else its
 *   default; `${VAR}` is expanded; config keys are flattened at dots, an `object` setting is
 *   rebuilt from the flattened keys under it, strings are cast by `kind`; the config file is
 *   the non-null values nested at dots, with dotted keys then dropped. A setting's `env:` is
 *   only written: Meltano puts the value into that variable of the plugin's environment,
 *   which is Meltano's own environment plus those variables.
 * - extractors (`plugin/singer/tap.py`): `--config run/tap.<uuid>.config.json`, then
 *   `--catalog` (or `--properties`) when the catalog file has data, then `--state state.json`
 *   (the backend's state, indented) when there is one. Without a pinned `catalog:` the
 *   catalog is discovered before every sync by the same command plus `--discover` (so with
 *   `--state` on later runs); stdout is the catalog file, parsed as one JSON document, then
 *   selected with the rules `!*.*` and `*.*`. A pinned catalog is copied as it is.
 * - loaders (`plugin/singer/target.py`): `--config run/target.<uuid>.config.json`, stdin the
 *   extractor's stdout line by line; each stdout line is `json.loads`-ed as the new state
 *   (`BookmarkWriter`), and the last one is what the next run's extractor gets.
 */

const REPO = resolve(__dirname, '../../..');
const PROJECT = join(REPO, 'singer-config');
const ENVIRONMENT = 'dev';
const DATASET = 'olistbr/brazilian-ecommerce';
const SCALE = 0.005;
const STREAMS = ['customers', 'order_items', 'orders', 'products'] as const;

interface SettingDefinition {
  name: string;
  kind?: string;
  env?: string;
  aliases?: string[];
  sensitive?: boolean;
  value?: unknown;
  options?: { label: string; value: unknown }[];
}

interface PluginDefinition {
  name: string;
  namespace: string;
  capabilities: string[];
  settings?: SettingDefinition[];
  config?: Record<string, unknown>;
  catalog?: string;
}

interface MeltanoProject {
  default_environment: string;
  environments: { name: string; config?: { plugins?: Record<string, { name: string; config?: Record<string, unknown> }[]> } }[];
  plugins: { extractors: PluginDefinition[]; loaders: PluginDefinition[] };
}

interface About {
  name: string;
  description: string;
  version: string;
  capabilities: string[];
  settings: JsonSchema & { required?: string[] };
  env_fallbacks?: Record<string, string[]>;
}

const meltano = parse(readFileSync(join(PROJECT, 'meltano.yml'), 'utf8')) as MeltanoProject;
const allPlugins = [...meltano.plugins.extractors, ...meltano.plugins.loaders];

function plugin(name: string): PluginDefinition {
  const found = allPlugins.find((p) => p.name === name);
  if (!found) throw new Error(`meltano.yml declares no plugin ${name}`);
  return found;
}

function pluginType(name: string): 'extractors' | 'loaders' {
  return meltano.plugins.extractors.some((p) => p.name === name) ? 'extractors' : 'loaders';
}

/** The launcher of a workspace bin: `packages/<pkg>/bin/<name>.js`. */
function launcher(name: string): string {
  for (const dir of readdirSync(join(REPO, 'packages'))) {
    const manifest = join(REPO, 'packages', dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const { bin } = JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> };
    if (bin?.[name]) return join(REPO, 'packages', dir, bin[name]);
  }
  throw new Error(`no workspace package has a bin ${name}`);
}

// ---------------------------------------------------------------------------------------
// Meltano's settings: what it writes into a plugin's config file and environment

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `flatten_dict.flatten(config, "dot")`: nested mappings become dotted keys; empty ones vanish. */
function flattenDot(config: Json, prefix = ''): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(config)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (isObject(value)) Object.assign(out, flattenDot(value, path));
    else out[path] = value;
  }
  return out;
}

/** `utils.to_env_var`. */
function toEnvVar(...parts: string[]): string {
  return parts.map((part) => part.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()).join('_');
}

/** `utils.expand_env_vars` with a missing variable as the empty string (Meltano's default). */
function expandEnvVars(value: unknown, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === 'string') {
    const expanded = value.replace(/\$(?:\{(\w+)\}|(\w+))/g, (_m, braced: string, bare: string) => env[braced ?? bare] ?? '');
    return value && !expanded ? null : expanded;
  }
  if (Array.isArray(value)) return value.map((item) => expandEnvVars(item, env));
  if (isObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnvVars(v, env)]));
  return value;
}

/** `SettingDefinition.from_key_value`: the kind of a custom setting made for an undeclared key. */
function customSetting(name: string, value: unknown): SettingDefinition {
  const kind =
    typeof value === 'boolean' ? 'boolean' : Number.isInteger(value) ? 'integer' : isObject(value) ? 'object' : Array.isArray(value) ? 'array' : undefined;
  return { name, kind };
}

/** `SettingDefinition.cast_value` for a string. */
function castValue(setting: SettingDefinition, value: unknown): unknown {
  if (typeof value !== 'string') return value;
  switch (setting.kind) {
    case 'boolean':
      return ['true', '1', 'yes', 'on'].includes(value.toLowerCase());
    case 'integer':
      if (!/^\s*[-+]?\d+\s*$/.test(value)) throw new Error(`Meltano cannot cast ${JSON.stringify(value)} to an integer for ${setting.name}`);
      return Number.parseInt(value, 10);
    case 'object':
    case 'array': {
      const parsed: unknown = JSON.parse(value);
      if (setting.kind === 'object' ? !isObject(parsed) : !Array.isArray(parsed)) {
        throw new Error(`JSON value for ${setting.name} is not an ${setting.kind}`);
      }
      return parsed;
    }
    default:
      return value;
  }
}

/** `utils.nest_object`: dotted keys become nested mappings; a key already there is kept. */
function nestObject(flat: Json): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(flat)) {
    const path = key.split('.');
    const tail = path.pop()!;
    let cursor: unknown = out;
    for (const part of path) {
      if (!isObject(cursor)) throw new Error(`Meltano fails nesting config key ${key}: ${part} is not a mapping`);
      if (!(part in cursor)) cursor[part] = {};
      cursor = cursor[part];
    }
    if (!isObject(cursor)) throw new Error(`Meltano fails nesting config key ${key}`);
    if (!(tail in cursor)) cursor[tail] = structuredClone(value);
  }
  return out;
}

/** `SingerPlugin.process_config`'s last step: nested duplicates' dotted keys are dropped. */
function popDottedKeys(config: Json): Json {
  for (const [key, value] of Object.entries(config)) {
    if (key.includes('.')) delete config[key];
    else if (isObject(value)) popDottedKeys(value);
  }
  return config;
}

interface PluginSettings {
  /** The config file's content. */
  config: Json;
  /** The plugin's environment: Meltano's own plus the settings' variables. */
  env: NodeJS.ProcessEnv;
}

/** The plugin's `config` in the project's default environment. */
function environmentConfig(p: PluginDefinition): Json {
  const environment = meltano.environments.find((e) => e.name === meltano.default_environment);
  return environment?.config?.plugins?.[pluginType(p.name)]?.find((e) => e.name === p.name)?.config ?? {};
}

/** What Meltano computes for a plugin in the project's default environment. */
function meltanoSettings(p: PluginDefinition, env: NodeJS.ProcessEnv): PluginSettings {
  const base = flattenDot(p.config ?? {});
  const active = flattenDot(environmentConfig(p));
  const declared = p.settings ?? [];
  const definitions = [...declared];
  for (const [key, value] of [...Object.entries(base), ...Object.entries(active)]) {
    if (!definitions.some((d) => d.name === key)) definitions.push(customSetting(key, value));
  }
  const prefixes = [...new Set([p.name, p.namespace])];

  const valueOf = (setting: SettingDefinition): unknown => {
    const keys = [setting.name, ...(setting.aliases ?? [])];
    const variables = [...new Set(keys.flatMap((key) => prefixes.map((prefix) => toEnvVar(prefix, key))))];
    const fromEnv = variables.find((variable) => env[variable] !== undefined);
    const store = [active, base].find((s) => keys.some((k) => k in s));
    let value: unknown = setting.value ?? null;
    if (fromEnv !== undefined) value = env[fromEnv];
    else if (store) value = expandEnvVars(store[keys.find((k) => k in store)!], env);
    else if (setting.kind === 'object') {
      // An object setting left at its default is rebuilt from the flattened keys under it.
      const rebuilt: Json = {};
      for (const key of keys) {
        for (const nested of definitions.filter((d) => d.name.startsWith(`${key}.`))) {
          const nestedKey = nested.name.slice(key.length + 1);
          if (!(nestedKey in rebuilt)) rebuilt[nestedKey] = valueOf(nested);
        }
      }
      if (Object.keys(rebuilt).length > 0) value = rebuilt;
    }
    return castValue(setting, value);
  };

  const values = definitions.map((setting) => ({ setting, value: valueOf(setting) }));
  const flat = Object.fromEntries(values.filter(({ value }) => value !== null && value !== undefined).map(({ setting, value }) => [setting.name, value]));
  const pluginEnv: NodeJS.ProcessEnv = { ...env };
  for (const { setting, value } of values) {
    if (value === null || value === undefined) continue;
    const text = typeof value === 'string' ? value : !setting.kind || setting.kind === 'string' ? String(value) : JSON.stringify(value);
    for (const variable of [...(setting.env ? [setting.env] : []), ...prefixes.map((prefix) => toEnvVar(prefix, setting.name))]) {
      pluginEnv[variable] = text;
    }
  }
  return { config: popDottedKeys(nestObject(flat)), env: pluginEnv };
}

// ---------------------------------------------------------------------------------------
// Meltano's catalog handling

interface CatalogStream {
  tap_stream_id: string;
  stream: string;
  schema: JsonSchema;
  key_properties?: string[];
  replication_method?: string;
  metadata: { breadcrumb: string[]; metadata: Json }[];
  selected?: boolean;
}

/** `select_metadata_rules(["!*.*"])` then `(["*.*"])` applied by `MetadataExecutor`. */
function applyDefaultSelection(catalog: { streams: CatalogStream[] }): void {
  for (const stream of catalog.streams) {
    stream.metadata ??= [];
    const ensure = (breadcrumb: string[]): void => {
      if (!stream.metadata.some((m) => m.breadcrumb.join('/') === breadcrumb.join('/'))) {
        stream.metadata.push({ breadcrumb, metadata: { inclusion: breadcrumb.length <= 2 ? 'automatic' : 'available' } });
      }
    };
    ensure([]);
    for (const property of Object.keys(stream.schema.properties ?? {})) ensure(['properties', property]);
    for (const selected of [false, true]) {
      stream.selected = selected;
      for (const entry of stream.metadata) {
        if (selected && entry.breadcrumb.length > 0 && entry.metadata.inclusion === 'unsupported') continue;
        entry.metadata.selected = selected;
      }
    }
  }
}

/** The checks a Singer catalog passes: the shape every tap and Meltano rely on. */
function expectSingerCatalog(catalog: unknown, streams: readonly string[]): void {
  expect(isObject(catalog) && Array.isArray(catalog.streams)).toBe(true);
  const entries = (catalog as { streams: CatalogStream[] }).streams;
  expect(entries.map((s) => s.stream).sort()).toEqual([...streams].sort());
  const ajv = createAjv();
  for (const entry of entries) {
    expect({ stream: entry.stream, id: typeof entry.tap_stream_id }).toEqual({ stream: entry.stream, id: 'string' });
    expect(schemaTypes(entry.schema)).toContain('object');
    expect(() => ajv.compile(entry.schema)).not.toThrow();
    const properties = Object.keys(entry.schema.properties ?? {});
    expect(properties.length).toBeGreaterThan(0);
    expect(Array.isArray(entry.metadata)).toBe(true);
    const top = entry.metadata.filter((m) => m.breadcrumb.length === 0);
    expect({ stream: entry.stream, streamLevelEntries: top.length }).toEqual({ stream: entry.stream, streamLevelEntries: 1 });
    for (const m of entry.metadata.filter((e) => e.breadcrumb.length > 0)) {
      expect({ stream: entry.stream, breadcrumb: m.breadcrumb[0], known: properties.includes(m.breadcrumb[1]!) }).toEqual({
        stream: entry.stream,
        breadcrumb: 'properties',
        known: true,
      });
      expect(isObject(m.metadata)).toBe(true);
    }
    const keys = (top[0]?.metadata['table-key-properties'] as string[] | undefined) ?? entry.key_properties ?? [];
    for (const key of keys) expect({ stream: entry.stream, key, known: properties.includes(key) }).toEqual({ stream: entry.stream, key, known: true });
    if (entry.replication_method !== undefined) expect(['FULL_TABLE', 'INCREMENTAL', 'LOG_BASED']).toContain(entry.replication_method);
  }
}

// ---------------------------------------------------------------------------------------
// Processes

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function start(name: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [launcher(name), ...args], { env, cwd });
}

async function run(name: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Finished> {
  const child = start(name, args, env, cwd);
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}

interface BlockRun {
  tap: Finished;
  loader: Finished;
  /** RECORD messages per stream that went from the extractor to the loader. */
  records: Record<string, number>;
  /** The loader's stdout, line by line, as Meltano's `BookmarkWriter` gets it. */
  stateLines: string[];
}

/** Pipes the extractor into the loader line by line, as Meltano's extract-load block does. */
async function runBlock(tap: { name: string; args: string[]; env: NodeJS.ProcessEnv }, loader: { name: string; args: string[]; env: NodeJS.ProcessEnv }, cwd: string): Promise<BlockRun> {
  const tapChild = start(tap.name, tap.args, tap.env, cwd);
  const loaderChild = start(loader.name, loader.args, loader.env, cwd);
  tapChild.stdin.end();
  const tapStderr: string[] = [];
  const loaderStderr: string[] = [];
  tapChild.stderr.on('data', (chunk: Buffer) => tapStderr.push(chunk.toString()));
  loaderChild.stderr.on('data', (chunk: Buffer) => loaderStderr.push(chunk.toString()));
  loaderChild.stdin.on('error', () => undefined);
  const tapClosed = once(tapChild, 'close') as Promise<[number | null]>;
  const loaderClosed = once(loaderChild, 'close') as Promise<[number | null]>;

  const stateLines: string[] = [];
  const loaderOut = (async () => {
    for await (const line of createInterface({ input: loaderChild.stdout, crlfDelay: Infinity })) stateLines.push(line);
  })();

  const records: Record<string, number> = {};
  const tapOut: string[] = [];
  for await (const line of createInterface({ input: tapChild.stdout, crlfDelay: Infinity })) {
    const message = JSON.parse(line) as { type?: string; stream?: string };
    if (String(message.type).toUpperCase() === 'RECORD') records[message.stream!] = (records[message.stream!] ?? 0) + 1;
    else tapOut.push(line);
    if (!loaderChild.stdin.write(`${line}\n`)) {
      await Promise.race([once(loaderChild.stdin, 'drain'), loaderClosed]);
    }
  }
  loaderChild.stdin.end();
  const [[tapCode], [loaderCode]] = await Promise.all([tapClosed, loaderClosed, loaderOut]);
  return {
    tap: { code: tapCode, stdout: tapOut.join('\n'), stderr: tapStderr.join('') },
    loader: { code: loaderCode, stdout: stateLines.join('\n'), stderr: loaderStderr.join('') },
    records,
    stateLines,
  };
}

// ---------------------------------------------------------------------------------------

describe('the Meltano project run the way Meltano invokes its plugins', () => {
  const id = `${process.pid}_${randomBytes(3).toString('hex')}`;
  const schema = `meltano_${id}`;
  const bucket = `meltano-${id.replace(/_/g, '-')}`;
  const token = randomBytes(24).toString('hex');
  const about = new Map<string, About>();
  /** Meltano's state backend: state id → the last state value its loader printed. */
  const stateBackend = new Map<string, unknown>();
  const runs: { blocks: Record<string, BlockRun>; catalog: unknown }[] = [];
  let work: string;
  let projectRoot: string;
  let counts: SampleCounts;
  let kaggle: KaggleStandIn;
  let userEnv: NodeJS.ProcessEnv;
  let db: Client;
  let s3: S3Client;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'meltano-invocation-'));
    projectRoot = join(work, 'project');
    await mkdir(projectRoot);
    const sample = await generateSample({ scale: SCALE, outDir: join(work, 'sample') });
    counts = sample.counts;
    const zip = await writeKaggleZip(sample.files, join(work, 'dataset.zip'));
    kaggle = await startKaggleStandIn({ datasets: { [DATASET]: { versions: { 1: zip.path } } }, token });

    // The user's environment: what the executables read themselves, and Meltano's own
    // variables for the settings this test isolates (bucket, schema, Kaggle's address).
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(([key]) => !/^(KAGGLE_|AWS_|PG|TAP_|TARGET_|PROCESSOR_|MELTANO_|LOG_LEVEL$)/.test(key)),
    );
    userEnv = {
      ...inherited,
      MELTANO_PROJECT_ROOT: projectRoot,
      KAGGLE_API_TOKEN: token,
      ...testS3Env(),
      ...testPgEnv(),
      TAP_KAGGLE_API_BASE_URL: kaggle.baseUrl.rpc,
      PROCESSOR_BUCKET: bucket,
      TAP_MINIO_CSV_BUCKET: bucket,
      TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA: schema,
      TARGET_POSTGRES_BATCH_SIZE_ROWS: '100',
    };

    db = await connectTestDatabase();
    s3 = testS3Client();
  });

  afterAll(async () => {
    await kaggle?.stop();
    await db?.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await db?.end();
    if (s3) {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket })).catch(() => undefined);
      const keys = (listed?.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length > 0) await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
      s3.destroy();
    }
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('gets one JSON document from --about --format=json of each plugin, naming every capability meltano.yml declares', async () => {
    const results = await Promise.all(allPlugins.map((p) => run(p.name, ['--about', '--format=json'], userEnv, projectRoot)));
    for (const [index, p] of allPlugins.entries()) {
      const result = results[index]!;
      expect({ plugin: p.name, code: result.code }).toEqual({ plugin: p.name, code: 0 });
      const document = JSON.parse(result.stdout) as About;
      about.set(p.name, document);
      expect(document.name).toBe(p.name);
      expect(typeof document.description).toBe('string');
      expect(typeof document.version).toBe('string');
      expect(document.capabilities).toEqual(expect.arrayContaining(p.capabilities));
      expect(schemaTypes(document.settings)).toContain('object');
      expect(isObject(document.settings.properties)).toBe(true);
    }
  });

  it("declares only settings the executables know, every one they require, with kinds of their schemas' types", () => {
    const jsonTypeOfKind: Record<string, string> = {
      string: 'string',
      password: 'string',
      email: 'string',
      file: 'string',
      date_iso8601: 'string',
      integer: 'integer',
      decimal: 'number',
      boolean: 'boolean',
      object: 'object',
      array: 'array',
    };
    for (const p of allPlugins) {
      const settings = about.get(p.name)!.settings;
      const declared = p.settings ?? [];
      for (const s of declared) {
        for (const name of [s.name, ...(s.aliases ?? [])]) {
          const property = propertyAt(settings, name);
          expect({ plugin: p.name, setting: name, known: property !== undefined }).toEqual({ plugin: p.name, setting: name, known: true });
        }
        const property = propertyAt(settings, s.name)!;
        const types = schemaTypes(property);
        if (s.kind === 'options') {
          const values = (s.options ?? []).map((o) => o.value);
          expect({ plugin: p.name, setting: s.name, values }).toEqual({ plugin: p.name, setting: s.name, values: property.enum ?? values });
          expect(types).toContain(typeof values[0]);
        } else {
          const wanted = jsonTypeOfKind[s.kind ?? 'string'];
          const fits = types.includes(wanted!) || (wanted === 'integer' && types.includes('number'));
          expect({ plugin: p.name, setting: s.name, kind: s.kind, types, fits }).toEqual({ plugin: p.name, setting: s.name, kind: s.kind, types, fits: true });
        }
      }
      const names = declared.flatMap((s) => [s.name, ...(s.aliases ?? [])]);
      for (const required of settings.required ?? []) {
        expect({ plugin: p.name, required, declared: names.includes(required) }).toEqual({ plugin: p.name, required, declared: true });
      }
    }
  });

  it('marks exactly the secret settings sensitive and points each env at a variable the executable reads', () => {
    for (const p of allPlugins) {
      const document = about.get(p.name)!;
      const declared = p.settings ?? [];
      for (const s of declared) {
        const property = propertyAt(document.settings, s.name)!;
        const sensitive = s.sensitive === true || s.kind === 'password';
        // A setting is a secret when it is one or holds one (ssl's client key).
        const secret = property.secret === true || secretPaths(property).length > 0;
        expect({ plugin: p.name, setting: s.name, sensitive }).toEqual({ plugin: p.name, setting: s.name, sensitive: secret });
        if (s.env !== undefined) {
          const documented =
            (document.env_fallbacks?.[s.name] ?? []).includes(s.env) ||
            (typeof property.description === 'string' && property.description.includes(s.env));
          expect({ plugin: p.name, setting: s.name, env: s.env, readByExecutable: documented }).toEqual({
            plugin: p.name,
            setting: s.name,
            env: s.env,
            readByExecutable: true,
          });
        }
      }
      for (const path of secretPaths(document.settings)) {
        const name = path.join('.');
        const setting = declared.find((s) => [s.name, ...(s.aliases ?? [])].some((n) => name === n || name.startsWith(`${n}.`)));
        expect({ plugin: p.name, secret: name, sensitive: setting?.sensitive }).toEqual({ plugin: p.name, secret: name, sensitive: true });
      }
    }
  });

  it("hands each executable its meltano.yml config unchanged through Meltano's config file", () => {
    for (const p of allPlugins) {
      // Nothing from the environment: only what meltano.yml itself says.
      const { config } = meltanoSettings(p, { MELTANO_PROJECT_ROOT: projectRoot });
      const expected = expandEnvVars({ ...p.config, ...environmentConfig(p) }, { MELTANO_PROJECT_ROOT: projectRoot });
      expect({ plugin: p.name, config }).toEqual({ plugin: p.name, config: expected });
    }
  });

  /** `meltano run tap-kaggle processor tap-minio-csv target-postgres`, once. */
  async function meltanoRun(): Promise<(typeof runs)[number]> {
    const blocks: Record<string, BlockRun> = {};
    let discovered: unknown;
    for (const [tapName, loaderName] of [
      ['tap-kaggle', 'processor'],
      ['tap-minio-csv', 'target-postgres'],
    ] as const) {
      const tap = plugin(tapName);
      const loader = plugin(loaderName);
      const tapDir = join(projectRoot, '.meltano', 'run', tapName);
      const loaderDir = join(projectRoot, '.meltano', 'run', loaderName);
      await mkdir(tapDir, { recursive: true });
      await mkdir(loaderDir, { recursive: true });

      const tapSettings = meltanoSettings(tap, userEnv);
      const tapConfig = join(tapDir, `tap.${randomUUID()}.config.json`);
      await writeFile(tapConfig, JSON.stringify(tapSettings.config, null, 2));
      const catalogFile = join(tapDir, `tap.${randomUUID()}.properties.json`);
      const stateFile = join(tapDir, 'state.json');
      // look_up_state: last run's leftovers go, the backend's state comes in.
      await rm(stateFile, { force: true });
      const saved = stateBackend.get(`${ENVIRONMENT}:${tapName}-to-${loaderName}`);
      if (isObject(saved) && Object.keys(saved).length > 0) await writeFile(stateFile, JSON.stringify(saved, null, 2));
      const hasData = async (file: string): Promise<boolean> => existsSync(file) && (await stat(file)).size > 0;
      const tapArgs = async (...extra: string[]): Promise<string[]> => [
        '--config',
        tapConfig,
        ...((await hasData(catalogFile)) ? [tap.capabilities.includes('catalog') ? '--catalog' : '--properties', catalogFile] : []),
        ...((await hasData(stateFile)) && tap.capabilities.includes('state') ? ['--state', stateFile] : []),
        ...extra,
      ];

      if (tap.catalog) {
        await copyFile(join(PROJECT, tap.catalog), catalogFile);
      } else {
        const discovery = await run(tapName, await tapArgs('--discover'), tapSettings.env, projectRoot);
        expect({ discovery: tapName, code: discovery.code, stderr: discovery.code === 0 ? '' : discovery.stderr }).toEqual({ discovery: tapName, code: 0, stderr: '' });
        discovered = JSON.parse(discovery.stdout);
        const catalog = structuredClone(discovered) as { streams: CatalogStream[] };
        applyDefaultSelection(catalog);
        await writeFile(catalogFile, JSON.stringify(catalog, null, 2));
      }

      const loaderSettings = meltanoSettings(loader, userEnv);
      const loaderConfig = join(loaderDir, `target.${randomUUID()}.config.json`);
      await writeFile(loaderConfig, JSON.stringify(loaderSettings.config, null, 2));
      const block = await runBlock(
        { name: tapName, args: await tapArgs(), env: tapSettings.env },
        { name: loaderName, args: ['--config', loaderConfig], env: loaderSettings.env },
        projectRoot,
      );
      blocks[tapName] = block;
      expect({ plugin: tapName, code: block.tap.code, stderr: block.tap.code === 0 ? '' : block.tap.stderr }).toEqual({ plugin: tapName, code: 0, stderr: '' });
      expect({ plugin: loaderName, code: block.loader.code, stderr: block.loader.code === 0 ? '' : block.loader.stderr }).toEqual({
        plugin: loaderName,
        code: 0,
        stderr: '',
      });
      // BookmarkWriter: every line is json.loads-ed (a line that is not JSON is dropped with a
      // warning); the last one is the job's state.
      const values = expectStateValues(loaderName, block.stateLines);
      if (values.length > 0) stateBackend.set(`${ENVIRONMENT}:${tapName}-to-${loaderName}`, values[values.length - 1]);
    }
    return { blocks, catalog: discovered };
  }

  async function tableCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const table of STREAMS) {
      const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}"."${table}"`);
      out[table] = rows[0]!.n;
    }
    return out;
  }

  async function objects(): Promise<Record<string, string>> {
    const listed: ListObjectsV2CommandOutput = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
    return Object.fromEntries((listed.Contents ?? []).map((o) => [o.Key!, `${o.ETag} ${o.LastModified?.toISOString()}`]));
  }

  const expectedRows = (): Record<string, number> => ({
    customers: counts.customers,
    order_items: counts.orderItems,
    orders: counts.orders,
    products: counts.products,
  });

  it('runs both blocks of `meltano run tap-kaggle processor tap-minio-csv target-postgres` and loads every table', async () => {
    const first = await meltanoRun();
    runs.push(first);
    expectSingerCatalog(first.catalog, STREAMS);

    for (const block of Object.values(first.blocks)) {
      expect(block.records).toEqual(expectedRows());
      expect(block.stateLines.length).toBeGreaterThan(0);
      // Meltano keeps plugins' stderr in its logs: no secret may reach them.
      expect(block.tap.stderr + block.loader.stderr).not.toContain(token);
    }
    const lastState = stateBackend.get(`${ENVIRONMENT}:tap-minio-csv-to-target-postgres`) as { bookmarks?: Json };
    expect(Object.keys(lastState.bookmarks ?? {}).sort()).toEqual([...STREAMS]);

    const keys = Object.keys(await objects());
    for (const stream of STREAMS) expect(keys.filter((k) => k.startsWith(`${stream}/`))).toHaveLength(1);
    expect(await tableCounts()).toEqual(expectedRows());
    // Discovery and sync shared one download, kept in the environment's cache_dir.
    expect(kaggle.requests.filter((r) => r.kind === 'storage' && r.status === 200)).toHaveLength(1);
  });

  it("discovers tap-minio-csv's streams as catalog.json pins them, with the columns the processor wrote", async () => {
    const tap = plugin('tap-minio-csv');
    const { config, env } = meltanoSettings(tap, userEnv);
    const configFile = join(work, 'tap-minio-csv.discover.config.json');
    await writeFile(configFile, JSON.stringify(config));
    const discovery = await run('tap-minio-csv', ['--config', configFile, '--discover'], env, projectRoot);
    expect({ code: discovery.code, stderr: discovery.code === 0 ? '' : discovery.stderr }).toEqual({ code: 0, stderr: '' });
    const discovered = JSON.parse(discovery.stdout) as { streams: CatalogStream[] };
    expectSingerCatalog(discovered, STREAMS);
    const pinned = JSON.parse(await readFile(join(PROJECT, tap.catalog!), 'utf8')) as { streams: CatalogStream[] };
    expectSingerCatalog(pinned, STREAMS);
    const shape = (catalog: { streams: CatalogStream[] }): Json =>
      Object.fromEntries(
        catalog.streams.map((s) => [
          s.tap_stream_id,
          {
            columns: Object.keys(s.schema.properties ?? {}).sort(),
            keys: s.metadata.find((m) => m.breadcrumb.length === 0)?.metadata['table-key-properties'],
          },
        ]),
      );
    expect(shape(pinned)).toEqual(shape(discovered));
  });

  it('runs again from the saved states reading, writing and loading nothing', async () => {
    const before = { objects: await objects(), tables: await tableCounts() };
    const downloads = kaggle.requests.filter((r) => r.kind === 'storage').length;
    expect([...stateBackend.keys()].sort()).toEqual([`${ENVIRONMENT}:tap-kaggle-to-processor`, `${ENVIRONMENT}:tap-minio-csv-to-target-postgres`]);
    const second = await meltanoRun();
    runs.push(second);
    // Meltano runs discovery again (with the state file already in place): same catalog.
    expect(second.catalog).toEqual(runs[0]!.catalog);
    for (const [tapName, block] of Object.entries(second.blocks)) {
      expect({ plugin: tapName, records: block.records }).toEqual({ plugin: tapName, records: {} });
    }
    expect(kaggle.requests.filter((r) => r.kind === 'storage')).toHaveLength(downloads);
    expect(await objects()).toEqual(before.objects);
    expect(await tableCounts()).toEqual(before.tables);
  });
});

/** Each stdout line of a loader parsed as Meltano does: it must be a state value (an object). */
function expectStateValues(loader: string, lines: string[]): unknown[] {
  return lines.map((line, index) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    expect({ loader, line: index + 1, text: line, isStateValue: isObject(value) }).toEqual({ loader, line: index + 1, text: line, isStateValue: true });
    return value;
  });
}

/** The schema of a setting, dotted names walking into nested objects. */
function propertyAt(schema: JsonSchema, name: string): JsonSchema | undefined {
  let current: JsonSchema | undefined = schema;
  for (const part of name.split('.')) current = current?.properties?.[part];
  return current;
}
