import { Readable } from 'node:stream';

import { random } from '@singer-ts/devkit/testing';

import { type CsvOptions, type CsvRow, openCsv } from '../../src/csv-source';
import { SingerError } from '../../src/errors';

interface Outcome {
  header: readonly string[];
  rows: CsvRow[];
  error?: { code: string; line?: number; column?: string; message: string };
}

async function read(chunks: Array<Buffer | string>, options: CsvOptions = {}): Promise<Outcome> {
  const rows: CsvRow[] = [];
  let header: readonly string[] = [];
  try {
    const csv = await openCsv(Readable.from(chunks), options);
    header = csv.header;
    for await (const row of csv.rows) rows.push(row);
  } catch (error) {
    if (!(error instanceof SingerError)) throw error;
    const { code, line, column, message } = error;
    return { header, rows, error: { code, line, column, message } };
  }
  return { header, rows };
}

const bytesOf = (text: string): Buffer => Buffer.from(text, 'utf8');
const oneByteEach = (bytes: Buffer): Buffer[] => [...bytes].map((b) => Buffer.from([b]));

function randomSplits(next: () => number, bytes: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const size = 1 + Math.floor(next() * 9);
    chunks.push(bytes.subarray(at, at + size));
    at += size;
  }
  return chunks;
}

describe('openCsv across chunk boundaries', () => {
  const samples = [
    '\ufeffid,"na,me",note\r\n1,"Zé ""Pequeno""",\r\n\r\n2,"","😀\r\n€"\r\n3,ação,x',
    'a;b\n"x;y";\n\n;""\n"\r";😀é\n',
    'a,b,c\r1, "x"y,"\r\n"\r\rx""y,,\r',
    '\ufeff"only"\n"x"\n\n""\n',
  ];

  it.each(samples.map((s) => [s]))('reads %j the same at every byte boundary', async (source) => {
    const options = { delimiter: source.startsWith('a;') ? ';' : ',' };
    const bytes = bytesOf(source);
    const whole = await read([bytes], options);
    expect(whole.error).toBeUndefined();
    expect(whole.rows.length).toBeGreaterThan(1);
    expect(await read(oneByteEach(bytes), options)).toEqual(whole);
    for (let at = 0; at <= bytes.length; at += 1) {
      expect([at, await read([bytes.subarray(0, at), bytes.subarray(at)], options)]).toEqual([at, whole]);
    }
    const next = random(bytes.length);
    for (let i = 0; i < 20; i += 1) expect(await read(randomSplits(next, bytes), options)).toEqual(whole);
  });

  it('reads string chunks and byte chunks mixed', async () => {
    const source = 'a,b\n"1\n",é\n3,4\n';
    const mixed = ['a,b\n"1', bytesOf('\n",'), bytesOf('é').subarray(0, 1), bytesOf('é').subarray(1), '\n3,4\n'];
    expect(await read(mixed)).toEqual(await read([source]));
  });

  it('drops a byte order mark that arrives one byte at a time, and only at the start', async () => {
    const { header, rows } = await read([...oneByteEach(bytesOf('\ufeffa\n')), bytesOf('\ufeff\n')]);
    expect(header).toEqual(['a']);
    expect(rows).toEqual([{ line: 2, fields: ['\ufeff'] }]);
  });
});

describe('openCsv error locations', () => {
  it('hands out the rows before bytes that are not UTF-8, then names their line as COPY does', async () => {
    const bytes = Buffer.concat([bytesOf('a,b\n1,2\n3,"x\ny'), Buffer.from([0xff]), bytesOf('"\n5,6\n')]);
    for (const chunks of [[bytes], oneByteEach(bytes)]) {
      const { rows, error } = await read(chunks);
      expect(rows).toEqual([{ line: 2, fields: ['1', '2'] }]);
      expect(error).toMatchObject({ code: 'CSV_INVALID', line: 4 });
      expect(error?.message).toMatch(/offset 14 /);
    }
  });

  it('names the line of an unclosed quote and of a stray line end whatever the chunk boundaries', async () => {
    const cases: Array<[string, { line: number; column?: string }]> = [
      ['a,b,c\n1,2,3\n\n4,"5\n6,7\n', { line: 6, column: 'b' }],
      ['a,b,c\r\n1,2,3\r\n\r\n4,"5"\r6,7\r\n', { line: 4 }],
      ['a,b,c\r\n1,2,3\r\n\r\n4,5,6\r', { line: 4 }],
    ];
    for (const [source, where] of cases) {
      const bytes = bytesOf(source);
      for (const chunks of [[bytes], oneByteEach(bytes)]) {
        const { rows, error } = await read(chunks);
        expect(rows.map((r) => r.line)).toEqual([2]);
        expect(error).toMatchObject({ code: 'CSV_INVALID', ...where });
      }
    }
  });

  it('names the line where a record that outgrows the record size limit starts', async () => {
    const chunks = [bytesOf('a,b\n1,2\n\n3,"'), ...Array.from({ length: 100 }, () => Buffer.alloc(1024, 'x'))];
    const { rows, error } = await read(chunks, { maxRecordBytes: 32 * 1024 });
    expect(rows.map((r) => r.line)).toEqual([2]);
    expect(error).toMatchObject({ code: 'CSV_INVALID', line: 4 });
    expect(error?.message).toMatch(/runs over 32768 bytes/);
  });

  it('reports a header error before a malformed row that arrived in the same chunk', async () => {
    const { error } = await read([bytesOf('a,a\n1,"2\n')]);
    expect(error).toMatchObject({ code: 'CSV_BAD_HEADER', line: 1 });
  });

  it('reports an unclosed quote in the header without a column', async () => {
    const { error } = await read([bytesOf('\n"a,b\n1,2\n')]);
    expect(error).toMatchObject({ code: 'CSV_INVALID', line: 4, column: undefined });
    expect(error?.message).toMatch(/the quote opened on line 2/);
  });
});

describe('openCsv reading pace', () => {
  it('reads the input only as fast as rows are taken', async () => {
    let pulled = 0;
    async function* input(): AsyncGenerator<Buffer> {
      yield bytesOf('n\n');
      for (let i = 0; i < 1000; i += 1) {
        pulled += 1;
        yield bytesOf(`${i}\n`.repeat(100));
      }
    }
    const csv = await openCsv(input());
    let taken = 0;
    for await (const row of csv.rows) {
      taken += 1;
      if (row.line === 251) break;
    }
    expect(taken).toBe(250);
    expect(pulled).toBe(3);
  });

  it('hands out rows in order to calls of next() that do not wait for each other', async () => {
    const csv = await openCsv(Readable.from(['n\n1\n', '2\n3\n', '4\n']));
    const iterator = csv.rows[Symbol.asyncIterator]();
    const results = await Promise.all(Array.from({ length: 6 }, () => iterator.next()));
    expect(results.map((r) => (r.done ? 'done' : r.value.fields[0]))).toEqual(['1', '2', '3', '4', 'done', 'done']);
  });

  it('stops reading when closed in the middle of the rows', async () => {
    const input = Readable.from(Array.from({ length: 100 }, (_, i) => `${i === 0 ? 'n\n' : ''}${i}\n`));
    const csv = await openCsv(input);
    const iterator = csv.rows[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toEqual({ line: 2, fields: ['0'] });
    csv.close();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    await new Promise((resolve) => setImmediate(resolve));
    expect(input.destroyed).toBe(true);
  });
});
