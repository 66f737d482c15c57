import type { Message, StateMessage } from '@singer-ts/singer';
import * as fc from 'fast-check';
import type { Client } from 'pg';

import { databaseDifferences } from '../support/database-compare';
import {
  activateVersionMessage,
  deletionsSpecified,
  FEATURES,
  featuresWithout,
  messageLine,
  modelSettings,
  recordMessage,
  type RecordSpec,
  recordSpecArbitrary,
  schemaMessage,
  type SchemaShape,
  type StreamSpec,
  targetConfig,
  type Universe,
  universeArbitrary,
} from '../support/target-inputs';
import { beyondBigint, type DatabaseModel, describeDatabase, resumeInput, TargetModel } from '../support/target-model';
import { type Exit, TargetProcess } from '../support/target-process';
import { connect, runTarget, uniqueSchema, writeConfig } from './helpers';

/*
 * A model-based test of target-postgres: random Singer inputs (several streams, keys, batch
 * sizes, schema changes, versions, deletes, STATE, kill -9) drive the real executable, and after
 * every STATE, every kill and the end of input PostgreSQL and the printed states must equal
 * what the model in ../support/target-model.ts says. Then each printed state is a resume point:
 * a run of the input up to it and a second run of the rest must end where the whole input does.
 *
 * `npm test` runs a bounded number of cases; `npm run fuzz:target -- --runs N` runs more.
 * Environment: FC_RUNS, FC_SEED, FC_PATH and FC_REPLAY_PATH (replay a reported failure),
 * FUZZ_TARGET_COMMANDS (longest input, in steps), FUZZ_TARGET_BUDGET_S (seconds before the
 * remaining cases are passed over; 0: none), FUZZ_TARGET_WITHOUT (features to leave out).
 */

const features = featuresWithout(process.env.FUZZ_TARGET_WITHOUT);
const runs = Number(process.env.FC_RUNS ?? 25);
const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 0x7fffffff);
const maxCommands = Number(process.env.FUZZ_TARGET_COMMANDS ?? 30);
const budgetMs = Number(process.env.FUZZ_TARGET_BUDGET_S ?? (process.env.FC_RUNS === undefined ? 60 : 0)) * 1000;
/** Nothing the target is waiting for takes this long; past it the target is stuck. */
const STUCK_MS = 60_000;

let client: Client;

/** What the cases covered, for the summary line. */
const covered = { cases: 0, messages: 0, records: 0, states: 0, kills: 0, reruns: 0 };

beforeAll(async () => {
  client = await connect();
});

afterAll(async () => {
  await client.end();
});

/** The tap's side and the model's: what the commands read and update. */
interface Model {
  readonly universe: Universe;
  readonly target: TargetModel;
  /** Every message the tap sent, in order (a resume after a kill re-sends some; not listed again). */
  readonly sent: Message[];
  /** Each stream's current SCHEMA shape, by stream index. */
  readonly shapes: Map<number, SchemaShape>;
  /** Index in `sent` of the last STATE; -1 before the first. */
  lastState: number;
  nextState: number;
}

/** The real target and its database. */
interface Real {
  process: TargetProcess;
  readonly configPath: string;
  readonly schema: string;
  /** The input as sent, with `#` notes: the report of a failure. */
  readonly transcript: string[];
}

function streamAt(m: Model, index: number): StreamSpec {
  return m.universe.streams[index % m.universe.streams.length] as StreamSpec;
}

/** The tap sends a message: to the model and the target alike. */
function tapSends(m: Model, r: Real, message: Message): void {
  m.sent.push(message);
  covered.messages += 1;
  if (message.type === 'RECORD') covered.records += 1;
  if (message.type === 'STATE') covered.states += 1;
  if (message.type === 'STATE') m.lastState = m.sent.length - 1;
  feed(m, r, message);
}

function feed(m: Model, r: Real, message: Message): void {
  m.target.apply(message);
  const line = messageLine(message);
  r.transcript.push(line);
  r.process.send(line);
}

/** Whether a record fits its stream's current SCHEMA and the contract says what it does. */
function recordFits(m: Model, index: number, spec: RecordSpec): boolean {
  const shape = m.shapes.get(index);
  if (!shape) return false;
  if (spec.qty?.decimal && !shape.widened) return false;
  if (spec.deletedAt === null) return true;
  // Whether a hard deletion's value beyond bigint widens the column is not specified.
  const widens = spec.qty !== null && beyondBigint(spec.qty.text);
  return deletionsSpecified(m.universe.settings, streamAt(m, index)) && !(m.universe.settings.hard_delete && widens);
}

/** A record's stream: the n-th (round) of those that had a SCHEMA, so no record waits for one. */
function recordStream(m: Model, n: number): number | undefined {
  const known = [...m.shapes.keys()].sort((a, b) => a - b);
  return known.length === 0 ? undefined : known[n % known.length];
}

function exitText(exit: Exit): string {
  return exit.signal ? `was killed by ${exit.signal}` : `exited with status ${exit.code}`;
}

async function expectPrinted(m: Model, r: Real, when: string): Promise<void> {
  const expected = m.target.printed;
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), STUCK_MS)));
  const outcome = await Promise.race([r.process.printedAtLeast(expected.length), stuck]);
  clearTimeout(timer);
  const printed = JSON.stringify(r.process.printed);
  if (printed === JSON.stringify(expected)) return;
  const exit = r.process.ended;
  if (exit !== undefined && exit.signal !== 'SIGKILL') throw new Error(`${when}: the target ${exitText(exit)}: ${r.process.errorLine}`);
  if (outcome === 'stuck') throw new Error(`${when}: the target printed ${printed} and nothing more in ${STUCK_MS / 1000} s; expected ${JSON.stringify(expected)}`);
  throw new Error(`${when}: the target printed ${printed}, expected ${JSON.stringify(expected)}`);
}

async function expectDatabase(schema: string, model: DatabaseModel, when: string): Promise<void> {
  const differences = await databaseDifferences(client, schema, model, { sequenceOrder: features.has('sequence-order') });
  if (differences.length > 0) throw new Error(`${when}: PostgreSQL differs from the model:\n  ${differences.join('\n  ')}`);
}

/**
 * A SCHEMA for a stream. Its first is the base shape; a later one applies the command's changes
 * (none: the same SCHEMA again). Changes only widen: the contract keeps a vanished column but
 * says nothing of its values.
 */
class SchemaCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly stream: number,
    readonly changes: SchemaShape,
    /** Sent right after the SCHEMA when `schema-only` is left out. */
    readonly companion: RecordSpec,
  ) {}

  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    const index = this.stream % m.universe.streams.length;
    const stream = streamAt(m, index);
    const current = m.shapes.get(index);
    const shape: SchemaShape = current
      ? {
          widened: current.widened || this.changes.widened,
          noted: current.noted || this.changes.noted,
          rekeyed: current.rekeyed || (this.changes.rekeyed && stream.keys === 'rekeyed'),
        }
      : { widened: false, noted: false, rekeyed: false };
    m.shapes.set(index, shape);
    tapSends(m, r, schemaMessage(stream, shape));
    if (!features.has('schema-only')) {
      const spec = recordFits(m, index, this.companion) ? this.companion : { ...this.companion, qty: null, deletedAt: null };
      tapSends(m, r, recordMessage(stream, spec));
    }
  }

  toString(): string {
    const changes = (['widened', 'noted', 'rekeyed'] as const).filter((change) => this.changes[change]);
    return `SCHEMA(#${this.stream}${changes.length > 0 ? ` then ${changes.join(' ')}` : ''})`;
  }
}

class RecordCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly stream: number,
    readonly spec: RecordSpec,
  ) {}

  check(m: Model): boolean {
    const index = recordStream(m, this.stream);
    return index !== undefined && recordFits(m, index, this.spec);
  }

  async run(m: Model, r: Real): Promise<void> {
    tapSends(m, r, recordMessage(streamAt(m, recordStream(m, this.stream) as number), this.spec));
  }

  toString(): string {
    const { id, tenant, qty, deletedAt, version } = this.spec;
    return `RECORD(known stream ${this.stream} id=${id} ${tenant} qty=${qty?.text ?? 'null'} v${version}${deletedAt ? ' deleted' : ''})`;
  }
}

/** A STATE, or (`again`) the same STATE right after the last: printed once, not twice in a row. */
class StateCommand implements fc.AsyncCommand<Model, Real> {
  constructor(readonly again: boolean) {}

  check(m: Model): boolean {
    return !this.again || m.sent.at(-1)?.type === 'STATE';
  }

  async run(m: Model, r: Real): Promise<void> {
    const message: StateMessage = this.again ? (m.sent.at(-1) as StateMessage) : { type: 'STATE', value: { n: m.nextState++ } };
    tapSends(m, r, message);
    const when = `after ${messageLine(message)}`;
    await expectPrinted(m, r, when);
    await expectDatabase(r.schema, m.target.committed, when);
  }

  toString(): string {
    return this.again ? 'STATE(same again)' : 'STATE';
  }
}

class ActivateVersionCommand implements fc.AsyncCommand<Model, Real> {
  constructor(
    readonly stream: number,
    readonly version: number,
  ) {}

  check(m: Model): boolean {
    const known = m.shapes.has(this.stream % m.universe.streams.length);
    return streamAt(m, this.stream).versioned && (known || features.has('activate-before-schema'));
  }

  async run(m: Model, r: Real): Promise<void> {
    tapSends(m, r, activateVersionMessage(streamAt(m, this.stream), this.version));
  }

  toString(): string {
    return `ACTIVATE_VERSION(#${this.stream} v${this.version})`;
  }
}

/**
 * `kill -9` once the target printed every state it was sent and the input so far reached the
 * pipe: it may be anywhere in the records after the last STATE, but never between a COMMIT and
 * its state's line (a window no test can aim at). The database must stand at the last printed
 * state; a new run fed what a tap resuming from that state sends (its SCHEMAs, then the
 * messages after the STATE) goes on.
 */
class KillCommand implements fc.AsyncCommand<Model, Real> {
  check(): boolean {
    return true;
  }

  async run(m: Model, r: Real): Promise<void> {
    covered.kills += 1;
    // The target printed every state it was sent: nothing is left to commit, only records to load.
    await expectPrinted(m, r, 'before kill -9');
    const exit = await r.process.kill();
    if (exit.signal !== 'SIGKILL') throw new Error(`before kill -9: the target ${exitText(exit)}: ${r.process.errorLine}`);
    await expectPrinted(m, r, 'at kill -9');
    m.target.crash();
    await expectDatabase(r.schema, m.target.committed, 'after kill -9');
    r.transcript.push('# kill -9; a new run resumes from the last printed state with:');
    r.process = new TargetProcess(r.configPath);
    for (const message of resumeInput(m.sent, m.lastState)) feed(m, r, message);
  }

  toString(): string {
    return 'KILL -9';
  }
}

function commandArbitrary(): fc.Arbitrary<fc.AsyncCommand<Model, Real>> {
  const stream = fc.nat({ max: 5 });
  const change = (feature: keyof typeof FEATURES): fc.Arbitrary<boolean> => (features.has(feature) ? fc.boolean() : fc.constant(false));
  const changes = fc.record({ widened: change('widening'), noted: change('new-column'), rekeyed: change('key-change') });
  const record = recordSpecArbitrary(features);
  const commands: fc.WeightedArbitrary<fc.AsyncCommand<Model, Real>>[] = [
    { arbitrary: fc.tuple(stream, record).map(([s, spec]) => new RecordCommand(s, spec)), weight: 14 },
    { arbitrary: fc.tuple(stream, changes, record).map(([s, c, spec]) => new SchemaCommand(s, c, spec)), weight: 4 },
    { arbitrary: fc.constant(new StateCommand(false)), weight: 3 },
    { arbitrary: fc.constant(new StateCommand(true)), weight: 1 },
  ];
  if (features.has('versions')) {
    commands.push({ arbitrary: fc.tuple(stream, fc.integer({ min: 1, max: 3 })).map(([s, v]) => new ActivateVersionCommand(s, v)), weight: 2 });
  }
  if (features.has('kill')) commands.push({ arbitrary: fc.constant(new KillCommand()), weight: 1 });
  return fc.oneof(...commands);
}

/** The whole input once more, as resume points: up to each printed state, then the rest. */
async function rerunFromEveryState(universe: Universe, sent: Message[], transcript: string[], schemas: string[]): Promise<void> {
  const settings = modelSettings(universe.settings);
  const whole = new TargetModel(settings);
  const printedAt: number[] = [];
  sent.forEach((message, i) => {
    const before = whole.printed.length;
    whole.apply(message);
    if (whole.printed.length > before) printedAt.push(i);
  });
  whole.end();
  for (const index of printedAt) {
    covered.reruns += 1;
    const schema = uniqueSchema('rerun');
    schemas.push(schema);
    const config = targetConfig(universe.settings, schema);
    const model = new TargetModel(settings);
    const first = sent.slice(0, index + 1);
    for (const message of first) model.apply(message);
    model.end();
    const where = `re-run from printed state ${JSON.stringify(model.printed.at(-1))}`;
    transcript.push(`# ${where}: a first run of the input up to that STATE (${first.length} messages), then a second run of:`);
    await expectRun(first, config, model, schema, `${where}, first run`);

    model.newRun();
    const rest = resumeInput(sent, index);
    for (const message of rest) model.apply(message);
    model.end();
    transcript.push(...rest.map(messageLine));
    if (describeDatabase(model.committed) !== describeDatabase(whole.committed)) {
      throw new Error(`${where}: the model itself ends elsewhere than for the whole input (a fault of the model)`);
    }
    await expectRun(rest, config, model, schema, `${where}, second run`);
  }
}

/** An in-process run of `input`: exit 0, the model's states printed, the model's database. */
async function expectRun(input: Message[], config: Record<string, unknown>, model: TargetModel, schema: string, when: string): Promise<void> {
  const result = await runTarget(input.map(messageLine), config);
  if (result.exitCode !== 0) {
    const error = result.logs.split('\n').find((line) => line.startsWith('ERROR')) ?? result.logs.trim().split('\n').at(-1);
    throw new Error(`${when}: the target exited with status ${result.exitCode}: ${error}`);
  }
  if (JSON.stringify(result.stateValues) !== JSON.stringify(model.printed)) {
    throw new Error(`${when}: the target printed ${JSON.stringify(result.stateValues)}, expected ${JSON.stringify(model.printed)}`);
  }
  await expectDatabase(schema, model.committed, when);
}

async function runCase(universe: Universe, commands: Iterable<fc.AsyncCommand<Model, Real>>, transcript: string[]): Promise<void> {
  const schema = uniqueSchema('model');
  const schemas = [schema];
  const configPath = writeConfig(targetConfig(universe.settings, schema));
  const model: Model = {
    universe,
    target: new TargetModel(modelSettings(universe.settings)),
    sent: [],
    shapes: new Map(),
    lastState: -1,
    nextState: 1,
  };
  const real: Real = { process: new TargetProcess(configPath), configPath, schema, transcript };
  try {
    await fc.asyncModelRun(() => ({ model, real }), commands);
    transcript.push('# end of input');
    const exit = await real.process.end();
    model.target.end();
    if (exit.code !== 0) throw new Error(`at the end of input: the target ${exitText(exit)}: ${real.process.errorLine}`);
    await expectPrinted(model, real, 'at the end of input');
    await expectDatabase(schema, model.target.committed, 'at the end of input');
    if (features.has('reruns')) await rerunFromEveryState(universe, model.sent, transcript, schemas);
  } finally {
    if (real.process.ended === undefined) await real.process.abort();
    for (const name of schemas) await client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  }
}

interface Failure {
  universe: Universe;
  transcript: string[];
  error: unknown;
}

function describeUniverse(universe: Universe): string {
  const streams = universe.streams.map(
    (s, i) => `#${i} ${JSON.stringify(s.name)} (${s.keys} keys${s.versioned ? ', versioned' : ''})`,
  );
  return `config ${JSON.stringify(universe.settings)}\nstreams ${streams.join(' · ')}`;
}

describe('target-postgres against its model', () => {
  it(
    'leaves PostgreSQL and the printed states as the model says, after every STATE, kill -9, end of input and re-run',
    async () => {
      const left = Object.keys(FEATURES).filter((feature) => !features.has(feature as keyof typeof FEATURES));
      console.log(
        `model-based target-postgres test: seed ${seed}, ${runs} runs of up to ${maxCommands} steps` +
          (left.length > 0 ? `, without ${left.join(', ')}` : '') +
          (budgetMs > 0 ? `, cases started within ${budgetMs / 1000} s` : ''),
      );
      const deadline = budgetMs > 0 ? Date.now() + budgetMs : Infinity;
      let lastFailure: Failure | undefined;
      const replayPath = process.env.FC_REPLAY_PATH;
      const cases = fc.tuple(universeArbitrary(features), fc.commands([commandArbitrary()], { maxCommands, size: 'max', replayPath }));
      const property = fc.asyncProperty(cases, async ([universe, commands]) => {
        // Past the budget the remaining cases (and shrink attempts) pass unrun.
        if (Date.now() > deadline) return;
        covered.cases += 1;
        const transcript: string[] = [];
        try {
          await runCase(universe, commands, transcript);
        } catch (error) {
          lastFailure = { universe, transcript, error };
          throw error;
        }
      });
      const details = await fc.check(property, { seed, numRuns: runs, path: process.env.FC_PATH });
      const { messages, records, states, kills, reruns } = covered;
      console.log(
        `model-based target-postgres test: ${covered.cases} cases run (shrink attempts included): ${messages} messages, ` +
          `${records} records, ${states} STATEs, ${kills} kills, ${reruns} re-runs from a printed state`,
      );
      if (!details.failed) return;
      const failure = lastFailure;
      const commandsText = String(details.counterexample?.[0]?.[1] ?? '');
      const replay = /replayPath="([^"]*)"/.exec(commandsText)?.[1];
      const env = [
        `FC_SEED=${details.seed}`,
        `FC_PATH=${details.counterexamplePath ?? ''}`,
        ...(replay ? [`FC_REPLAY_PATH=${replay}`] : []),
        `FC_RUNS=1`,
        `FUZZ_TARGET_COMMANDS=${maxCommands}`,
        ...(left.length > 0 ? [`FUZZ_TARGET_WITHOUT=${left.join(',')}`] : []),
      ];
      const message = failure?.error instanceof Error ? failure.error.message : String(failure?.error ?? details.errorInstance);
      throw new Error(
        [
          `target-postgres differs from its model (seed ${details.seed}, ${details.numShrinks} shrinks)`,
          `replay: ${env.join(' ')} npx jest packages/target-postgres/test/integration/model-based.test.ts --selectProjects target-postgres`,
          failure ? describeUniverse(failure.universe) : '',
          `steps: ${commandsText.replace(/\s*\/\*replayPath=.*\*\/\s*$/, '')}`,
          `error: ${message}`,
          'input (the smallest found):',
          ...(failure?.transcript ?? []).map((line) => `  ${line}`),
        ].join('\n'),
      );
    },
    Number(process.env.FUZZ_TARGET_TIMEOUT_S ?? (budgetMs > 0 ? budgetMs / 1000 + 120 : 24 * 3600)) * 1000,
  );
});
