/**
 * A tokenizer for the text of PostgreSQL's `COPY … CSV` format, fed in string chunks.
 *
 * Why by hand: COPY tells an unquoted empty field (null) from a quoted one (`""`, the empty
 * string). csv-parse can only show that through its `raw` mode with explicit record
 * delimiters, and profiling tap-minio-csv on 300k order_items rows put csv-parse at 1.17 s of
 * 3.5 s CPU (~3.9 µs a row) that way; no other library keeps the distinction either. This
 * scans each chunk with `indexOf` and slices fields straight out of it. Measured on 1M
 * order_items rows (ids quoted, Node 20): plain csv-parse 2.72 s, `openCsv` on csv-parse's raw
 * mode 3.42 s, `openCsv` on this tokenizer 0.35 s, peak RSS ~60 MB for each.
 *
 * Rules: COPY's own (`CopyReadLineText` and `CopyReadAttributesCSV` in PostgreSQL's
 * copyfromparse.c), with one difference, a line holding nothing is skipped (but counted):
 * - a quote opens a quoted section anywhere in a field, which runs to the next quote, `""`
 *   inside standing for `"`; it may hold delimiters and line breaks. A field is its unquoted
 *   text and its quoted sections joined (`1, "x"` gives ` x`, `"x"y` gives `xy`); it is null
 *   only when it is empty and has no quote;
 * - the first line end outside quotes sets the input's line ending, LF, CRLF or CR; any other
 *   outside quotes later is an error (`UNQUOTED_CR`, `UNQUOTED_LF`), as in COPY. In a CR
 *   file the LF of a CRLF is the next line's problem, as COPY sees it;
 * - lines are counted by that line ending, inside quotes too: in an LF file a quoted CR is no
 *   line break, in a CR or CRLF file a quoted LF is none;
 * - a quote still open at the end of the input is `QUOTE_NOT_CLOSED`;
 * - every record must have as many fields as the first one (the header).
 *
 * Errors carry the line COPY names: where the problem was found, so for a record spanning lines
 * its line there (the last for a ragged row; the input's last for an unclosed quote). Only in a
 * first record that holds quoted line breaks in an LF file does this count differ: COPY counts
 * quoted CRs until it knows the line ending, and so misses those lines; this counts them.
 */

const QUOTE = 34;
const LF = 10;
const CR = 13;

/** The line ending: not seen yet, or the one the first line end outside quotes set. */
const EOL_UNKNOWN = 0;
const EOL_LF = 1;
const EOL_CRLF = 2;
const EOL_CR = 3;
const EOL_NAMES = [undefined, 'LF', 'CRLF', 'CR'] as const;

/** The line ending an input uses, set by its first line end outside quotes. */
export type CsvLineEnding = 'LF' | 'CRLF' | 'CR';

/** One record: its fields, and the physical line where it starts (1-based). */
export interface CsvRecord {
  readonly line: number;
  /** `null` for an unquoted empty field, `''` for a quoted one. */
  readonly fields: (string | null)[];
}

export type CsvSyntaxProblem =
  | 'QUOTE_NOT_CLOSED'
  | 'UNQUOTED_CR'
  | 'UNQUOTED_LF'
  | 'RAGGED_ROW'
  | 'RECORD_TOO_LONG';

/** Malformed input, located as COPY locates it. */
export class CsvSyntaxError extends Error {
  constructor(
    readonly problem: CsvSyntaxProblem,
    /** The line COPY names: where the problem was found. */
    readonly line: number,
    /** Line where the record starts. */
    readonly recordLine: number,
    /** 0-based index of the field, where one is to blame. */
    readonly field?: number,
    /** The record's field count, for `RAGGED_ROW`. */
    readonly fieldCount?: number,
    /** Line of the quote left open, for `QUOTE_NOT_CLOSED`. */
    readonly quoteLine?: number,
  ) {
    super(problem);
    this.name = 'CsvSyntaxError';
  }
}

export class CsvTokenizer {
  /** Line where the next record starts, or where the unfinished one started. */
  private line = 1;
  /** Fields each record must have: the first record's count, -1 before it. */
  private width = -1;
  private eol = EOL_UNKNOWN;
  /**
   * Quoted LFs and CRs of the record read while the line ending is unknown (the first one):
   * which of them are line breaks is known at its end.
   */
  private firstLfs = 0;
  private firstCrs = 0;
  /**
   * A line ended in a CR as the text ended, and the next character decides whether the line
   * ending is CRLF or CR, or (in a CRLF input) whether the CR is an error. The record of that
   * line (undefined for a blank line) waits until then, and `pendingCrLine` is its last line.
   */
  private pendingCr = false;
  private pendingRecord: CsvRecord | undefined;
  private pendingCrLine = 0;
  /**
   * A record that did not end in its chunk: its text so far, in pieces. Later chunks are only
   * searched for its end (quote parity, then a line end), and the whole record is tokenized
   * once it is complete, so a record spanning many chunks costs no rescans.
   */
  private carry: string[] | undefined;
  private carryBytes = 0;
  /** Whether the carried text ends inside quotes. */
  private carryQuoted = false;
  /** What `readMixedField` read: the field and the line breaks in its quotes. */
  private mixedValue: string | null = null;
  private mixedBreaks = 0;
  private readonly delimiterCode: number;

  constructor(
    private readonly delimiter: string,
    /** A record held across chunks may grow to this many UTF-8 bytes; longer is an error. */
    private readonly maxRecordBytes = Infinity,
  ) {
    this.delimiterCode = delimiter.charCodeAt(0);
  }

  /** The input's line ending, once its first line end outside quotes was read. */
  get lineEnding(): CsvLineEnding | undefined {
    return EOL_NAMES[this.eol];
  }

  /**
   * The line the text taken so far ends on (where a problem right after it would be): the
   * line where the next record starts, plus the quoted line breaks of an unfinished one.
   */
  get lineAtEnd(): number {
    const carry = this.carry;
    if (carry === undefined) return this.line;
    const text = carry.join('');
    // The carried text holds no line end outside quotes (it would have ended the record).
    return this.line + countOf(text, this.eol === EOL_LF || this.eol === EOL_UNKNOWN ? '\n' : '\r', 0, text.length);
  }

  /**
   * Tokenizes the next piece of text, appending each record it completes to `out`. On malformed
   * input it throws a `CsvSyntaxError`, after appending the records before the bad one.
   */
  push(text: string, out: CsvRecord[]): void {
    let from = 0;
    const carry = this.carry;
    if (carry !== undefined) {
      const end = this.seekRecordEnd(text);
      if (end === -1) {
        carry.push(text);
        this.growCarry(text);
        return;
      }
      // The record ends with its line end, so it is tokenized whole (a CR at its end waits
      // for the next character, which `text` has or the next chunk brings).
      const record = carry.join('') + text.slice(0, end);
      this.carry = undefined;
      this.scan(record, 0, false, out);
      from = end;
    }
    const rest = this.scan(text, from, false, out);
    if (rest < text.length) {
      const partial = text.slice(rest);
      this.carry = [partial];
      this.carryBytes = 0;
      this.carryQuoted = false;
      // Sets the quote parity at its end: the scan found no record end in it.
      this.seekRecordEnd(partial);
      this.growCarry(partial);
    }
  }

  /** Ends the input: the record still open ends here (or is an unclosed quote). */
  end(out: CsvRecord[]): void {
    const carry = this.carry;
    if (carry !== undefined) {
      this.carry = undefined;
      this.scan(carry.join(''), 0, true, out);
    } else if (this.pendingCr) {
      this.scan('', 0, true, out);
    }
  }

  private growCarry(text: string): void {
    this.carryBytes += Buffer.byteLength(text, 'utf8');
    if (this.carryBytes > this.maxRecordBytes) {
      throw new CsvSyntaxError('RECORD_TOO_LONG', this.line, this.line);
    }
  }

  /**
   * Tokenizes whole records of `text` from `from`; returns where the first record that does
   * not end in it starts (`text.length` when none), unless `final`, when the text's end ends
   * the last record.
   */
  private scan(text: string, from: number, final: boolean, out: CsvRecord[]): number {
    const n = text.length;
    let pos = from;
    if (this.pendingCr) {
      if (pos === n && !final) return n;
      pos = this.settlePendingCr(text, pos, out);
    }
    const delimiter = this.delimiter;
    const d = this.delimiterCode;
    let width = this.width;
    let line = this.line;
    // The next LF, CR and quote at or after where each was last looked up (n: none). Rows share
    // one LF lookup, and a file without CRs looks for one once per chunk.
    let nextLf = -1;
    let nextCr = -1;
    let nextQuote = -1;
    while (pos < n) {
      let c = text.charCodeAt(pos);
      if (c === LF || c === CR) {
        // A blank line.
        const next = this.pastLineEnd(text, pos, c, final, line, line);
        line += 1;
        if (next === -1) return this.deferCr(undefined, line - 1, line, n);
        pos = next;
        continue;
      }
      const start = pos;
      const startLine = line;
      if (this.eol === EOL_UNKNOWN) {
        this.firstLfs = 0;
        this.firstCrs = 0;
      }
      const fields: (string | null)[] = [];
      // One field per turn; `c` is the character at `pos` (NaN at the end of the text).
      for (;;) {
        if (c === QUOTE) {
          let value: string | undefined;
          let segment = pos + 1;
          let close: number;
          for (;;) {
            close = text.indexOf('"', segment);
            if (close === -1 || close + 1 === n) {
              // Until more text comes, a last quote might be the first of a doubled one.
              if (!final) return this.unfinished(start, startLine);
              if (close === -1) throw this.unclosed(line, line, text, pos + 1, startLine, fields.length);
              break;
            }
            if (text.charCodeAt(close + 1) !== QUOTE) break;
            const piece = text.slice(segment, close + 1);
            value = value === undefined ? piece : value + piece;
            segment = close + 2;
          }
          const after = text.charCodeAt(close + 1);
          if (after === d || after === LF || after === CR || close + 1 === n) {
            const last = text.slice(segment, close);
            fields.push(value === undefined ? last : value + last);
            // Line breaks inside the quotes move the line count on.
            if (nextLf <= pos) nextLf = indexOrEnd(text, '\n', pos + 1);
            if (nextCr <= pos) nextCr = indexOrEnd(text, '\r', pos + 1);
            if (nextLf < close || nextCr < close) line += this.quotedBreaks(text, pos + 1, close);
            pos = close + 1;
            c = after;
            if (c === d) {
              pos += 1;
              c = text.charCodeAt(pos);
              continue;
            }
            break;
          }
          // Text follows the closing quote: COPY joins it to the field (below).
        } else if (c === d) {
          fields.push(null);
          pos += 1;
          c = text.charCodeAt(pos);
          continue;
        } else if (c === LF || c === CR) {
          fields.push(null);
          break;
        } else if (pos === n) {
          if (!final) return this.unfinished(start, startLine);
          fields.push(null);
          break;
        } else {
          // An unquoted field: up to the next delimiter or line end, unless a quote comes first.
          if (nextLf < pos) nextLf = indexOrEnd(text, '\n', pos);
          if (nextCr < pos) nextCr = indexOrEnd(text, '\r', pos);
          let end = indexOrEnd(text, delimiter, pos);
          if (nextLf < end) end = nextLf;
          if (nextCr < end) end = nextCr;
          if (nextQuote < pos) nextQuote = indexOrEnd(text, '"', pos);
          if (nextQuote >= end) {
            if (end === n && !final) return this.unfinished(start, startLine);
            fields.push(text.slice(pos, end));
            pos = end;
            c = text.charCodeAt(pos);
            if (c !== d) break;
            pos += 1;
            c = text.charCodeAt(pos);
            continue;
          }
        }
        // A field mixing quoted sections and unquoted text, read again from its start.
        const end = this.readMixedField(text, pos, final, line, startLine, fields.length);
        if (end === -1) return this.unfinished(start, startLine);
        fields.push(this.mixedValue);
        line += this.mixedBreaks;
        pos = end;
        c = text.charCodeAt(pos);
        if (c !== d) break;
        pos += 1;
        c = text.charCodeAt(pos);
      }
      // The record ends at `pos`: an LF, a CR or the end of the text.
      if (pos < n) {
        if (c === LF && this.eol === EOL_LF) {
          pos += 1;
        } else {
          const next = this.pastLineEnd(text, pos, c, final, line, startLine);
          if (next === -1) return this.deferCr({ line: startLine, fields }, line, line + 1, n);
          if (this.firstLfs !== 0 || this.firstCrs !== 0) line += this.takeFirstBreaks();
          pos = next;
        }
        if (fields.length !== width) width = this.checkWidth(fields.length, line, startLine);
        out.push({ line: startLine, fields });
        line += 1;
      } else {
        if (this.firstLfs !== 0 || this.firstCrs !== 0) line += this.takeFirstBreaks();
        if (fields.length !== width) width = this.checkWidth(fields.length, line, startLine);
        out.push({ line: startLine, fields });
      }
    }
    this.line = line;
    return n;
  }

  /** The width every record must have, from the first one; throws on a ragged record. */
  private checkWidth(count: number, line: number, recordLine: number): number {
    if (this.width !== -1) throw new CsvSyntaxError('RAGGED_ROW', line, recordLine, undefined, count);
    this.width = count;
    return count;
  }

  /**
   * The position after the line end `c` (LF or CR) at `pos`, which ends `line`; sets the line
   * ending at the first one. Throws where COPY does: a CR in an LF input, or one without an LF
   * after it in a CRLF input; an LF in a CR or CRLF input. Returns -1 when a CR ends the text
   * and only the next character can tell.
   */
  private pastLineEnd(text: string, pos: number, c: number, final: boolean, line: number, recordLine: number): number {
    const eol = this.eol;
    if (c === LF) {
      if (eol === EOL_LF) return pos + 1;
      if (eol !== EOL_UNKNOWN) throw new CsvSyntaxError('UNQUOTED_LF', line, recordLine);
      this.eol = EOL_LF;
      return pos + 1;
    }
    if (eol === EOL_CR) return pos + 1;
    if (eol === EOL_LF) throw new CsvSyntaxError('UNQUOTED_CR', line, recordLine);
    const next = pos + 1;
    if (next === text.length && !final) return -1;
    if (text.charCodeAt(next) === LF) {
      this.eol = EOL_CRLF;
      return next + 1;
    }
    if (eol === EOL_CRLF) throw new CsvSyntaxError('UNQUOTED_CR', line, recordLine);
    this.eol = EOL_CR;
    return next;
  }

  /**
   * Holds a line that a CR ended at the end of the text (`record` is its record, if any) until
   * the next character is known; `line` is the line the CR ends.
   */
  private deferCr(record: CsvRecord | undefined, crLine: number, nextLine: number, n: number): number {
    this.pendingCr = true;
    this.pendingRecord = record;
    this.pendingCrLine = crLine;
    this.line = nextLine;
    return n;
  }

  /** Settles the held CR with the character at `pos` (none at the end of the input). */
  private settlePendingCr(text: string, pos: number, out: CsvRecord[]): number {
    this.pendingCr = false;
    const record = this.pendingRecord;
    this.pendingRecord = undefined;
    const crLine = this.pendingCrLine;
    const recordLine = record === undefined ? crLine : record.line;
    let next = pos;
    if (pos < text.length && text.charCodeAt(pos) === LF) {
      // Only an unknown or CRLF line ending defers a CR.
      this.eol = EOL_CRLF;
      next += 1;
    } else if (this.eol === EOL_CRLF) {
      throw new CsvSyntaxError('UNQUOTED_CR', crLine, recordLine);
    } else {
      this.eol = EOL_CR;
    }
    if (this.firstLfs !== 0 || this.firstCrs !== 0) {
      const breaks = this.takeFirstBreaks();
      this.line += breaks;
    }
    if (record !== undefined) {
      if (record.fields.length !== this.width) this.checkWidth(record.fields.length, crLine, record.line);
      out.push(record);
    }
    return next;
  }

  /**
   * Reads a field holding quoted sections among unquoted text, from its start at `pos` (which
   * `line` is the line of). Leaves the field in `mixedValue` and the line breaks its quotes
   * hold in `mixedBreaks`; returns the position after it, or -1 when the text ends first.
   */
  private readMixedField(text: string, pos: number, final: boolean, line: number, recordLine: number, field: number): number {
    const n = text.length;
    const d = this.delimiterCode;
    let value = '';
    let quoted = false;
    let breaks = 0;
    let at = pos;
    for (;;) {
      let end = at;
      for (; end < n; end += 1) {
        const c = text.charCodeAt(end);
        if (c === d || c === LF || c === CR || c === QUOTE) break;
      }
      value += text.slice(at, end);
      at = end;
      if (end === n) {
        if (!final) return -1;
        break;
      }
      if (text.charCodeAt(end) !== QUOTE) break;
      quoted = true;
      const opened = line + breaks;
      let segment = end + 1;
      for (;;) {
        const close = text.indexOf('"', segment);
        if (close === -1) {
          if (!final) return -1;
          throw this.unclosed(opened, line + breaks, text, segment, recordLine, field);
        }
        if (close + 1 === n && !final) return -1;
        breaks += this.quotedBreaks(text, segment, close);
        value += text.slice(segment, close);
        if (text.charCodeAt(close + 1) !== QUOTE) {
          at = close + 1;
          break;
        }
        value += '"';
        segment = close + 2;
      }
    }
    this.mixedValue = quoted || value !== '' ? value : null;
    this.mixedBreaks = breaks;
    return at;
  }

  /**
   * The error for a quote opened on `quoteLine` and still open at the end of the input, the
   * text from `from` (on `line`) being inside it: named, as COPY names it, at the line the
   * input ends on.
   */
  private unclosed(
    quoteLine: number,
    line: number,
    text: string,
    from: number,
    recordLine: number,
    field: number,
  ): CsvSyntaxError {
    let last = line + this.quotedBreaks(text, from, text.length);
    // Never settled: the input has no line end outside quotes. Count its LFs, the usual ending.
    if (this.eol === EOL_UNKNOWN) last += this.firstLfs;
    return new CsvSyntaxError('QUOTE_NOT_CLOSED', last, recordLine, field, undefined, quoteLine);
  }

  /**
   * Line breaks inside quotes in `text[from, to)`: the line ending's character (CRLF counting
   * once). While the line ending is unknown they are put aside, to be counted at its end.
   */
  private quotedBreaks(text: string, from: number, to: number): number {
    const eol = this.eol;
    if (eol === EOL_LF) return countOf(text, '\n', from, to);
    if (eol !== EOL_UNKNOWN) return countOf(text, '\r', from, to);
    this.firstLfs += countOf(text, '\n', from, to);
    this.firstCrs += countOf(text, '\r', from, to);
    return 0;
  }

  /** The quoted line breaks put aside in the first record, now that the line ending is known. */
  private takeFirstBreaks(): number {
    const breaks = this.eol === EOL_CR || this.eol === EOL_CRLF ? this.firstCrs : this.firstLfs;
    this.firstLfs = 0;
    this.firstCrs = 0;
    return breaks;
  }

  private unfinished(start: number, line: number): number {
    this.line = line;
    return start;
  }

  /**
   * Looks for the end of the carried record in `text`, going on from the carried quote
   * parity: the first line end outside quotes. Returns the index after it, or -1 (and keeps
   * the parity at the text's end). Quotes toggle in and out of quoted sections wherever they
   * are, as COPY reads them, so this is exact.
   */
  private seekRecordEnd(text: string): number {
    const n = text.length;
    let quoted = this.carryQuoted;
    let pos = 0;
    let nextLf = -1;
    let nextCr = -1;
    for (;;) {
      const quote = indexOrEnd(text, '"', pos);
      if (quoted) {
        if (quote === n) break;
        quoted = false;
        pos = quote + 1;
        continue;
      }
      if (nextLf < pos) nextLf = indexOrEnd(text, '\n', pos);
      if (nextCr < pos) nextCr = indexOrEnd(text, '\r', pos);
      const lineEnd = nextLf < nextCr ? nextLf : nextCr;
      if (lineEnd < quote) return lineEnd + 1;
      if (quote === n) break;
      quoted = true;
      pos = quote + 1;
    }
    this.carryQuoted = quoted;
    return -1;
  }
}

function indexOrEnd(text: string, search: string, from: number): number {
  const index = text.indexOf(search, from);
  return index === -1 ? text.length : index;
}

/** How many times the one character `search` occurs in `text[from, to)`. */
function countOf(text: string, search: string, from: number, to: number): number {
  let count = 0;
  for (let i = text.indexOf(search, from); i !== -1 && i < to; i = text.indexOf(search, i + 1)) count += 1;
  return count;
}
