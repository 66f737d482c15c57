import { humanize, lowercase, titlecase, trim, uppercase } from '../../src/rules/text';
import { ctx, run } from './helpers';

describe('trim', () => {
  it('removes white space from both ends only', () => {
    expect(run(trim, '  a  b \t\n')).toBe('a  b');
    expect(run(trim, '\u00a0x\u00a0')).toBe('x');
  });

  it('keeps the empty string distinct from null', () => {
    expect(run(trim, '   ')).toBe('');
    expect(run(trim, null)).toBeNull();
  });
});

describe('lowercase and uppercase', () => {
  it('change the case of accented letters too', () => {
    expect(run(uppercase, 'sp são')).toBe('SP SÃO');
    expect(run(lowercase, 'ÁGUA Branca')).toBe('água branca');
  });

  it('leave null as null', () => {
    expect(run(uppercase, null)).toBeNull();
    expect(run(lowercase, undefined)).toBeNull();
  });

  it('refuse a boolean rather than guess its text', () => {
    expect(() => uppercase(true, ctx)).toThrow(expect.objectContaining({ code: 'VALUE_NOT_TEXT' }));
  });
});

describe('humanize', () => {
  it('turns underscores into spaces and capitalises the first letter as inflection.humanize does', () => {
    expect(run(humanize, 'cama_mesa_banho')).toBe('Cama mesa banho');
    expect(run(humanize, 'employee_salary')).toBe('Employee salary');
  });

  it('keeps a trailing _id, which inflection would drop', () => {
    expect(run(humanize, 'author_id')).toBe('Author id');
  });

  it('lower-cases accented capitals too', () => {
    expect(run(humanize, 'SÃO_PAULO')).toBe('São paulo');
  });

  it('gives "Cama Mesa Banho" when followed by titlecase', () => {
    expect(run(titlecase, run(humanize, 'cama_mesa_banho'))).toBe('Cama Mesa Banho');
  });

  it('leaves null as null', () => {
    expect(run(humanize, null)).toBeNull();
  });
});
