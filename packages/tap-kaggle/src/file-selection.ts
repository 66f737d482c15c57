import { posix } from 'node:path';

import { ConfigError } from '@singer-ts/singer';
import picomatch from 'picomatch';

/** A dataset file chosen for a stream. */
export interface FileChoice {
  /** The file's name in the dataset (see `DatasetFile.name`). */
  readonly file: string;
  readonly stream: string;
}

export interface SelectionConfig {
  /** Names or globs; undefined: every CSV. */
  readonly files?: readonly string[];
  /** File name (or base name) → stream name. */
  readonly streamNames: Readonly<Record<string, string>>;
}

export interface Selection {
  readonly choices: readonly FileChoice[];
  /** Things worth a warning: globs that matched nothing. */
  readonly warnings: readonly string[];
}

/** The default stream of a file: its base name without `.csv` (`data/orders.csv` → `orders`). */
export function defaultStreamName(file: string): string {
  return posix.basename(file).replace(/\.csv$/i, '');
}

/**
 * Whether a `files` pattern matches a dataset file. A pattern without `/` matches the base
 * name too, so `orders.csv` and `*.csv` find files inside folders of the archive.
 */
export function patternMatcher(pattern: string): (file: string) => boolean {
  const matcher = picomatch(pattern, { dot: true });
  if (pattern.includes('/')) return (file) => matcher(file);
  return (file) => matcher(file) || matcher(posix.basename(file));
}

/** The stream a file goes to: `stream_names` by full name, then by base name, else the default. */
export function streamNameOf(file: string, streamNames: Readonly<Record<string, string>>): string {
  return streamNames[file] ?? streamNames[posix.basename(file)] ?? defaultStreamName(file);
}

/**
 * Chooses the dataset's files to emit and names their streams. With no `files`, every `.csv`
 * is chosen. A plain name in `files` that matches nothing is an error (a typo must not pass
 * silently); a glob that matches nothing is a warning. Two files landing in one stream are
 * an error that names both.
 */
export function selectFiles(available: readonly string[], config: SelectionConfig): Selection {
  const warnings: string[] = [];
  let chosen: string[];
  if (config.files === undefined) {
    chosen = available.filter((file) => /\.csv$/i.test(file));
  } else {
    const matchers = config.files.map((pattern) => ({ pattern, test: patternMatcher(pattern) }));
    const missing: string[] = [];
    for (const { pattern, test } of matchers) {
      if (available.some(test)) continue;
      if (picomatch.scan(pattern).isGlob) warnings.push(`"files" pattern ${JSON.stringify(pattern)} matches no file of the dataset`);
      else missing.push(pattern);
    }
    if (missing.length > 0) {
      throw new ConfigError(
        `"files" names ${missing.map((m) => JSON.stringify(m)).join(', ')}, which the dataset does not have`,
        { hint: `The dataset has: ${listForHint(available)}` },
      );
    }
    chosen = available.filter((file) => matchers.some(({ test }) => test(file)));
  }

  const byStream = new Map<string, string>();
  const choices: FileChoice[] = [];
  for (const file of chosen) {
    const stream = streamNameOf(file, config.streamNames);
    const other = byStream.get(stream);
    if (other !== undefined) {
      throw new ConfigError(`files ${JSON.stringify(other)} and ${JSON.stringify(file)} would both be stream ${JSON.stringify(stream)}`, {
        hint: 'Give one of them another name in "stream_names", or leave one out of "files"',
      });
    }
    byStream.set(stream, file);
    choices.push({ file, stream });
  }

  for (const key of Object.keys(config.streamNames)) {
    if (!available.some((file) => file === key || posix.basename(file) === key)) {
      warnings.push(`"stream_names" names file ${JSON.stringify(key)}, which the dataset does not have`);
    }
  }
  return { choices, warnings };
}

function listForHint(files: readonly string[]): string {
  if (files.length === 0) return 'no files';
  const shown = files.slice(0, 20).join(', ');
  return files.length > 20 ? `${shown} and ${files.length - 20} more` : shown;
}
