import {
  type ActivateVersionMessage,
  LosslessNumber,
  type Message,
  type RecordMessage,
  type SchemaMessage,
  stringifyExactJson,
} from '@singer-ts/singer';
import * as fc from 'fast-check';

import type { LoadMethod, ModelSettings } from './target-model';

/**
 * What the model-based test of target-postgres generates: a config, a few streams, and the
 * pieces of their SCHEMA and RECORD messages. Every behaviour can be left out by name
 * (`FUZZ_TARGET_WITHOUT=key-change,kill`), to tell failures apart or to run only what works.
 */
export const FEATURES = {
  'many-streams': '2 to 6 interleaved streams (else one)',
  'key-change': 'a stream whose key_properties change from ["id"] to ["id","tenant"]',
  versions: 'streams with versioned records and ACTIVATE_VERSION',
  'activate-before-schema': 'ACTIVATE_VERSION before the stream’s first SCHEMA',
  'schema-only': 'a SCHEMA committed before any record of it (else a record follows every SCHEMA)',
  widening: 'qty widening from integer to number, and integers beyond bigint',
  'new-column': 'a later SCHEMA adding a property',
  deletes: 'records carrying _sdc_deleted_at',
  metadata: 'add_record_metadata',
  'hard-delete': 'hard_delete',
  upsert: 'load_method upsert',
  'append-only': 'load_method append-only',
  kill: 'kill -9 of the target, then a re-run from its last printed state',
  reruns: 'a re-run from every printed state of the whole input',
  'sequence-order': '_sdc_sequence increasing with the order rows were written, across runs',
} as const;

export type Feature = keyof typeof FEATURES;
export type Features = ReadonlySet<Feature>;

/** Every feature except those named (comma-separated) in `without`. */
export function featuresWithout(without: string | undefined): Features {
  const names = (without ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (!(name in FEATURES)) throw new Error(`unknown feature ${JSON.stringify(name)}; known: ${Object.keys(FEATURES).join(', ')}`);
  }
  return new Set((Object.keys(FEATURES) as Feature[]).filter((feature) => !names.includes(feature)));
}

/** `single`: ["id"]; `composite`: ["id","tenant"]; `none`: []; `rekeyed`: ["id"], later ["id","tenant"]. */
export type KeyKind = 'single' | 'composite' | 'none' | 'rekeyed';

export interface StreamSpec {
  readonly name: string;
  readonly keys: KeyKind;
  /** Every record carries a version (full-table replication), and ACTIVATE_VERSION comes. */
  readonly versioned: boolean;
}

/** Config keys of target-postgres, as written in the config file. */
export interface TargetSettings {
  readonly batch_size_rows: number;
  readonly load_method: LoadMethod;
  readonly hard_delete: boolean;
  readonly add_record_metadata: boolean;
}

export interface Universe {
  readonly settings: TargetSettings;
  readonly streams: readonly StreamSpec[];
}

export function modelSettings(settings: TargetSettings): ModelSettings {
  return { loadMethod: settings.load_method, hardDelete: settings.hard_delete, addRecordMetadata: settings.add_record_metadata };
}

/** Stream names a table is named after verbatim: case, spaces, quotes and accents. */
const STREAM_NAMES = ['orders', 'Order Items', 'people', 'quote"d', 'événements', 'x'];

export function universeArbitrary(features: Features): fc.Arbitrary<Universe> {
  const keyKinds: KeyKind[] = ['single', 'composite', 'none'];
  if (features.has('key-change')) keyKinds.push('rekeyed');
  const stream = fc.record({
    keys: fc.constantFrom(...keyKinds),
    versioned: features.has('versions') ? fc.boolean() : fc.constant(false),
  });
  const loadMethods = (['upsert', 'append-only'] as const).filter((method) => features.has(method));
  if (loadMethods.length === 0) throw new Error('leave out upsert or append-only, not both');
  const many = features.has('many-streams');
  const streams = fc
    .array(stream, { minLength: many ? 2 : 1, maxLength: many ? 6 : 1 })
    .map((specs) => specs.map((spec, i) => ({ ...spec, name: STREAM_NAMES[i] as string })));
  const settings = fc.record({
    batch_size_rows: fc.oneof({ arbitrary: fc.integer({ min: 1, max: 10 }), weight: 4 }, fc.constantFrom(100, 100_000)),
    load_method: fc.constantFrom(...loadMethods),
    hard_delete: features.has('hard-delete') ? fc.boolean() : fc.constant(false),
    add_record_metadata: features.has('metadata') ? fc.boolean() : fc.constant(false),
  });
  return fc.record({ settings, streams });
}

/** Which of its SCHEMA versions a stream is at; each flag only ever turns on. */
export interface SchemaShape {
  /** `qty` is a number rather than an integer. */
  readonly widened: boolean;
  /** The property `added note` exists. */
  readonly noted: boolean;
  /** A `rekeyed` stream's keys are ["id","tenant"]. */
  readonly rekeyed: boolean;
}

export const NOTE = 'added note';

export function keyProperties(stream: StreamSpec, shape: SchemaShape): string[] {
  switch (stream.keys) {
    case 'single':
      return ['id'];
    case 'composite':
      return ['id', 'tenant'];
    case 'none':
      return [];
    case 'rekeyed':
      return shape.rekeyed ? ['id', 'tenant'] : ['id'];
  }
}

export function schemaMessage(stream: StreamSpec, shape: SchemaShape): SchemaMessage {
  return {
    type: 'SCHEMA',
    stream: stream.name,
    schema: {
      type: 'object',
      properties: {
        id: { type: 'integer' },
        tenant: { type: 'string' },
        qty: { type: ['null', shape.widened ? 'number' : 'integer'] },
        name: { type: ['null', 'string'] },
        ...(shape.noted ? { [NOTE]: { type: ['null', 'string'] } } : {}),
      },
    },
    key_properties: keyProperties(stream, shape),
  };
}

/** A number as its JSON text; `decimal` ones only fit a widened `qty`. */
export interface NumberSpec {
  readonly text: string;
  readonly decimal: boolean;
}

export interface RecordSpec {
  /** Few ids and tenants, so keys collide within batches, across batches and across commits. */
  readonly id: number;
  readonly tenant: 't1' | 't2';
  readonly qty: NumberSpec | null;
  readonly name: string | null;
  /** `undefined`: not in the record. Sent also where the SCHEMA lacks it (then it is dropped). */
  readonly note: string | null | undefined;
  readonly deletedAt: string | null;
  readonly timeExtracted: string | undefined;
  /** Used by versioned streams. */
  readonly version: number;
}

/** Text that COPY must escape or that looks like something else. */
const TEXTS = [
  'plain',
  '',
  'NULL',
  '\\N',
  'tab\there',
  'line\nbreak',
  'cr\rlf\r\n',
  'back\\slash',
  'quote" and \'apostrophe\'',
  'emoji 🚀',
  'São Paulo',
  '  spaced  ',
  'a,b;c|d',
];
/** Deletion times; none is near the present, so they are told apart from a `now()` of the target. */
export const DELETED_AT = ['2020-01-02T03:04:05Z', '2020-02-29T23:59:59.5Z'];
const TIME_EXTRACTED = ['2019-05-01T10:00:00Z', '2019-05-01T10:00:00.123456Z'];

export function recordSpecArbitrary(features: Features): fc.Arbitrary<RecordSpec> {
  const integers: fc.WeightedArbitrary<string>[] = [
    { arbitrary: fc.integer({ min: -5, max: 50 }).map(String), weight: 8 },
    { arbitrary: fc.constantFrom('9007199254740993', '9223372036854775807', '-9223372036854775808'), weight: 2 },
  ];
  const numbers: fc.WeightedArbitrary<NumberSpec | null>[] = [
    { arbitrary: fc.constant(null), weight: 2 },
    { arbitrary: fc.oneof(...integers).map((text) => ({ text, decimal: false })), weight: 6 },
  ];
  if (features.has('widening')) {
    // Beyond bigint: the column widens to numeric whatever the SCHEMA says.
    numbers.push({ arbitrary: fc.constantFrom('9223372036854775808', '-123456789012345678901234567890').map((text) => ({ text, decimal: false })), weight: 1 });
    numbers.push({
      arbitrary: fc.constantFrom('0.5', '-3.25', '19.99', '0.000001', '123456789012345678901234567890.123456789').map((text) => ({ text, decimal: true })),
      weight: 3,
    });
  }
  const text = fc.oneof({ arbitrary: fc.constantFrom(...TEXTS), weight: 4 }, { arbitrary: fc.constant(null), weight: 1 });
  return fc.record({
    id: fc.integer({ min: 1, max: 4 }),
    tenant: fc.constantFrom<'t1' | 't2'>('t1', 't2'),
    qty: fc.oneof(...numbers),
    name: text,
    note: features.has('new-column') ? fc.option(text, { nil: undefined }) : fc.constant(undefined),
    deletedAt: features.has('deletes') ? fc.oneof({ arbitrary: fc.constant(null), weight: 4 }, fc.constantFrom(...DELETED_AT)) : fc.constant(null),
    timeExtracted: fc.option(fc.constantFrom(...TIME_EXTRACTED), { nil: undefined }),
    version: fc.integer({ min: 1, max: 3 }),
  });
}

/**
 * Whether a record may carry `_sdc_deleted_at` under these settings: where the contract says
 * what it does (a deletion by key with upsert, not appended without keys, a column value
 * without hard_delete) and the target reads it (hard_delete or add_record_metadata).
 */
export function deletionsSpecified(settings: TargetSettings, stream: StreamSpec): boolean {
  if (settings.hard_delete) return stream.keys === 'none' || settings.load_method === 'upsert';
  return settings.add_record_metadata;
}

export function recordMessage(stream: StreamSpec, spec: RecordSpec): RecordMessage {
  const record: Record<string, unknown> = {
    id: spec.id,
    tenant: spec.tenant,
    qty: spec.qty === null ? null : new LosslessNumber(spec.qty.text),
    name: spec.name,
  };
  if (spec.note !== undefined) record[NOTE] = spec.note;
  if (spec.deletedAt !== null) record._sdc_deleted_at = spec.deletedAt;
  return {
    type: 'RECORD',
    stream: stream.name,
    record,
    ...(spec.timeExtracted === undefined ? {} : { time_extracted: spec.timeExtracted }),
    ...(stream.versioned ? { version: spec.version } : {}),
  };
}

export function activateVersionMessage(stream: StreamSpec, version: number): ActivateVersionMessage {
  return { type: 'ACTIVATE_VERSION', stream: stream.name, version };
}

/** One line of Singer input, numbers written digit for digit. */
export function messageLine(message: Message): string {
  return stringifyExactJson(message);
}

/** The config file's contents for a run into `schema`. */
export function targetConfig(settings: TargetSettings, schema: string): Record<string, unknown> {
  return { ...settings, default_target_schema: schema };
}
