import {
  type CatalogEntry,
  type ConnectorSpec,
  type RecordPosition,
  type RunContext,
  type SchemaMessage,
  Sink,
  Stream,
  type StreamContext,
  Tap,
  Target,
} from '../../src';

/** Everything a MemoryTarget committed, and when. */
export interface MemoryStore {
  committed: Record<string, Record<string, unknown>[]>;
  events: string[];
  /** Called as a sink takes each record: what a test waits on instead of sleeping. */
  onRecord?: (stream: string, record: Record<string, unknown>) => void;
}

export interface MemoryConfig {
  batch_size_rows: number;
  fail_on_commit?: number;
  validate_records: boolean;
  api_key?: string;
}

export const memoryTargetSpec: ConnectorSpec<MemoryConfig> = {
  name: 'target-memory',
  version: '1.2.3',
  description: 'Keeps records in memory (tests only)',
  capabilities: ['about'],
  configSchema: {
    type: 'object',
    properties: {
      batch_size_rows: { type: 'integer', minimum: 1, default: 2, description: 'rows per drain' },
      fail_on_commit: { type: 'integer' },
      validate_records: { type: 'boolean' },
      api_key: { type: 'string', secret: true, description: 'a secret' },
    },
    additionalProperties: false,
  },
  env: { api_key: ['MEMORY_API_KEY'], batch_size_rows: ['MEMORY_BATCH_SIZE'] },
  normalize: (raw) => ({
    batch_size_rows: (raw.batch_size_rows as number | undefined) ?? 2,
    fail_on_commit: raw.fail_on_commit as number | undefined,
    validate_records: raw.validate_records !== false,
    api_key: raw.api_key as string | undefined,
  }),
};

class MemorySink extends Sink {
  buffer: Record<string, unknown>[] = [];

  constructor(
    schema: SchemaMessage,
    context: RunContext,
    batchSize: number,
    private readonly target: MemoryTarget,
  ) {
    super(schema, context, batchSize);
  }

  protected override processRecord(record: Record<string, unknown>, _position: RecordPosition): void {
    this.buffer.push(record);
    this.target.onRecord(this.stream, record);
  }

  protected override async processBatch(): Promise<void> {
    this.target.events.push(`drain ${this.stream} ${this.buffer.length}`);
    const batch = this.buffer.map((r) => ({ stream: this.stream, record: r }));
    this.buffer = [];
    const background = this.target.background;
    if (background === undefined) {
      this.target.uncommitted.push(...batch);
      return;
    }
    // Work the drain leaves running: done only when the test says so.
    this.runInBackground(
      background().then(() => {
        this.target.events.push(`settled ${this.stream} ${batch.length}`);
        this.target.uncommitted.push(...batch);
      }),
    );
  }

  override async activateVersion(version: number): Promise<void> {
    this.target.events.push(`activate ${this.stream} ${version}`);
  }

  override async abort(): Promise<void> {
    this.target.events.push(`abort ${this.stream}`);
    await super.abort();
  }

  override async cleanUp(): Promise<void> {
    this.target.events.push(`clean-up ${this.stream}`);
  }
}

export class MemoryTarget extends Target<MemoryConfig> {
  uncommitted: { stream: string; record: Record<string, unknown> }[] = [];
  /** When set, each drain's records land only once the promise it returns resolves. */
  background: (() => Promise<void>) | undefined;
  commits = 0;

  constructor(
    config: MemoryConfig,
    context: RunContext,
    readonly store: MemoryStore,
  ) {
    super(config, context);
  }

  onRecord(stream: string, record: Record<string, unknown>): void {
    this.store.onRecord?.(stream, record);
  }

  get events(): string[] {
    return this.store.events;
  }

  override get validateRecords(): boolean {
    return this.config.validate_records;
  }

  protected override async createSink(schema: SchemaMessage): Promise<Sink> {
    return new MemorySink(schema, this.context, this.config.batch_size_rows, this);
  }

  protected override async commit(): Promise<void> {
    this.commits += 1;
    if (this.config.fail_on_commit === this.commits) throw new Error('commit failed');
    for (const { stream, record } of this.uncommitted) (this.store.committed[stream] ??= []).push(record);
    this.events.push(`commit ${this.uncommitted.length}`);
    this.uncommitted = [];
  }

  protected override async rollback(): Promise<void> {
    this.events.push(`rollback ${this.uncommitted.length}`);
    this.uncommitted = [];
  }
}

export function newStore(): MemoryStore {
  return { committed: {}, events: [] };
}

export interface CountingConfig {
  streams: Record<string, number>;
  token?: string;
  /** Throw when this record number is reached. */
  fail_at?: number;
}

export const countingTapSpec: ConnectorSpec<CountingConfig> = {
  name: 'tap-counting',
  version: '0.0.1',
  description: 'Counts (tests only)',
  capabilities: ['catalog', 'discover', 'state', 'about'],
  configSchema: {
    type: 'object',
    required: ['streams'],
    properties: {
      streams: { type: 'object', additionalProperties: { type: 'integer' } },
      token: { type: 'string', secret: true },
      fail_at: { type: 'integer' },
    },
  },
};

class CountingStream extends Stream {
  constructor(
    entry: CatalogEntry,
    private readonly upTo: number,
    private readonly failAt?: number,
  ) {
    super(entry);
  }

  override async *getRecords(context: StreamContext): AsyncIterable<Record<string, unknown>> {
    const from = ((context.bookmark as { done?: number } | undefined)?.done ?? 0) + 1;
    for (let n = from; n <= this.upTo; n += 1) {
      if (n === this.failAt) throw new Error(`record ${n} is broken`);
      const record: Record<string, unknown> = { n, square: n * n, label: `#${n}` };
      for (const key of Object.keys(record)) if (!(key in (this.schema.properties ?? {}))) delete record[key];
      yield record;
      if (n % 2 === 0) await context.setBookmark({ done: n });
    }
  }
}

export class CountingTap extends Tap<CountingConfig> {
  static closed = 0;

  override async close(): Promise<void> {
    CountingTap.closed += 1;
  }

  override async discover(): Promise<CatalogEntry[]> {
    return Object.keys(this.config.streams).map((name) => ({
      tap_stream_id: name,
      stream: name,
      schema: {
        type: 'object',
        properties: { n: { type: 'integer' }, square: { type: 'integer' }, label: { type: 'string' } },
      },
      metadata: [
        { breadcrumb: [], metadata: { 'table-key-properties': ['n'], 'selected-by-default': true } },
        { breadcrumb: ['properties', 'n'], metadata: { inclusion: 'automatic' } },
      ],
    }));
  }

  override createStream(entry: CatalogEntry): Stream {
    return new CountingStream(entry, this.config.streams[entry.tap_stream_id] ?? 0, this.config.fail_at);
  }
}
