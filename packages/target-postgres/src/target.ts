import { type RunContext, type SchemaMessage, Target } from '@singer-ts/singer';

import type { TargetPostgresConfig } from './config';
import { PgSession } from './pg-session';
import { PostgresSink, prepareSchema } from './sink';
import { TableManager } from './table-manager';

/**
 * Loads Singer streams into PostgreSQL over one connection. Everything between two STATE
 * messages runs in one transaction across all streams; the SDK drains every sink and calls
 * `commit()` before it prints the state value, and `rollback()` on failure or a signal.
 */
export class TargetPostgres extends Target<TargetPostgresConfig, PostgresSink> {
  private readonly session: PgSession;
  private readonly tables: TableManager;
  private sinkCount = 0;

  constructor(config: TargetPostgresConfig, context: RunContext) {
    super(config, context);
    const { password } = config.connection;
    if (password !== undefined) context.redactor.add(password);
    this.session = new PgSession(config.connection, context.logger);
    this.tables = new TableManager(context.logger);
  }

  override get validateRecords(): boolean {
    return this.config.validateRecords;
  }

  protected override async open(): Promise<void> {
    await this.session.connect();
    this.context.logger.info(`connected to PostgreSQL at ${this.session.describe()}, schema ${JSON.stringify(this.config.defaultTargetSchema)}`);
  }

  protected override async createSink(schema: SchemaMessage): Promise<PostgresSink> {
    const { config } = this;
    prepareSchema(schema, config.hardDelete || config.addRecordMetadata);
    const sink = new PostgresSink(
      schema,
      this.context,
      this.session,
      this.tables,
      {
        targetSchema: config.defaultTargetSchema,
        loadMethod: config.loadMethod,
        addRecordMetadata: config.addRecordMetadata,
        hardDelete: config.hardDelete,
        sanitizeNullTextCharacters: config.sanitizeNullTextCharacters,
        batchSizeRows: config.batchSizeRows,
      },
      ++this.sinkCount,
    );
    this.context.logger.info(
      `stream ${JSON.stringify(schema.stream)} → ${sink.qualifiedTable} (${sink.loadMethod}${config.loadMethod === 'overwrite' ? ', overwrite' : ''})`,
    );
    // The table exists after the next commit, whether or not records come.
    await sink.prepare();
    return sink;
  }

  /** The SDK has settled every sink's merges; a failed one has failed the session, so COMMIT never meets it. */
  protected override async commit(): Promise<void> {
    await this.session.commit();
  }

  protected override async rollback(): Promise<void> {
    this.tables.reset();
    await this.session.rollback();
  }

  protected override async close(): Promise<void> {
    await this.session.close();
  }
}
