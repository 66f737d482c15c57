import { randomBytes } from 'node:crypto';

import type { S3Client } from '@aws-sdk/client-s3';
import { ConfigError, type RunContext, type SchemaMessage, Target } from '@singer-ts/singer';

import type { ProcessorConfig } from './config';
import { CsvObjectSink } from './csv-object-sink';
import { MIN_PART_SIZE, QUEUE_SIZE } from './csv-object-writer';
import { type KeyTemplateRun, newRunId, renderKey } from './key-template';
import { PartBufferPool } from './part-buffer-pool';
import { createS3Client } from './s3-client';
import { copyObject, deleteObject, ensureBucket } from './s3-objects';

/** Where staging objects live while a run is open: outside any stream's key prefix. */
export const STAGING_PREFIX = '_processor_staging/';

export interface ProcessorOptions {
  /** An S3 client; default: one made from the config. */
  client?: S3Client;
  /** The run's start, for key dates; default: now. */
  startedAt?: Date;
  /** Multipart part size in bytes (default 5 MiB). */
  partSize?: number;
}

/**
 * The processor: a Singer target in shape. Every stream becomes one CSV object per run,
 * cleaned by its rules. Objects only complete at the end of the input, so it commits once,
 * then, and prints the last state value only after every object is in place.
 *
 * Commit is two steps: complete every stream's staging upload (the long, fallible part), then
 * copy each to its final key. A failure or signal before that leaves every final key as it
 * was; staging uploads are aborted and staging objects deleted.
 */
export class Processor extends Target<ProcessorConfig, CsvObjectSink> {
  override readonly commitOnState = false;

  readonly runInfo: KeyTemplateRun;
  private readonly client: S3Client;
  private readonly keys = new Map<string, string>();
  /** One pool for every stream: a quiet stream's spare part buffers serve the busy one. */
  private readonly buffers: PartBufferPool;
  private readonly ownsClient: boolean;

  constructor(config: ProcessorConfig, context: RunContext, options: ProcessorOptions = {}) {
    super(config, context);
    const startedAt = options.startedAt ?? new Date();
    this.runInfo = { startedAt, runId: newRunId(startedAt, () => randomBytes(3).toString('hex')) };
    this.client = options.client ?? createS3Client(config);
    this.ownsClient = options.client === undefined;
    this.buffers = new PartBufferPool(Math.max(options.partSize ?? MIN_PART_SIZE, MIN_PART_SIZE), QUEUE_SIZE + 1);
  }

  protected override async open(): Promise<void> {
    const { bucket, createBucket } = this.config;
    const outcome = await ensureBucket(this.client, bucket, createBucket);
    if (outcome === 'created') this.context.logger.info(`created bucket ${JSON.stringify(bucket)}`);
  }

  protected override async createSink(schema: SchemaMessage): Promise<CsvObjectSink> {
    const { config } = this;
    const key = renderKey(config.keyTemplate, schema.stream, this.runInfo, config.compression === 'gzip');
    const other = [...this.keys].find(([, k]) => k === key)?.[0];
    if (other !== undefined) {
      throw new ConfigError(`streams ${JSON.stringify(other)} and ${JSON.stringify(schema.stream)} would both be written to ${key}`, {
        stream: schema.stream,
        hint: 'Put {stream} into "key_template"',
      });
    }
    this.keys.set(schema.stream, key);
    const index = this.keys.size - 1;
    const sink = new CsvObjectSink(schema, this.context, {
      client: this.client,
      config,
      key,
      // Numbered, not named after the stream, so no stream's key pattern can match them.
      stagingKey: (generation) => `${STAGING_PREFIX}${this.runInfo.runId}/${index}.${generation}`,
      pool: this.buffers,
    });
    return sink;
  }

  protected override async commit(): Promise<void> {
    const { bucket } = this.config;
    // A misspelt stream name under "rules" would otherwise leave a stream uncleaned unnoticed.
    for (const stream of Object.keys(this.config.rules)) {
      if (!this.keys.has(stream)) {
        this.context.logger.warn(`rules name stream ${JSON.stringify(stream)}, which the input did not have`);
      }
    }
    const staged = await Promise.all([...this.sinks].map(async (sink) => ({ sink, staging: await sink.finish() })));
    for (const { sink, staging } of staged) {
      this.context.signal.throwIfAborted();
      if (staging === undefined) {
        this.context.logger.info(`stream ${JSON.stringify(sink.stream)}: no records, no object written`);
        continue;
      }
      await copyObject(this.client, bucket, staging, sink.key);
      sink.published(staging);
      // The object is in place; a staging object left behind is litter, not a failed run.
      await deleteObject(this.client, bucket, staging).catch((error: unknown) => {
        this.context.logger.warn(`could not delete staging object ${staging}: ${(error as Error).message}`);
      });
      this.context.logger.info(
        `stream ${JSON.stringify(sink.stream)}: wrote s3://${bucket}/${sink.key} (${sink.rows} rows, columns ${sink.columns.join(', ')})`,
      );
    }
  }

  /** The SDK has aborted every sink (their staging uploads and objects are gone): nothing is left to undo. */
  protected override async rollback(): Promise<void> {}

  protected override async close(): Promise<void> {
    if (this.ownsClient) this.client.destroy();
  }
}
