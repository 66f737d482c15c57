import type { Readable, Writable } from 'node:stream';

import yargs from 'yargs';

import { aboutJson, aboutMarkdown, type ConnectorSpecInfo } from './about';
import { type Catalog, toCatalog } from './catalog';
import { loadConfig, type NormalizeContext, readJsonFile } from './config';
import type { RunContext } from './context';
import { ConfigError, SingerError } from './errors';
import { stringifyExactJson } from './exact-json';
import { type LogLevel, parseLogLevel, Redactor, StderrLogger } from './logging';
import { readStateFile, type State } from './state';
import type { Tap } from './tap';
import type { Target } from './target';
import { MessageWriter } from './writer';

/** A state file given to `--merge-states`, read as `--state` reads one. */
export interface StateFile {
  readonly file: string;
  readonly state: State;
}

/**
 * What a tap that splits its streams into units of work tells the harness. Its executable then
 * takes `--list-units` (prints `Tap.listUnits()`, one JSON object per line), `--unit ID` (sets
 * the config key `configKey`, so a config file may name the unit as well) and, when
 * `mergeStates` is given, `--merge-states FILE…`.
 */
export interface UnitsSpec {
  /** The config key `--unit ID` sets, on top of the config files. */
  readonly configKey: string;
  /**
   * `--merge-states FILE…`: combines the states of several units into the one state printed
   * on stdout (one line). Needs no config. Throw `ConfigError` when the states do not go
   * together.
   */
  mergeStates?(states: readonly StateFile[]): State;
}

/** What a connector tells the harness about itself. */
export interface ConnectorSpec<C> extends ConnectorSpecInfo {
  /**
   * After validation: aliases, defaults, parsing. Throw `ConfigError` for what the schema can't
   * say; say through `context.logger` what the config holds that has no effect.
   */
  normalize?(raw: Record<string, unknown>, context: NormalizeContext): C;
  /** Set by taps that split their streams into units of work (see `UnitsSpec`). */
  units?: UnitsSpec;
}

/** The process's faces, injectable so tests run connectors in-process. */
export interface ConnectorIo {
  argv: string[];
  stdin: Readable;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Aborted by the process on SIGTERM/SIGINT. */
  signal?: AbortSignal;
}

type Kind = 'tap' | 'target';

interface ParsedArgs {
  config: string[];
  state?: string;
  catalog?: string;
  properties?: string;
  discover: boolean;
  listUnits: boolean;
  unit?: string;
  mergeStates?: string[];
  about: boolean;
  format: 'json' | 'markdown';
  logLevel?: string;
  version: boolean;
  help: boolean;
}

function buildParser<C>(kind: Kind, spec: ConnectorSpec<C>, argv: string[]) {
  let parser = yargs(argv)
    .scriptName(spec.name)
    .usage(`$0 [options]\n\n${spec.description}`)
    .version(false)
    .help(false)
    .exitProcess(false)
    .strict(false)
    .parserConfiguration({ 'boolean-negation': false })
    .option('config', { alias: 'c', type: 'string', array: true, default: [], describe: 'config file (JSON); repeat to merge' })
    .option('about', { type: 'boolean', default: false, describe: 'print what this connector is and its settings' })
    .option('format', { choices: ['json', 'markdown'] as const, default: 'json' as const, describe: 'format of --about' })
    .option('log-level', { type: 'string', describe: 'debug, info, warning or error (else LOG_LEVEL; default info)' })
    .option('version', { type: 'boolean', default: false, describe: 'print the version' })
    .option('help', { alias: 'h', type: 'boolean', default: false, describe: 'print this help' });
  if (kind === 'tap') {
    parser = parser
      .option('state', { alias: 's', type: 'string', describe: 'state file from an earlier run' })
      .option('catalog', { type: 'string', describe: 'catalog file selecting streams and properties' })
      .option('properties', { alias: 'p', type: 'string', describe: 'legacy alias of --catalog' })
      .option('discover', { alias: 'd', type: 'boolean', default: false, describe: 'print the catalog and exit' });
    if (spec.units) {
      parser = parser
        .option('list-units', { type: 'boolean', default: false, describe: 'print the units of work, one JSON object per line, and exit' })
        .option('unit', { type: 'string', describe: `sync only this unit (sets the config key "${spec.units.configKey}")` });
      if (spec.units.mergeStates) {
        parser = parser.option('merge-states', {
          type: 'string',
          array: true,
          describe: 'print the one state that combines these units\' states, and exit',
        });
      }
    }
  }
  return parser;
}

const SIGNAL_EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143 };

/** Runs a connector as a process would; returns the exit status. Never throws. */
export async function executeConnector<C>(
  kind: Kind,
  spec: ConnectorSpec<C>,
  create: (config: C, context: RunContext) => Tap<C> | Target<C>,
  io: ConnectorIo,
): Promise<number> {
  const redactor = new Redactor();
  let level: LogLevel = parseLogLevel(io.env.LOG_LEVEL) ?? 'info';
  let logger = new StderrLogger(level, redactor, io.stderr);
  const writer = new MessageWriter(io.stdout);
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(io.signal?.reason);
  io.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const parser = buildParser(kind, spec, io.argv);
    const args = (await parser.parse()) as unknown as ParsedArgs;
    const requested = parseLogLevel(args.logLevel);
    if (args.logLevel !== undefined && !requested) {
      logger.warn(`unknown --log-level ${JSON.stringify(args.logLevel)}; using ${level}`);
    }
    if (requested) {
      level = requested;
      logger = new StderrLogger(level, redactor, io.stderr);
    }
    if (args.help) {
      await writeText(io.stdout, `${await parser.getHelp()}\n`);
      return 0;
    }
    if (args.version) {
      await writeText(io.stdout, `${spec.name} ${spec.version}\n`);
      return 0;
    }
    if (args.about) {
      const text =
        args.format === 'markdown' ? aboutMarkdown(spec) : `${JSON.stringify(aboutJson(spec), null, 2)}\n`;
      await writeText(io.stdout, text);
      return 0;
    }

    if (kind === 'tap' && spec.units?.mergeStates && args.mergeStates !== undefined) {
      if (args.mergeStates.length === 0) {
        throw new ConfigError('--merge-states needs the state files to merge', { hint: 'Give every unit\'s last state file' });
      }
      const states: StateFile[] = [];
      for (const file of args.mergeStates) states.push({ file, state: await readStateFile(file) });
      await writeText(io.stdout, `${stringifyExactJson(spec.units.mergeStates(states))}\n`);
      return 0;
    }

    const overrides: Record<string, unknown> = {};
    if (kind === 'tap' && spec.units && args.unit !== undefined) overrides[spec.units.configKey] = args.unit;
    const config = await loadConfig<C>({
      paths: args.config,
      overrides,
      schema: spec.configSchema,
      env: spec.env,
      environment: io.env,
      redactor,
      logger,
      normalize: spec.normalize?.bind(spec),
    });
    const context: RunContext = { logger, signal: controller.signal, redactor, env: io.env };
    const connector = create(config, context);

    if (kind === 'tap') {
      const tap = connector as Tap<C>;
      try {
        if (args.discover) {
          const streams = await tap.discover();
          await writeText(io.stdout, `${JSON.stringify({ streams }, null, 2)}\n`);
          return 0;
        }
        const catalogPath = args.catalog ?? args.properties;
        const catalog: Catalog | undefined = catalogPath
          ? toCatalog(await readJsonFile(catalogPath, 'catalog'), catalogPath)
          : undefined;
        const state: State = args.state ? await readStateFile(args.state) : {};
        if (spec.units && args.listUnits) {
          for await (const unit of tap.listUnits(catalog, state)) {
            const pending = writer.writeLine(stringifyExactJson(unit));
            if (pending) await pending;
          }
        } else {
          await tap.sync(catalog, state, writer);
        }
      } finally {
        await tap.close();
      }
    } else {
      await (connector as Target<C>).run(io.stdin, writer);
    }
    await writer.flush();
    return 0;
  } catch (error) {
    // What a tap emitted before failing is valid output (records, and the states that cover
    // them); a target's buffer only ever holds state values, flushed as they are written.
    if (kind === 'tap' && !controller.signal.aborted) await writer.flush().catch(() => undefined);
    if (controller.signal.aborted) {
      const name = typeof controller.signal.reason === 'string' ? controller.signal.reason : 'SIGTERM';
      logger.error(`interrupted by ${name}: stopped without committing or printing anything more`);
      return SIGNAL_EXIT_CODES[name] ?? 1;
    }
    reportError(error, logger);
    return 1;
  } finally {
    io.signal?.removeEventListener('abort', onAbort);
  }
}

function reportError(error: unknown, logger: StderrLogger): void {
  if (error instanceof SingerError) {
    logger.error(error.toUserLine());
  } else if ((error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE') {
    logger.error('output closed by the reader (EPIPE): stopped');
  } else {
    logger.error(`unexpected error: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (logger.isDebug()) {
    let current: unknown = error;
    while (current instanceof Error) {
      logger.debug(current.stack ?? current.message);
      current = current.cause;
    }
  } else if (!(error instanceof SingerError)) {
    logger.info('run with --log-level debug for the stack trace');
  }
}

function writeText(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/** Runs a connector as this process: real stdio, signals, exit status. */
function runProcess<C>(kind: Kind, spec: ConnectorSpec<C>, create: (config: C, context: RunContext) => Tap<C> | Target<C>): void {
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    controller.abort(signal);
    // Ends the input so a target's read loop stops; nothing after this is committed.
    process.stdin.destroy();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  void executeConnector(kind, spec, create, {
    argv: process.argv.slice(2),
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signal: controller.signal,
  }).then((code) => {
    process.exitCode = code;
    // Output is flushed; a library's idle keep-alive socket must not keep the process alive.
    // eslint-disable-next-line no-restricted-syntax
    setTimeout(() => process.exit(code), 1_000).unref();
  });
}

/** The whole `main()` of a tap executable. */
export function runTap<C>(spec: ConnectorSpec<C>, create: (config: C, context: RunContext) => Tap<C>): void {
  runProcess('tap', spec, create);
}

/** The whole `main()` of a target executable (and of the processor, a target in shape). */
export function runTarget<C>(spec: ConnectorSpec<C>, create: (config: C, context: RunContext) => Target<C>): void {
  runProcess('target', spec, create);
}
