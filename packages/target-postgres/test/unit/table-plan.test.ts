import { METADATA_COLUMNS } from '@singer-ts/singer';

import type { TableState } from '../../src/table-manager';
import { columnSpecs, layoutColumns, planFor, stageDefinitions } from '../../src/table-plan';

const deletedAt = METADATA_COLUMNS.filter((m) => m.kind === 'deleted_at');
const version = METADATA_COLUMNS.filter((m) => m.kind === 'table_version');

describe('table plan', () => {
  it('lays out properties in SCHEMA order, then metadata columns, with their types and key columns', () => {
    const layout = layoutColumns(
      'orders',
      { properties: { id: { type: 'integer' }, price: { type: ['null', 'number'] }, _sdc_deleted_at: { type: 'string' } } },
      ['id'],
      [...deletedAt, ...version],
    );
    expect(layout.properties).toEqual(['id', 'price']);
    expect(columnSpecs(layout)).toEqual([
      { column: 'id', type: 'bigint' },
      { column: 'price', type: 'numeric' },
      { column: '_sdc_deleted_at', type: 'timestamptz' },
      { column: '_sdc_table_version', type: 'bigint' },
    ]);
    expect(layout.keyColumns).toEqual(['id']);
  });

  it('shortens a name past 63 bytes and maps the column back to its property', () => {
    const long = 'p'.repeat(80);
    const layout = layoutColumns('s', { properties: { [long]: { type: 'string' } } }, [], []);
    const column = layout.names.get(long) as string;
    expect(Buffer.byteLength(column)).toBeLessThanOrEqual(63);
    const table: TableState = { columns: new Map(), uniqueKeys: [], primaryKey: undefined };
    expect(planFor(layout, table, []).propertyOf.get(column)).toBe(long);
  });

  it("writes with the table's own column type (widened earlier), and names the staging order column apart", () => {
    const layout = layoutColumns('s', { properties: { id: { type: 'integer' }, _sdc_stage_seq: { type: 'integer' } } }, ['id'], []);
    const table: TableState = {
      columns: new Map([
        ['id', { formatted: 'numeric', lattice: 'numeric', notNull: true }],
        ['_sdc_stage_seq', { formatted: 'bigint', lattice: 'bigint', notNull: false }],
      ]),
      uniqueKeys: [['id']],
      primaryKey: ['id'],
    };
    const plan = planFor(layout, table, ['id']);
    expect(plan.columns[0]).toEqual({ property: 'id', column: 'id', type: 'numeric', isKey: true });
    expect(plan.stageSequence).toBe('_sdc_stage_seq_2');
    expect(stageDefinitions(plan)).toEqual(['"_sdc_stage_seq_2" bigserial', '"id" numeric', '"_sdc_stage_seq" bigint']);
  });
});
