import { titlecase } from '../../src/rules/text';
import { ctx, run } from './helpers';

describe('titlecase', () => {
  it.each([
    ['são paulo', 'São Paulo'],
    ['são pedro da água branca', 'São Pedro Da Água Branca'],
    ['xangri-lá', 'Xangri-Lá'],
    ["santa bárbara d'oeste", "Santa Bárbara D'Oeste"],
    ["it's", "It's"],
    ['rio de janeiro', 'Rio De Janeiro'],
    ['SAO PAULO', 'Sao Paulo'],
    ['belo horizonte', 'Belo Horizonte'],
  ])('title-cases %j as %j, as the contract specifies', (input, expected) => {
    expect(run(titlecase, input)).toBe(expected);
  });

  it('gives the same result for decomposed accents as for composed ones', () => {
    const decomposed = 'sa\u0303o pedro da a\u0301gua branca';
    expect(decomposed).not.toBe(decomposed.normalize('NFC'));
    expect(run(titlecase, decomposed)).toBe('São Pedro Da Água Branca');
  });

  it('turns underscores into spaces as inflection.titleize does and keeps a trailing _id', () => {
    expect(run(titlecase, 'cama_mesa_banho')).toBe('Cama Mesa Banho');
    expect(run(titlecase, 'customer_id')).toBe('Customer Id');
  });

  it('capitalises after elisions but not after contractions', () => {
    expect(run(titlecase, "sant'ana do livramento")).toBe("Sant'Ana Do Livramento");
    expect(run(titlecase, 'olho d\u2019água')).toBe('Olho D\u2019Água');
    expect(run(titlecase, "don't stop we'll go")).toBe("Don't Stop We'll Go");
  });

  it('keeps a letter after a digit small and leaves other punctuation in place', () => {
    expect(run(titlecase, '3rd street')).toBe('3rd Street');
    expect(run(titlecase, 'sao paulo/sp (centro)')).toBe('Sao Paulo/Sp (Centro)');
  });

  it('keeps spacing as given', () => {
    expect(run(titlecase, '  são   paulo ')).toBe('  São   Paulo ');
  });

  it('leaves null as null and an absent value as null', () => {
    expect(run(titlecase, null)).toBeNull();
    expect(run(titlecase, undefined)).toBeNull();
  });

  it('refuses a number, naming the column and value', () => {
    expect(() => titlecase(5, ctx)).toThrow(
      expect.objectContaining({ code: 'VALUE_NOT_TEXT', column: 'customer_city', value: 5 }),
    );
  });
});
