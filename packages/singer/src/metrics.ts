import type { Logger } from './logging';

const DEFAULT_INTERVAL_MS = 5_000;

/**
 * Counts records of one stream and logs a Singer METRIC line at most every few seconds, as
 * singer-python and the Meltano SDK do (the value is the count since the previous line), plus a
 * readable progress line with the total and the rate.
 */
export class RecordCounter {
  private total = 0;
  private sinceLast = 0;
  private readonly startedAt = Date.now();
  private lastLogAt = this.startedAt;
  private nextCheck = 1_000;

  constructor(
    readonly stream: string,
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_INTERVAL_MS,
  ) {}

  get count(): number {
    return this.total;
  }

  increment(by = 1): void {
    this.total += by;
    this.sinceLast += by;
    // Reading the clock per record would cost more than counting it.
    if (this.total >= this.nextCheck) {
      this.nextCheck = this.total + 1_000;
      if (Date.now() - this.lastLogAt >= this.intervalMs) this.log();
    }
  }

  /** Logs what is still uncounted and a final summary for the stream. */
  finish(): void {
    if (this.sinceLast > 0) this.log();
    const seconds = (Date.now() - this.startedAt) / 1000;
    this.logger.info(
      `stream ${JSON.stringify(this.stream)}: ${this.total} records in ${seconds.toFixed(1)} s (${rate(this.total, seconds)} records/s)`,
    );
  }

  private log(): void {
    const now = Date.now();
    const metric = {
      type: 'counter',
      metric: 'record_count',
      value: this.sinceLast,
      tags: { stream: this.stream },
    };
    this.logger.info(`METRIC: ${JSON.stringify(metric)}`);
    const seconds = (now - this.startedAt) / 1000;
    this.logger.info(`stream ${JSON.stringify(this.stream)}: ${this.total} records so far (${rate(this.total, seconds)} records/s)`);
    this.sinceLast = 0;
    this.lastLogAt = now;
  }
}

function rate(count: number, seconds: number): string {
  return seconds > 0 ? Math.round(count / seconds).toString() : String(count);
}
