import { deleteThenUpsertSql, type MergeSpec, truncateStageSql, upsertSql } from '../../src/merge-sql';

const spec = (overrides: Partial<MergeSpec> = {}): MergeSpec => ({
  target: '"public"."orders"',
  stage: 'pg_temp."_singer_stage_1"',
  columns: ['id', 'tenant', 'price'],
  keyColumns: ['id', 'tenant'],
  stageSequence: '_sdc_stage_seq',
  formattedTypes: new Map([
    ['id', 'bigint'],
    ['tenant', 'text'],
    ['price', 'numeric'],
  ]),
  ...overrides,
});

const LATEST =
  '(SELECT DISTINCT ON ("id", "tenant") * FROM pg_temp."_singer_stage_1" ORDER BY "id", "tenant", "_sdc_stage_seq" DESC)';

describe('merge SQL', () => {
  it('upserts the last record per key and leaves unchanged rows unwritten', () => {
    expect(upsertSql(spec())).toBe(
      `INSERT INTO "public"."orders" AS t ("id", "tenant", "price") SELECT "id", "tenant", "price" FROM ${LATEST} AS s ` +
        'ON CONFLICT ("id", "tenant") DO UPDATE SET "price" = EXCLUDED."price" WHERE (t."price") IS DISTINCT FROM (EXCLUDED."price")',
    );
  });

  it('updates every column, without the unchanged-row check, when a column type has no equality (json)', () => {
    const sql = upsertSql(spec({ formattedTypes: new Map([['price', 'json']]) }));
    expect(sql).toMatch(/DO UPDATE SET "price" = EXCLUDED\."price"$/);
  });

  it('does nothing on conflict when every column is a key column', () => {
    expect(upsertSql(spec({ columns: ['id', 'tenant'] }))).toMatch(/ON CONFLICT \("id", "tenant"\) DO NOTHING$/);
  });

  it('deletes keys whose last record is a deletion and upserts the rest (hard_delete)', () => {
    const [remove, upsert] = deleteThenUpsertSql(spec({ columns: ['id', 'tenant', 'price', '_sdc_deleted_at'] }), '_sdc_deleted_at');
    expect(remove).toBe(
      `DELETE FROM "public"."orders" AS t USING ${LATEST} AS s WHERE t."id" = s."id" AND t."tenant" = s."tenant" AND s."_sdc_deleted_at" IS NOT NULL`,
    );
    expect(upsert).toContain(`FROM ${LATEST} AS s WHERE s."_sdc_deleted_at" IS NULL ON CONFLICT`);
  });

  it('quotes every identifier, so a name cannot inject SQL', () => {
    const sql = upsertSql(spec({ columns: ['id', 'tenant', 'x"; DROP TABLE t; --'] }));
    expect(sql).toContain('"x""; DROP TABLE t; --"');
    expect(sql).not.toMatch(/[^"]"; DROP/);
  });

  it('empties the staging table', () => {
    expect(truncateStageSql(spec())).toBe('TRUNCATE pg_temp."_singer_stage_1"');
  });
});
