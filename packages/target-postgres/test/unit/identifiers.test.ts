import { columnNames, MAX_IDENTIFIER_BYTES, qualifiedName, quoteIdent, safeIdentifier } from '../../src/identifiers';

describe('quoteIdent', () => {
  it('wraps a name in double quotes', () => {
    expect(quoteIdent('orders')).toBe('"orders"');
  });

  it('doubles every double quote inside the name so it cannot close the identifier', () => {
    expect(quoteIdent('a"b')).toBe('"a""b"');
    expect(quoteIdent('x"; DROP TABLE t; --')).toBe('"x""; DROP TABLE t; --"');
  });

  it('keeps case, spaces and punctuation verbatim', () => {
    expect(quoteIdent('Order Items.v2')).toBe('"Order Items.v2"');
  });

  it('qualifies a table with its schema', () => {
    expect(qualifiedName('my schema', 'T"1')).toBe('"my schema"."T""1"');
  });
});

describe('safeIdentifier', () => {
  it('returns names of up to 63 bytes unchanged', () => {
    const name = 'x'.repeat(MAX_IDENTIFIER_BYTES);
    expect(safeIdentifier(name)).toBe(name);
    expect(safeIdentifier('CamelCase')).toBe('CamelCase');
  });

  it('shortens a longer name to at most 63 bytes with a hash suffix', () => {
    const name = 'a'.repeat(100);
    const safe = safeIdentifier(name);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
    expect(safe).toMatch(/^a+_[0-9a-f]{8}$/);
  });

  it('keeps two long names that share a 63-byte prefix distinct', () => {
    const prefix = 'customer_'.repeat(10);
    expect(safeIdentifier(`${prefix}first`)).not.toBe(safeIdentifier(`${prefix}second`));
  });

  it('is stable: the same long name always maps to the same identifier', () => {
    const name = 'z'.repeat(80);
    expect(safeIdentifier(name)).toBe(safeIdentifier(name));
  });

  it('never splits a multi-byte character when shortening', () => {
    const name = 'é'.repeat(60); // 120 bytes
    const safe = safeIdentifier(name);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(MAX_IDENTIFIER_BYTES);
    expect(safe).not.toContain('\uFFFD');
    expect(safe.replace(/_[0-9a-f]{8}$/, '')).toMatch(/^é+$/);
  });

  it('rejects an empty name and a name holding NUL', () => {
    expect(() => safeIdentifier('')).toThrow(/empty/);
    expect(() => safeIdentifier('a\u0000b')).toThrow(/NUL/);
  });
});

describe('columnNames', () => {
  it('maps each property to its column', () => {
    const names = columnNames(['id', 'Name'], 't');
    expect([...names]).toEqual([
      ['id', 'id'],
      ['Name', 'Name'],
    ]);
  });

  it('refuses two properties that would land in one column', () => {
    const long = 'p'.repeat(70);
    const collidingName = safeIdentifier(long);
    expect(() => columnNames([long, collidingName], 't')).toThrow(/both map to column/);
  });
});
