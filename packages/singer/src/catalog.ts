import { ConfigError } from './errors';
import type { JsonSchema } from './messages';

export interface MetadataEntry {
  breadcrumb: string[];
  metadata: Record<string, unknown>;
}

export interface CatalogEntry {
  tap_stream_id: string;
  stream: string;
  schema: JsonSchema;
  key_properties?: string[];
  metadata: MetadataEntry[];
  replication_method?: string;
  replication_key?: string;
  [field: string]: unknown;
}

export interface Catalog {
  streams: CatalogEntry[];
}

function metadataAt(entry: CatalogEntry, breadcrumb: string[]): Record<string, unknown> | undefined {
  const found = entry.metadata.find(
    (m) => m.breadcrumb.length === breadcrumb.length && m.breadcrumb.every((part, i) => part === breadcrumb[i]),
  );
  return found?.metadata;
}

/** The stream-level metadata (breadcrumb `[]`). */
export function streamMetadata(entry: CatalogEntry): Record<string, unknown> {
  return metadataAt(entry, []) ?? {};
}

/** A stream is selected by `selected`, else by `selected-by-default`. */
export function isStreamSelected(entry: CatalogEntry): boolean {
  const metadata = streamMetadata(entry);
  if (typeof metadata.selected === 'boolean') return metadata.selected;
  if (typeof entry.selected === 'boolean') return entry.selected; // legacy top-level flag
  return metadata['selected-by-default'] === true;
}

/**
 * Whether a property is emitted: `automatic` always, `unsupported` never, otherwise its
 * `selected` flag, else `selected-by-default`, else selected (a catalog that says nothing about
 * a property means the whole stream as discovered).
 */
export function isPropertySelected(entry: CatalogEntry, property: string): boolean {
  const metadata = metadataAt(entry, ['properties', property]);
  if (!metadata) return true;
  if (metadata.inclusion === 'automatic') return true;
  if (metadata.inclusion === 'unsupported') return false;
  if (typeof metadata.selected === 'boolean') return metadata.selected;
  if (typeof metadata['selected-by-default'] === 'boolean') return metadata['selected-by-default'];
  return true;
}

/** The entry's schema restricted to its selected properties. */
export function selectedSchema(entry: CatalogEntry): JsonSchema {
  const properties = entry.schema.properties ?? {};
  const kept: Record<string, JsonSchema> = {};
  for (const [name, schema] of Object.entries(properties)) {
    if (isPropertySelected(entry, name)) kept[name] = schema;
  }
  return { ...entry.schema, properties: kept };
}

function asList(value: unknown): string[] | undefined {
  if (Array.isArray(value)) return value.map(String);
  if (typeof value === 'string') {
    return value
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
  }
  return undefined;
}

/** `table-key-properties` metadata, else the entry's `key_properties`. */
export function keyProperties(entry: CatalogEntry): string[] {
  return asList(streamMetadata(entry)['table-key-properties']) ?? asList(entry.key_properties) ?? [];
}

/** `replication-key` metadata, else the entry's `replication_key`. */
export function replicationKey(entry: CatalogEntry): string | undefined {
  const key = streamMetadata(entry)['replication-key'] ?? entry.replication_key;
  return typeof key === 'string' ? key : undefined;
}

export interface BuildMetadataOptions {
  keyProperties: string[];
  properties: string[];
  /** Properties always emitted besides the keys. */
  automatic?: string[];
  replicationMethod?: string;
  replicationKey?: string;
  selectedByDefault?: boolean;
  /** Extra stream-level metadata. */
  extra?: Record<string, unknown>;
}

/** Standard Singer metadata for a discovered stream. */
export function buildMetadata(options: BuildMetadataOptions): MetadataEntry[] {
  const automatic = new Set([...options.keyProperties, ...(options.automatic ?? [])]);
  if (options.replicationKey) automatic.add(options.replicationKey);
  const root: Record<string, unknown> = {
    'table-key-properties': options.keyProperties,
    'selected-by-default': options.selectedByDefault ?? true,
    ...(options.replicationMethod ? { 'forced-replication-method': options.replicationMethod } : {}),
    ...(options.replicationKey ? { 'valid-replication-keys': [options.replicationKey] } : {}),
    ...options.extra,
  };
  return [
    { breadcrumb: [], metadata: root },
    ...options.properties.map((name) => ({
      breadcrumb: ['properties', name],
      metadata: automatic.has(name)
        ? { inclusion: 'automatic' }
        : { inclusion: 'available', 'selected-by-default': options.selectedByDefault ?? true },
    })),
  ];
}

/** Checks a parsed catalog file has the Singer shape and fills `tap_stream_id`/`stream`. */
export function toCatalog(raw: unknown, file?: string): Catalog {
  const streams = (raw as { streams?: unknown } | null)?.streams;
  if (!Array.isArray(streams)) {
    throw new ConfigError('catalog must be an object with a "streams" list', { file, code: 'CATALOG_INVALID' });
  }
  return {
    streams: streams.map((value, index) => {
      const entry = value as Partial<CatalogEntry> | null;
      const id = entry?.tap_stream_id ?? entry?.stream;
      if (typeof id !== 'string' || typeof entry?.schema !== 'object' || entry.schema === null) {
        throw new ConfigError(`catalog stream #${index + 1} needs "tap_stream_id" (or "stream") and "schema"`, {
          file,
          code: 'CATALOG_INVALID',
        });
      }
      return {
        ...entry,
        tap_stream_id: id,
        stream: entry.stream ?? id,
        schema: entry.schema,
        metadata: Array.isArray(entry.metadata) ? entry.metadata : [],
      } as CatalogEntry;
    }),
  };
}
