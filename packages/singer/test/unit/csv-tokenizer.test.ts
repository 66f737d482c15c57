import { pick, random } from '@singer-ts/devkit/testing';

import { type CsvRecord, CsvSyntaxError, type CsvSyntaxProblem, CsvTokenizer } from '../../src/csv-tokenizer';

interface Outcome {
  records: CsvRecord[];
  error?: { problem: CsvSyntaxProblem; line: number; field?: number; fieldCount?: number };
}

/** Tokenizes `pieces` in turn, then ends the input; an error ends the outcome. */
function tokenize(pieces: string[], delimiter = ',', maxRecordBytes = Infinity): Outcome {
  const tokenizer = new CsvTokenizer(delimiter, maxRecordBytes);
  const records: CsvRecord[] = [];
  try {
    for (const piece of pieces) tokenizer.push(piece, records);
    tokenizer.end(records);
  } catch (error) {
    if (!(error instanceof CsvSyntaxError)) throw error;
    const { problem, line, field, fieldCount } = error;
    return { records, error: { problem, line, field, fieldCount } };
  }
  return { records };
}

/**
 * The rules written out one character at a time, as plainly as possible: the oracle the
 * tokenizer's `indexOf` scanning and chunk carrying are checked against.
 */
function reference(text: string, delimiter = ','): Outcome {
  const records: CsvRecord[] = [];
  const n = text.length;
  const isBreak = (j: number): boolean => text[j] === '\n' || text[j] === '\r';
  const afterBreak = (j: number): number => (text[j] === '\r' && text[j + 1] === '\n' ? j + 2 : j + 1);
  let line = 1;
  let width = -1;
  let i = 0;
  while (i < n) {
    if (isBreak(i)) {
      line += 1;
      i = afterBreak(i);
      continue;
    }
    const start = line;
    const fields: (string | null)[] = [];
    for (;;) {
      if (text[i] === '"') {
        let value = '';
        i += 1;
        for (;;) {
          if (i >= n) return { records, error: { problem: 'QUOTE_NOT_CLOSED', line: start, field: fields.length } };
          if (text[i] === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i += 1;
            break;
          }
          if (isBreak(i)) {
            line += 1;
            const next = afterBreak(i);
            value += text.slice(i, next);
            i = next;
            continue;
          }
          value += text[i];
          i += 1;
        }
        fields.push(value);
        if (i < n && text[i] !== delimiter && !isBreak(i)) {
          return { records, error: { problem: 'INVALID_CLOSING_QUOTE', line: start, field: fields.length - 1 } };
        }
      } else {
        let j = i;
        while (j < n && text[j] !== delimiter && !isBreak(j)) {
          if (text[j] === '"') {
            return { records, error: { problem: 'INVALID_OPENING_QUOTE', line: start, field: fields.length } };
          }
          j += 1;
        }
        fields.push(j === i ? null : text.slice(i, j));
        i = j;
      }
      if (i < n && text[i] === delimiter) {
        i += 1;
        continue;
      }
      break;
    }
    if (width === -1) width = fields.length;
    else if (fields.length !== width) {
      return { records, error: { problem: 'RAGGED_ROW', line: start, field: undefined, fieldCount: fields.length } };
    }
    records.push({ line: start, fields });
    if (i < n) {
      line += 1;
      i = afterBreak(i);
    }
  }
  return { records };
}

/** Well-formed documents: every field quoted or not, holding what quoting allows. */
function wellFormed(next: () => number, delimiter: string): string {
  const width = 1 + Math.floor(next() * 4);
  const plain = ['x', 'é', '😀', ' ', '1.5', 'ab'];
  const quotable = [...plain, delimiter, '""', '\r', '\n', '\r\n'];
  const ends = ['\n', '\r\n', '\r'];
  let text = '';
  const rows = 1 + Math.floor(next() * 5);
  for (let r = 0; r < rows; r += 1) {
    if (next() < 0.15) text += pick(next, ends);
    const fields: string[] = [];
    for (let f = 0; f < width; f += 1) {
      const length = Math.floor(next() * 4);
      if (next() < 0.5) {
        let value = '';
        for (let k = 0; k < length; k += 1) value += pick(next, quotable);
        fields.push(`"${value}"`);
      } else {
        let value = '';
        for (let k = 0; k < length; k += 1) value += pick(next, plain);
        fields.push(value);
      }
    }
    text += fields.join(delimiter);
    if (r < rows - 1 || next() < 0.7) text += pick(next, ends);
  }
  return text;
}

/** Any text of CSV's own characters: mostly malformed, to compare the errors too. */
function anyText(next: () => number, delimiter: string): string {
  const tokens = ['x', 'é', '😀', delimiter, delimiter, '"', '"', '""', '\r', '\n', '\r\n'];
  let text = '';
  const length = Math.floor(next() * 24);
  for (let k = 0; k < length; k += 1) text += pick(next, tokens);
  return text;
}

/** `text` cut at random places. */
function randomPieces(next: () => number, text: string): string[] {
  const pieces: string[] = [];
  let at = 0;
  while (at < text.length) {
    const size = 1 + Math.floor(next() * 6);
    pieces.push(text.slice(at, at + size));
    at += size;
  }
  return pieces;
}

describe('CsvTokenizer', () => {
  it('tokenizes records, telling unquoted empty fields (null) from quoted ones', () => {
    expect(tokenize(['a,b,c\n,"",x\n"x,""y""",,"\n"\n'])).toEqual({
      records: [
        { line: 1, fields: ['a', 'b', 'c'] },
        { line: 2, fields: [null, '', 'x'] },
        { line: 3, fields: ['x,"y"', null, '\n'] },
      ],
    });
  });

  it('counts CRLF, LF and a lone CR as one line each, inside quotes too', () => {
    const { records } = tokenize(['a\r\n"1\r\n2"\r\r\n"3\n\r"\n4\r']);
    expect(records.map((r) => r.line)).toEqual([1, 2, 5, 8]);
  });

  it('joins a CRLF split between two pieces into one line end', () => {
    const { records } = tokenize(['a\r', '\nb\r', '\n\r', '\nc']);
    expect(records).toEqual([
      { line: 1, fields: ['a'] },
      { line: 2, fields: ['b'] },
      { line: 4, fields: ['c'] },
    ]);
  });

  it('waits for the next piece to tell a doubled quote from a closing one', () => {
    expect(tokenize(['a\n"x"', '"y"\n'])).toEqual(tokenize(['a\n"x""y"\n']));
    expect(tokenize(['a\n"x"', '"y"\n']).records[1]?.fields).toEqual(['x"y']);
    expect(tokenize(['a\n"x"', '\n']).records[1]?.fields).toEqual(['x']);
  });

  it('reads a record spanning many pieces, quotes and line breaks cut anywhere', () => {
    const value = `${'ab""\r\n,'.repeat(500)}end`;
    const text = `a,b\n"${value}",2\n3,4\n`;
    const pieces = randomPieces(random(7), text);
    expect(tokenize(pieces)).toEqual({
      records: [
        { line: 1, fields: ['a', 'b'] },
        { line: 2, fields: [value.replace(/""/g, '"'), '2'] },
        { line: 503, fields: ['3', '4'] },
      ],
    });
  });

  it('ends the last record at the end of the input, with or without a quote there', () => {
    expect(tokenize(['a,b\n1,']).records[1]?.fields).toEqual(['1', null]);
    expect(tokenize(['a,b\n1,"', '"']).records[1]?.fields).toEqual(['1', '']);
    expect(tokenize(['a,b\n1,x']).records[1]?.fields).toEqual(['1', 'x']);
  });

  it.each<[string, string, Outcome['error']]>([
    ['an unclosed quote', 'a,b\n1,2\n\n3,"4\n5,6\n', { problem: 'QUOTE_NOT_CLOSED', line: 4, field: 1 }],
    ['text after a closing quote', 'a,b\n"1"x,2\n', { problem: 'INVALID_CLOSING_QUOTE', line: 2, field: 0 }],
    ['a quote inside an unquoted field', 'a,b\n1,2"\n', { problem: 'INVALID_OPENING_QUOTE', line: 2, field: 1 }],
    ['a space before an opening quote', 'a,b\n1, "2"\n', { problem: 'INVALID_OPENING_QUOTE', line: 2, field: 1 }],
    ['a row with too few fields', 'a,b\n1,"\n"\n3\n', { problem: 'RAGGED_ROW', line: 4, fieldCount: 1 }],
    ['a row with too many fields', 'a,b\n1,2,\n', { problem: 'RAGGED_ROW', line: 2, fieldCount: 3 }],
  ])('reports %s with the line where its record starts', (_what, text, error) => {
    const whole = tokenize([text]);
    expect(whole.error).toMatchObject(error as object);
    expect(tokenize([...text])).toEqual(whole);
  });

  it('hands out the records before an error', () => {
    const { records, error } = tokenize(['a\n1\n2\n"3\n']);
    expect(records.map((r) => r.fields[0])).toEqual(['a', '1', '2']);
    expect(error?.problem).toBe('QUOTE_NOT_CLOSED');
  });

  it('fails with RECORD_TOO_LONG when a record held across pieces outgrows the limit, in UTF-8 bytes', () => {
    const pieces = ['a\n1\n"', ...Array.from({ length: 20 }, () => 'é'.repeat(50))];
    expect(tokenize(pieces, ',', 1000).error).toEqual({ problem: 'RECORD_TOO_LONG', line: 3 });
    expect(tokenize(pieces, ',', 3000).error).toMatchObject({ problem: 'QUOTE_NOT_CLOSED', line: 3 });
  });

  it('uses the configured delimiter and nothing else', () => {
    expect(tokenize(['a;b\n"x;y";1,5\n'], ';').records[1]?.fields).toEqual(['x;y', '1,5']);
    expect(tokenize(['a\tb\n\t\n'], '\t').records[1]?.fields).toEqual([null, null]);
  });

  it('gives the same records and errors at every chunk boundary of every sample', () => {
    const next = random(1);
    for (let sample = 0; sample < 300; sample += 1) {
      const delimiter = pick(next, [',', ';', '\t']);
      const text = sample % 3 === 0 ? anyText(next, delimiter) : wellFormed(next, delimiter);
      const whole = tokenize([text], delimiter);
      for (let at = 0; at <= text.length; at += 1) {
        expect([text, at, tokenize([text.slice(0, at), text.slice(at)], delimiter)]).toEqual([text, at, whole]);
      }
      expect([text, tokenize([...text], delimiter)]).toEqual([text, whole]);
      expect([text, tokenize(text.split(''), delimiter)]).toEqual([text, whole]);
      expect([text, tokenize(randomPieces(next, text), delimiter)]).toEqual([text, whole]);
    }
  });

  it('agrees with a character-by-character reading of the rules on random text', () => {
    const next = random(2);
    let failures = 0;
    for (let sample = 0; sample < 2000; sample += 1) {
      const delimiter = pick(next, [',', ';']);
      const text = sample % 2 === 0 ? anyText(next, delimiter) : wellFormed(next, delimiter);
      const expected = reference(text, delimiter);
      if (expected.error !== undefined) failures += 1;
      expect([text, tokenize(randomPieces(next, text), delimiter)]).toEqual([text, expected]);
    }
    // Both kinds of outcome were compared.
    expect(failures).toBeGreaterThan(200);
    expect(failures).toBeLessThan(1800);
  });
});
