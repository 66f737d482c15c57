import type { Logger, Redactor } from './logging';

/** What every connector gets from the harness. */
export interface RunContext {
  readonly logger: Logger;
  /** Aborted on SIGTERM/SIGINT: stop reading, roll back, write nothing more. */
  readonly signal: AbortSignal;
  /** Register derived secrets (a token read from a file, say) so no output shows them. */
  readonly redactor: Redactor;
  /** The process environment (injectable in tests); read credentials from here, not `process.env`. */
  readonly env: NodeJS.ProcessEnv;
}
