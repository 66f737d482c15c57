import { pick, random } from '@singer-ts/devkit/testing';

import { type CsvRecord, CsvSyntaxError, type CsvSyntaxProblem, CsvTokenizer } from '../../src/csv-tokenizer';

interface Outcome {
  records: CsvRecord[];
  error?: { problem: CsvSyntaxProblem; line: number; recordLine: number; field?: number; fieldCount?: number };
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
    const { problem, line, recordLine, field, fieldCount } = error;
    return { records, error: { problem, line, recordLine, field, fieldCount } };
  }
  return { records };
}

/**
 * PostgreSQL's reading written out one character at a time, as `CopyReadLineText` and
 * `CopyReadAttributesCSV` (copyfromparse.c) do it: the oracle the tokenizer's `indexOf`
 * scanning and chunk carrying are checked against. With the project's one difference (a
 * blank line is skipped) and one fix (the first line's quoted line breaks count by the line
 * ending found at its end; COPY counts its quoted CRs).
 */
function reference(text: string, delimiter = ','): Outcome {
  type Eol = 'LF' | 'CRLF' | 'CR' | undefined;
  const records: CsvRecord[] = [];
  const n = text.length;
  let eol: Eol;
  let lineNo = 0;
  let width = -1;
  let i = 0;
  const fail = (problem: CsvSyntaxProblem, recordLine: number, extra: { field?: number; fieldCount?: number } = {}): Outcome => ({
    records,
    error: { problem, line: lineNo, recordLine, field: extra.field, fieldCount: extra.fieldCount },
  });
  while (i < n) {
    // CopyReadLineText: one line, to a line end outside quotes or the end of the input.
    lineNo += 1;
    const recordLine = lineNo;
    const from = i;
    let to = n;
    let inQuote = false;
    let firstLfs = 0;
    let firstCrs = 0;
    while (i < n) {
      const c = text[i];
      i += 1;
      if (c === '"') inQuote = !inQuote;
      if (inQuote && (c === '\n' || c === '\r')) {
        if (eol === undefined) {
          if (c === '\n') firstLfs += 1;
          else firstCrs += 1;
        } else if (c === (eol === 'LF' ? '\n' : '\r')) {
          lineNo += 1;
        }
      }
      if (c === '\r' && !inQuote) {
        to = i - 1;
        if (eol === undefined || eol === 'CRLF') {
          if (text[i] === '\n') {
            i += 1;
            eol = 'CRLF';
          } else if (eol === 'CRLF') {
            return fail('UNQUOTED_CR', recordLine);
          } else {
            eol = 'CR';
          }
        } else if (eol === 'LF') {
          return fail('UNQUOTED_CR', recordLine);
        }
        break;
      }
      if (c === '\n' && !inQuote) {
        to = i - 1;
        if (eol === 'CR' || eol === 'CRLF') return fail('UNQUOTED_LF', recordLine);
        eol = 'LF';
        break;
      }
    }
    lineNo += eol === 'CR' || eol === 'CRLF' ? firstCrs : firstLfs;
    if (to === from) continue; // a blank line
    // CopyReadAttributesCSV: fields of unquoted text and quoted sections.
    const fields: (string | null)[] = [];
    let p = from;
    for (;;) {
      let value = '';
      let sawQuote = false;
      let foundDelimiter = false;
      for (;;) {
        while (p < to && text[p] !== delimiter && text[p] !== '"') value += text[p++];
        if (p >= to) break;
        if (text[p] === delimiter) {
          p += 1;
          foundDelimiter = true;
          break;
        }
        sawQuote = true;
        p += 1;
        for (;;) {
          if (p >= to) return fail('QUOTE_NOT_CLOSED', recordLine, { field: fields.length });
          const c = text[p++];
          if (c === '"') {
            if (p < to && text[p] === '"') {
              value += '"';
              p += 1;
              continue;
            }
            break;
          }
          value += c;
        }
      }
      fields.push(!sawQuote && value === '' ? null : value);
      if (!foundDelimiter) break;
    }
    if (width === -1) width = fields.length;
    else if (fields.length !== width) return fail('RAGGED_ROW', recordLine, { fieldCount: fields.length });
    records.push({ line: recordLine, fields });
  }
  return { records };
}

/**
 * Documents COPY reads without an error: one line ending throughout, fields unquoted, quoted
 * (holding any line break) or mixing both (`x"a,b"y`).
 */
function wellFormed(next: () => number, delimiter: string): string {
  const width = 1 + Math.floor(next() * 4);
  const plain = ['x', 'é', '😀', ' ', '1.5', 'ab'];
  const quotable = [...plain, delimiter, '""', '\r', '\n', '\r\n'];
  const end = pick(next, ['\n', '\r\n', '\r']);
  const quoted = (length: number): string => {
    let value = '';
    for (let k = 0; k < length; k += 1) value += pick(next, quotable);
    return `"${value}"`;
  };
  const unquoted = (length: number): string => {
    let value = '';
    for (let k = 0; k < length; k += 1) value += pick(next, plain);
    return value;
  };
  let text = '';
  const rows = 1 + Math.floor(next() * 5);
  for (let r = 0; r < rows; r += 1) {
    if (next() < 0.15) text += end;
    const fields: string[] = [];
    for (let f = 0; f < width; f += 1) {
      const length = Math.floor(next() * 4);
      const kind = next();
      if (kind < 0.4) fields.push(quoted(length));
      else if (kind < 0.8) fields.push(unquoted(length));
      else fields.push(unquoted(length) + quoted(length) + unquoted(Math.floor(next() * 2)));
    }
    // A lone empty field would be a blank line.
    if (width === 1 && fields[0] === '') fields[0] = '""';
    text += fields.join(delimiter);
    if (r < rows - 1 || next() < 0.7) text += end;
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

  it.each([
    // In quotes: three LFs (one of a CRLF) and two CRs (one of a CRLF).
    ['LF', 'a\n"1\n2\n3\r4\r\n5"\n\n6\n', [1, 2, 7]],
    ['CRLF', 'a\r\n"1\n2\n3\r4\r\n5"\r\n\r\n6\r\n', [1, 2, 6]],
    ['CR', 'a\r"1\n2\n3\r4\r\n5"\r\r6\r', [1, 2, 6]],
  ])("counts lines by the file's line ending (%s), inside quotes too", (_ending, text, lines) => {
    const { records, error } = tokenize([text]);
    expect(error).toBeUndefined();
    expect(records.map((r) => r.line)).toEqual(lines);
    expect(records[1]?.fields).toEqual(['1\n2\n3\r4\r\n5']);
    expect(tokenize([...text])).toEqual({ records });
  });

  it('counts the quoted line breaks of the first record by the line ending found at its end', () => {
    expect(tokenize(['"a\nb"\n1\n']).records.map((r) => r.line)).toEqual([1, 3]);
    expect(tokenize(['"a\nb\rc"\r\n1\r\n']).records.map((r) => r.line)).toEqual([1, 3]);
    expect(tokenize(['"a\n', 'b\r', 'c"\r', '1\r']).records.map((r) => r.line)).toEqual([1, 3]);
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

  it.each([
    ['a space before a quote', 'a,b\n1, "x"\n', ['1', ' x']],
    ['text after a closing quote', 'a,b\n"1"x,2\n', ['1x', '2']],
    ['a quote inside an unquoted field', 'a,b\n1,x"y"z""w\n', ['1', 'xyzw']],
    ['a quoted section holding a delimiter and a line break mid-field', 'a,b\n1,x"y,\nz"w\n', ['1', 'xy,\nzw']],
    ['two quotes mid-field (an empty quoted section)', 'a,b\n1,ab""c\n', ['1', 'abc']],
    ['a quoted empty section after text', 'a,b\n1,x""\n', ['1', 'x']],
    ['an empty quoted section alone (the empty string)', 'a,b\n1,""\n', ['1', '']],
  ])('reads %s as COPY does', (_what, text, fields) => {
    const whole = tokenize([text]);
    expect(whole.error).toBeUndefined();
    expect(whole.records[1]?.fields).toEqual(fields);
    expect(tokenize([...text])).toEqual(whole);
  });

  it.each<[string, string, Outcome['error']]>([
    // COPY: "unterminated CSV quoted field", at the line the input ends on.
    ['an unclosed quote', 'a,b\n1,2\n\n3,"4\n5,6\n', { problem: 'QUOTE_NOT_CLOSED', line: 6, recordLine: 4, field: 1 }],
    ['an unclosed quote without a last line end', 'a,b\n3,"4\n5,6', { problem: 'QUOTE_NOT_CLOSED', line: 3, recordLine: 2, field: 1 }],
    ['an unclosed quote mid-field', "a,b\n1,37°46'30\"N\n", { problem: 'QUOTE_NOT_CLOSED', line: 3, recordLine: 2, field: 1 }],
    // COPY: "unquoted carriage return found in data", on the line holding it.
    ['a CR in an LF file', 'id,c\n1,see attached\r2,ok\n3,fine\n', { problem: 'UNQUOTED_CR', line: 2, recordLine: 2 }],
    ['a CRLF in an LF file', 'a,b\n1,2\r\n3,4\n', { problem: 'UNQUOTED_CR', line: 2, recordLine: 2 }],
    ['a CR on a blank line of an LF file', 'a,b\n\r\n1,2\n', { problem: 'UNQUOTED_CR', line: 2, recordLine: 2 }],
    ['a CR after a multi-line record', 'a,b\n1,"x\ny"\r', { problem: 'UNQUOTED_CR', line: 3, recordLine: 2 }],
    ['a lone CR in a CRLF file', 'a,b\r\n1,2\r3,4\r\n', { problem: 'UNQUOTED_CR', line: 2, recordLine: 2 }],
    ['a CR ending a CRLF file', 'a,b\r\n1,2\r', { problem: 'UNQUOTED_CR', line: 2, recordLine: 2 }],
    // COPY: "unquoted newline found in data".
    ['an LF in a CRLF file', 'a,b\r\n1,2\n3,4\r\n', { problem: 'UNQUOTED_LF', line: 2, recordLine: 2 }],
    ['an LF in a CR file', 'a,b\r1,2\n', { problem: 'UNQUOTED_LF', line: 2, recordLine: 2 }],
    ['a CRLF in a CR file (the LF starts the next line)', 'a,b\r1,2\r\n3,4\r', { problem: 'UNQUOTED_LF', line: 3, recordLine: 3 }],
    // COPY: "missing data" / "extra data", on the record's last line.
    ['a row with too few fields', 'a,b\n1,"\n"\n3\n', { problem: 'RAGGED_ROW', line: 4, recordLine: 4, fieldCount: 1 }],
    ['a row with too many fields', 'a,b\n1,2,\n', { problem: 'RAGGED_ROW', line: 2, recordLine: 2, fieldCount: 3 }],
    ['a ragged row spanning lines', 'a,b\n"x\ny"\n', { problem: 'RAGGED_ROW', line: 3, recordLine: 2, fieldCount: 1 }],
  ])('reports %s on the line COPY names', (_what, text, error) => {
    const whole = tokenize([text]);
    expect(whole.error).toEqual({ field: undefined, fieldCount: undefined, ...error });
    expect(tokenize([...text])).toEqual(whole);
  });

  it('gives no record for a line whose ending is an error', () => {
    for (const text of ['a\r\n1\r\n2\r', 'a\r\n1\r\n2\rx', 'a\n1\n2\r']) {
      for (const pieces of [[text], [...text]]) {
        expect(tokenize(pieces).records.map((r) => r.fields[0])).toEqual(['a', '1']);
      }
    }
  });

  it('holds a record that a CR ends at the end of a piece until the next piece tells CRLF from CR', () => {
    expect(tokenize(['a\r', '\n1\r', '\n'])).toEqual({ records: [{ line: 1, fields: ['a'] }, { line: 2, fields: ['1'] }] });
    expect(tokenize(['a\r', '1\r'])).toEqual({ records: [{ line: 1, fields: ['a'] }, { line: 2, fields: ['1'] }] });
    expect(tokenize(['a,b\r', '1\r']).error).toMatchObject({ problem: 'RAGGED_ROW', line: 2 });
  });

  it('tells the line ending the first line end outside quotes set', () => {
    const lineEnding = (text: string): string | undefined => {
      const tokenizer = new CsvTokenizer(',');
      tokenizer.push(text, []);
      return tokenizer.lineEnding;
    };
    expect(lineEnding('"a\r\n"\n')).toBe('LF');
    expect(lineEnding('\r\na\r\n')).toBe('CRLF');
    expect(lineEnding('a\rb')).toBe('CR');
    expect(lineEnding('a\r')).toBeUndefined();
    expect(lineEnding('"a\n')).toBeUndefined();
  });

  it('knows the line the text taken so far ends on, inside a record spanning lines too', () => {
    const tokenizer = new CsvTokenizer(',');
    tokenizer.push('a,b\n1,2\n3,"x\ny', []);
    expect(tokenizer.lineAtEnd).toBe(4);
    tokenizer.push('\n"\n', []);
    expect(tokenizer.lineAtEnd).toBe(6);
  });

  it('names the line where an unclosed quote opened', () => {
    const failure = (text: string): CsvSyntaxError | undefined => {
      try {
        const tokenizer = new CsvTokenizer(',');
        tokenizer.push(text, []);
        tokenizer.end([]);
      } catch (error) {
        return error as CsvSyntaxError;
      }
      return undefined;
    };
    expect(failure('a,b\n1,"x\n"\n2,"y\nz\n')).toMatchObject({ line: 6, recordLine: 4, quoteLine: 4, field: 1 });
    expect(failure('a,b\n1,"x\n"y"\nz\n')).toMatchObject({ line: 5, recordLine: 2, quoteLine: 3, field: 1 });
  });

  it('hands out the records before an error', () => {
    const { records, error } = tokenize(['a\n1\n2\n"3\n']);
    expect(records.map((r) => r.fields[0])).toEqual(['a', '1', '2']);
    expect(error?.problem).toBe('QUOTE_NOT_CLOSED');
  });

  it('fails with RECORD_TOO_LONG when a record held across pieces outgrows the limit, in UTF-8 bytes', () => {
    const pieces = ['a\n1\n"', ...Array.from({ length: 20 }, () => 'é'.repeat(50))];
    expect(tokenize(pieces, ',', 1000).error).toMatchObject({ problem: 'RECORD_TOO_LONG', line: 3, recordLine: 3 });
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

  it('agrees with a character-by-character reading of COPY\'s rules on random text', () => {
    const next = random(2);
    let failures = 0;
    for (let sample = 0; sample < 2000; sample += 1) {
      const delimiter = pick(next, [',', ';']);
      const text = sample % 2 === 0 ? anyText(next, delimiter) : wellFormed(next, delimiter);
      const expected = reference(text, delimiter);
      if (expected.error !== undefined) failures += 1;
      if (sample % 2 === 1) expect([text, expected.error]).toEqual([text, undefined]);
      expect([text, tokenize(randomPieces(next, text), delimiter)]).toEqual([text, expected]);
    }
    // Both kinds of outcome were compared.
    expect(failures).toBeGreaterThan(200);
    expect(failures).toBeLessThan(1800);
  });
});
