import { LosslessNumber, type Message } from '@singer-ts/singer';
import * as fc from 'fast-check';

import {
  activateVersionMessage,
  deletionsSpecified,
  featuresWithout,
  modelSettings,
  recordMessage,
  recordSpecArbitrary,
  schemaMessage,
  type SchemaShape,
  universeArbitrary,
} from '../support/target-inputs';
import {
  type DatabaseModel,
  describeDatabase,
  type ModelSettings,
  resumeInput,
  SDC_DELETED_AT,
  SDC_TABLE_VERSION,
  SET_BY_TARGET,
  TargetModel,
  timestamptzText,
} from '../support/target-model';

const UPSERT: ModelSettings = { loadMethod: 'upsert', hardDelete: false, addRecordMetadata: false };

function schema(stream: string, keys: string[], properties: Record<string, unknown> = { id: { type: 'integer' }, v: { type: ['null', 'string'] } }): Message {
  return { type: 'SCHEMA', stream, schema: { type: 'object', properties }, key_properties: keys } as Message;
}

function record(stream: string, values: Record<string, unknown>, version?: number): Message {
  return { type: 'RECORD', stream, record: values, ...(version === undefined ? {} : { version }) };
}

function state(n: number): Message {
  return { type: 'STATE', value: { n } };
}

function run(settings: ModelSettings, messages: Message[]): TargetModel {
  const model = new TargetModel(settings);
  for (const message of messages) model.apply(message);
  return model;
}

function rows(db: DatabaseModel, table: string, columns: string[]): (string | null)[][] {
  return (db.tables.get(table)?.rows ?? []).map((row) => columns.map((column) => row.cells.get(column) ?? null));
}

describe('the target model', () => {
  it('keeps the last record per key with upsert, and every record with append-only', () => {
    const input = [schema('t', ['id']), record('t', { id: 1, v: 'a' }), record('t', { id: 2, v: 'b' }), record('t', { id: 1, v: 'c' }), state(1)];
    expect(rows(run(UPSERT, input).committed, 't', ['id', 'v'])).toEqual([
      ['2', 'b'],
      ['1', 'c'],
    ]);
    expect(rows(run({ ...UPSERT, loadMethod: 'append-only' }, input).committed, 't', ['id', 'v'])).toHaveLength(3);
  });

  it('commits at STATE and at the end of input only, and prints a state once however often it comes in a row', () => {
    const model = run(UPSERT, [schema('t', ['id']), record('t', { id: 1 }), state(1), state(1), record('t', { id: 2 })]);
    expect(rows(model.committed, 't', ['id'])).toEqual([['1']]);
    expect(model.printed).toEqual([{ n: 1 }]);
    model.end();
    expect(rows(model.committed, 't', ['id'])).toEqual([['1'], ['2']]);
    expect(model.printed).toEqual([{ n: 1 }]);
  });

  it('loses what was not committed at a crash, and the new run prints its states afresh', () => {
    const model = run(UPSERT, [schema('t', ['id']), record('t', { id: 1 }), state(1), record('t', { id: 2 })]);
    model.crash();
    expect(rows(model.committed, 't', ['id'])).toEqual([['1']]);
    model.apply(schema('t', ['id']));
    model.apply(state(1));
    expect(model.printed).toEqual([{ n: 1 }]);
  });

  it('has the table and its columns after a commit that follows a SCHEMA with no record', () => {
    const model = run(UPSERT, [schema('t', ['id']), state(1)]);
    expect([...(model.committed.tables.get('t')?.columns.keys() ?? [])]).toEqual(['id', 'v']);
    expect(model.committed.tables.get('t')?.primaryKey).toEqual(['id']);
  });

  it('widens integer to numeric by SCHEMA or by a value beyond bigint, never narrows, and alters the key', () => {
    const wide = { id: { type: 'integer' }, tenant: { type: 'string' }, q: { type: 'number' } };
    const model = run(UPSERT, [
      schema('t', ['id'], { id: { type: 'integer' }, tenant: { type: 'string' }, q: { type: 'integer' }, big: { type: 'integer' } }),
      record('t', { id: 1, tenant: 'a', q: 1, big: new LosslessNumber('9223372036854775808') }),
      schema('t', ['id', 'tenant'], wide),
      record('t', { id: 1, tenant: 'b', q: new LosslessNumber('0.5') }),
      state(1),
    ]);
    const table = model.committed.tables.get('t');
    expect(table?.columns.get('q')?.type).toBe('numeric');
    expect(table?.columns.get('big')?.type).toBe('numeric');
    expect(table?.primaryKey).toEqual(['id', 'tenant']);
    // The column the new SCHEMA lacks stays; the new row has null there.
    expect(rows(model.committed, 't', ['id', 'tenant', 'q', 'big'])).toEqual([
      ['1', 'a', '1', '9223372036854775808'],
      ['1', 'b', '0.5', null],
    ]);
  });

  it('marks rows of older versions deleted at ACTIVATE_VERSION, and revives a row sent again', () => {
    const model = run(UPSERT, [
      schema('t', ['id']),
      record('t', { id: 1, v: 'old' }, 1),
      record('t', { id: 2, v: 'old' }, 1),
      activateVersionMessage({ name: 't', keys: 'single', versioned: true }, 2),
      record('t', { id: 1, v: 'new' }, 2),
      state(1),
    ]);
    expect(rows(model.committed, 't', ['id', 'v', SDC_TABLE_VERSION, SDC_DELETED_AT])).toEqual([
      ['2', 'old', '1', SET_BY_TARGET],
      ['1', 'new', '2', null],
    ]);
    const hard = run({ ...UPSERT, hardDelete: true }, [
      schema('t', ['id']),
      record('t', { id: 1 }, 1),
      record('t', { id: 2 }, 2),
      activateVersionMessage({ name: 't', keys: 'single', versioned: true }, 2),
      state(1),
    ]);
    expect(rows(hard.committed, 't', ['id'])).toEqual([['2']]);
  });

  it('applies an ACTIVATE_VERSION sent before the first SCHEMA when that SCHEMA comes, to a table that exists', () => {
    const model = run(UPSERT, [schema('t', ['id']), record('t', { id: 1 }), state(1)]);
    model.end();
    model.newRun();
    model.apply({ type: 'ACTIVATE_VERSION', stream: 't', version: 3 });
    model.apply(schema('t', ['id']));
    model.end();
    expect(rows(model.committed, 't', ['id', SDC_DELETED_AT])).toEqual([['1', SET_BY_TARGET]]);
    // On a table that does not exist yet it changes nothing.
    const fresh = run(UPSERT, [{ type: 'ACTIVATE_VERSION', stream: 't', version: 3 }, schema('t', ['id']), record('t', { id: 1 }), state(1)]);
    expect(rows(fresh.committed, 't', ['id', SDC_DELETED_AT])).toEqual([['1', null]]);
  });

  it('deletes by key a record carrying _sdc_deleted_at with hard_delete, and stores it as a column otherwise', () => {
    const input = [
      schema('t', ['id']),
      record('t', { id: 1, v: 'a' }),
      record('t', { id: 1, v: 'b', _sdc_deleted_at: '2020-01-02T03:04:05Z' }),
      record('t', { id: 2, v: 'c', _sdc_deleted_at: '2020-01-02T03:04:05Z' }),
      state(1),
    ];
    expect(rows(run({ ...UPSERT, hardDelete: true }, input).committed, 't', ['id'])).toEqual([]);
    expect(rows(run({ ...UPSERT, addRecordMetadata: true }, input).committed, 't', ['id', 'v', SDC_DELETED_AT])).toEqual([
      ['1', 'b', '2020-01-02 03:04:05+00'],
      ['2', 'c', '2020-01-02 03:04:05+00'],
    ]);
    // Read only when the target has a use for it: else it is a property the SCHEMA lacks.
    expect(run(UPSERT, input).committed.tables.get('t')?.columns.has(SDC_DELETED_AT)).toBe(false);
  });

  it('writes date-times as PostgreSQL prints a timestamptz in UTC', () => {
    expect(timestamptzText('2020-02-29T23:59:59.500Z')).toBe('2020-02-29 23:59:59.5+00');
    expect(timestamptzText('2019-05-01T10:00:00Z')).toBe('2019-05-01 10:00:00+00');
    expect(() => timestamptzText('2019-05-01 10:00:00')).toThrow(/not modelled/);
  });

  it('resumes with the latest SCHEMA of each stream before the state, then the rest', () => {
    const input = [schema('a', ['id']), schema('b', []), schema('a', []), state(1), schema('c', ['id']), record('c', { id: 1 })];
    expect(resumeInput(input, 3)).toEqual([input[2], input[1], input[4], input[5]]);
    expect(resumeInput(input, -1)).toEqual(input);
  });

  it('ends where the whole input ends when re-run from any state it printed', () => {
    const features = featuresWithout(undefined);
    const step = fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('record' as const), stream: fc.nat(5), spec: recordSpecArbitrary(features) }), weight: 6 },
      { arbitrary: fc.record({ kind: fc.constant('schema' as const), stream: fc.nat(5), widened: fc.boolean(), noted: fc.boolean(), rekeyed: fc.boolean() }), weight: 2 },
      { arbitrary: fc.record({ kind: fc.constant('activate' as const), stream: fc.nat(5), version: fc.integer({ min: 1, max: 3 }) }), weight: 1 },
      { arbitrary: fc.constant({ kind: 'state' as const }), weight: 2 },
    );
    fc.assert(
      fc.property(universeArbitrary(features), fc.array(step, { maxLength: 40 }), (universe, steps) => {
        // Messages as the fuzz test sends them: widening SCHEMAs, records that fit them.
        const shapes = new Map<number, SchemaShape>();
        const input: Message[] = [];
        let n = 0;
        for (const s of steps) {
          if (s.kind === 'state') {
            input.push(state((n += 1)));
            continue;
          }
          const index = s.stream % universe.streams.length;
          const stream = universe.streams[index] as (typeof universe.streams)[number];
          const shape = shapes.get(index);
          if (s.kind === 'schema') {
            const next = { widened: s.widened || !!shape?.widened, noted: s.noted || !!shape?.noted, rekeyed: stream.keys === 'rekeyed' && (s.rekeyed || !!shape?.rekeyed) };
            shapes.set(index, next);
            input.push(schemaMessage(stream, next));
          } else if (s.kind === 'activate') {
            if (stream.versioned) input.push(activateVersionMessage(stream, s.version));
          } else if (shape && !(s.spec.qty?.decimal && !shape.widened) && (s.spec.deletedAt === null || deletionsSpecified(universe.settings, stream))) {
            input.push(recordMessage(stream, s.spec));
          }
        }
        const settings = modelSettings(universe.settings);
        const whole = new TargetModel(settings);
        const printedAt: number[] = [];
        input.forEach((message, i) => {
          const before = whole.printed.length;
          whole.apply(message);
          if (whole.printed.length > before) printedAt.push(i);
        });
        whole.end();
        for (const index of printedAt) {
          const resumed = new TargetModel(settings);
          for (const message of input.slice(0, index + 1)) resumed.apply(message);
          resumed.end();
          resumed.newRun();
          for (const message of resumeInput(input, index)) resumed.apply(message);
          resumed.end();
          expect(describeDatabase(resumed.committed)).toBe(describeDatabase(whole.committed));
        }
      }),
      { numRuns: 300 },
    );
  });
});
