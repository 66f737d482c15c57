import type { Writable } from 'node:stream';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const LABELS: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };

export interface Logger {
  readonly level: LogLevel;
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** A logger whose lines start with `prefix` (a stream name, a stage). */
  child(prefix: string): Logger;
  /** Whether `debug` lines are written. */
  isDebug(): boolean;
}

export function parseLogLevel(text: string | undefined): LogLevel | undefined {
  if (text === undefined || text === '') return undefined;
  const lower = text.toLowerCase();
  if (lower === 'warning') return 'warn';
  if (lower === 'critical' || lower === 'fatal') return 'error';
  return lower in LEVELS ? (lower as LogLevel) : undefined;
}

/**
 * Replaces every known secret value in a text. Secrets are registered once config is loaded
 * (values of the schema's secret properties, passwords inside connection strings) and are
 * removed from every line the process writes to stderr, errors included.
 */
export class Redactor {
  private secrets: string[] = [];

  add(secret: unknown): void {
    if (typeof secret !== 'string' || secret.length < 3) return;
    if (this.secrets.includes(secret)) return;
    this.secrets.push(secret);
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) this.secrets.push(encoded);
    // Longest first, so a secret containing another is replaced whole.
    this.secrets.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) {
      if (out.includes(secret)) out = out.split(secret).join('***');
    }
    // URLs with inline credentials, wherever they come from (driver errors, user input).
    return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/@\s]+:)[^@/\s]+@/gi, '$1***@');
  }
}

/** Singer-style stderr logger: `INFO message`, as singer-python writes and Meltano parses. */
export class StderrLogger implements Logger {
  constructor(
    readonly level: LogLevel = 'info',
    private readonly redactor: Redactor = new Redactor(),
    private readonly out: Writable = process.stderr,
    private readonly prefix = '',
  ) {}

  isDebug(): boolean {
    return this.level === 'debug';
  }

  debug(message: string): void {
    this.log('debug', message);
  }

  info(message: string): void {
    this.log('info', message);
  }

  warn(message: string): void {
    this.log('warn', message);
  }

  error(message: string): void {
    this.log('error', message);
  }

  child(prefix: string): Logger {
    return new StderrLogger(this.level, this.redactor, this.out, `${this.prefix}${prefix}: `);
  }

  private log(level: LogLevel, message: string): void {
    if (LEVELS[level] < LEVELS[this.level]) return;
    const text = this.redactor.redact(`${LABELS[level]} ${this.prefix}${message}`);
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }
}
