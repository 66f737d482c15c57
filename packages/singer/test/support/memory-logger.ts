import type { Logger, LogLevel } from '../../src';

/** A logger that keeps its lines (`WARNING …`, `INFO …`) for assertions. */
export interface MemoryLogger extends Logger {
  readonly lines: string[];
  warnings(): string[];
}

const LABELS: Record<LogLevel, string> = { debug: 'DEBUG', info: 'INFO', warn: 'WARNING', error: 'ERROR' };

export function memoryLogger(): MemoryLogger {
  const lines: string[] = [];
  const logger: MemoryLogger = {
    level: 'debug',
    lines,
    warnings: () => lines.filter((line) => line.startsWith('WARNING ')),
    debug: (message) => lines.push(`${LABELS.debug} ${message}`),
    info: (message) => lines.push(`${LABELS.info} ${message}`),
    warn: (message) => lines.push(`${LABELS.warn} ${message}`),
    error: (message) => lines.push(`${LABELS.error} ${message}`),
    child: () => logger,
    isDebug: () => true,
  };
  return logger;
}
