import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';

import type { S3Client } from '@aws-sdk/client-s3';
import { executeConnector } from '@singer-ts/singer';
import { runTargetInProcess } from '@singer-ts/singer/testing';

import { PROCESSOR_SPEC } from '../../src/cli';
import type { ProcessorConfig } from '../../src/config';
import { Processor, type ProcessorOptions } from '../../src/processor';
import {
  createBucket,
  defaultKey,
  listKeys,
  listUploads,
  readObject,
  readText,
  record,
  s3Env,
  schema,
  singer,
  state,
  testClient,
  uniqueBucket,
  writeConfig,
} from './helpers';

const FIXTURES = join(__dirname, '..', 'fixtures');
const OLIST_RULES = (JSON.parse(readFileSync(join(__dirname, '..', '..', '..', '..', 'singer-config', 'processor.json'), 'utf8')) as {
  rules: unknown;
}).rules;

/**
 * A real S3 client that also records commands as `Name:key`: each one S3 answered with
 * success, or (with `sent`) each one sent, whatever the answer.
 */
function observedClient(events: string[], record: 'succeeded' | 'sent' = 'succeeded'): S3Client {
  const observed = testClient();
  observed.middlewareStack.add(
    (next, context) => async (args) => {
      const event = `${context.commandName}:${String((args.input as { Key?: string }).Key ?? '')}`;
      if (record === 'sent') events.push(event);
      const out = await next(args);
      if (record === 'succeeded') events.push(event);
      return out;
    },
    { step: 'initialize', name: 'recordCommands' },
  );
  return observed;
}

let client: S3Client;
beforeAll(() => {
  client = testClient();
});
afterAll(() => client.destroy());

async function runProcessor(
  config: Record<string, unknown>,
  input: string,
  options: ProcessorOptions & { env?: NodeJS.ProcessEnv } = {},
): Promise<Awaited<ReturnType<typeof runTargetInProcess>>> {
  const path = writeConfig(config);
  return runTargetInProcess(
    PROCESSOR_SPEC,
    (c: ProcessorConfig, ctx) => new Processor(c, ctx, options),
    input,
    { args: ['-c', path], env: { ...process.env, LOG_LEVEL: 'debug', ...s3Env(), ...options.env } },
  );
}

describe('processor against a real S3 server', () => {
  it('cleans the four Olist streams as the original pipeline did, byte for byte', async () => {
    const bucket = uniqueBucket('olist');
    const input = readFileSync(join(FIXTURES, 'olist.singer'), 'utf8');
    const result = await runProcessor({ bucket, rules: OLIST_RULES }, input);
    expect(result.logs).not.toMatch(/ERROR/);
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toEqual([{ bookmarks: { 'olistbr/brazilian-ecommerce': { version: 3 } } }]);
    const streams = ['customers', 'order_items', 'orders', 'products'];
    expect(await listKeys(client, bucket)).toEqual(streams.map((s) => defaultKey(s)).sort());
    for (const stream of streams) {
      const expected = readFileSync(join(FIXTURES, 'olist-expected', `${stream}.csv`));
      expect((await readObject(client, bucket, defaultKey(stream))).toString('utf8')).toBe(expected.toString('utf8'));
    }
  });

  it('writes RFC 4180 CSV that keeps null, the empty string, quotes, line breaks and exact numbers apart', async () => {
    const bucket = uniqueBucket('rfc');
    const input = singer(
      schema('t', { id: { type: 'integer' }, text: { type: ['string', 'null'] }, n: { type: ['number', 'null'] }, obj: {} }),
      record('t', { id: 1, text: null, n: 1.5, obj: { a: [1, 'x'] } }),
      record('t', { id: 2, text: '', n: null, obj: null }),
      record('t', { id: 3, text: 'say "hi", then\r\nleave', n: 0.1, obj: true }),
      record('t', { id: 4, text: '  spaced ,  ', n: 12345678901234567890.123456789, obj: 'ünïcödé ✓' }),
    );
    // The number literal above is rounded by JS; the exact text goes in by hand.
    const exact = input.replace(/"n":12345678901234567000\.?\d*/, '"n":12345678901234567890.123456789');
    const result = await runProcessor({ bucket, key_template: '{stream}.csv' }, exact);
    expect(result.exitCode).toBe(0);
    expect(await readText(client, bucket, 't.csv')).toBe(
      'id,text,n,obj\r\n' +
        '1,,1.5,"{""a"":[1,""x""]}"\r\n' +
        '2,"",,\r\n' +
        '3,"say ""hi"", then\r\nleave",0.1,true\r\n' +
        '4,"  spaced ,  ",12345678901234567890.123456789,ünïcödé ✓\r\n',
    );
  });

  it('gzips the object and appends .gz to its key', async () => {
    const bucket = uniqueBucket('gzip');
    const input = singer(schema('s', { a: { type: 'string' } }), record('s', { a: 'x' }), record('s', { a: 'y' }));
    const result = await runProcessor({ bucket, compression: 'gzip' }, input);
    expect(result.exitCode).toBe(0);
    const key = `${defaultKey('s')}.gz`;
    expect(await listKeys(client, bucket)).toEqual([key]);
    expect(await readText(client, bucket, key)).toBe('a\r\nx\r\ny\r\n');
  });

  it('writes the union of columns when a stream\'s schema changes mid-run', async () => {
    const bucket = uniqueBucket('union');
    const input = singer(
      schema('s', { a: { type: 'string' }, b: { type: 'string' } }),
      record('s', { a: 'a1', b: 'b1' }),
      record('s', { a: 'a2', b: '' }),
      state({ at: 2 }),
      schema('s', { a: { type: 'string' }, b: { type: 'string' }, c: { type: 'string' } }),
      record('s', { a: 'a3', b: 'b3', c: 'c3' }),
      schema('s', { c: { type: 'string' }, a: { type: 'string' }, d: { type: 'string' } }),
      record('s', { a: 'a4', c: 'c4', d: 'd4' }),
      state({ at: 4 }),
    );
    const result = await runProcessor({ bucket, key_template: '{stream}.csv', rules: { s: { a: ['uppercase'] } } }, input);
    expect(result.exitCode).toBe(0);
    expect(result.stateValues).toEqual([{ at: 4 }]);
    expect(await listKeys(client, bucket)).toEqual(['s.csv']);
    expect(await readText(client, bucket, 's.csv')).toBe('a,b,c,d\r\nA1,b1,,\r\nA2,"",,\r\nA3,b3,c3,\r\nA4,,c4,d4\r\n');
  });

  it('keeps the union exact for a gzipped stream whose rows span several parts before the schema widens', async () => {
    const bucket = uniqueBucket('uniongz');
    const lines = [JSON.stringify(schema('s', { id: { type: 'integer' }, text: { type: ['string', 'null'] } }))];
    let expected = 'id,text,extra\r\n';
    // Random hex barely compresses, so the gzipped rows before the widening fill several parts.
    for (let i = 1; i <= 150_000; i += 1) {
      const text = i % 1000 === 0 ? null : i % 999 === 0 ? '' : `row ${i}, "quoted" ${randomBytes(40).toString('hex')}`;
      lines.push(JSON.stringify(record('s', { id: i, text })));
      expected += `${i},${text === null ? '' : `"${text.replace(/"/g, '""')}"`},\r\n`;
    }
    lines.push(JSON.stringify(schema('s', { id: { type: 'integer' }, text: { type: ['string', 'null'] }, extra: { type: 'string' } })));
    lines.push(JSON.stringify(record('s', { id: 0, text: 'last', extra: 'e' })));
    expected += '0,last,e\r\n';
    const result = await runProcessor({ bucket, key_template: 's.csv', compression: 'gzip' }, `${lines.join('\n')}\n`);
    expect(result.exitCode).toBe(0);
    expect(result.logs).toContain('SCHEMA adds "extra" after 150000 records');
    expect(result.logs).toMatch(/0\.0: part 2 uploaded/);
    expect(await listKeys(client, bucket)).toEqual(['s.csv.gz']);
    const text = await readText(client, bucket, 's.csv.gz');
    expect(text.length).toBe(expected.length);
    expect(text === expected).toBe(true);
  });

  it('prints the state value only after every object is in place, once, at the end', async () => {
    const bucket = uniqueBucket('order');
    const events: string[] = [];
    const observed = observedClient(events);
    const stdout = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) events.push(`state:${line}`);
        done();
      },
    });
    const input = new PassThrough();
    input.end(
      singer(
        schema('a', { x: { type: 'integer' } }),
        schema('b', { y: { type: 'integer' } }),
        record('a', { x: 1 }),
        state({ n: 1 }),
        record('b', { y: 2 }),
        state({ n: 2 }),
        state({ n: 2 }),
      ),
    );
    const code = await executeConnector(
      'target',
      PROCESSOR_SPEC,
      (c: ProcessorConfig, ctx) => new Processor(c, ctx, { client: observed }),
      {
        argv: ['-c', writeConfig({ bucket, key_template: '{stream}.csv' })],
        stdin: input,
        stdout,
        stderr: new PassThrough().resume(),
        env: { ...process.env, ...s3Env() },
      },
    );
    observed.destroy();
    expect(code).toBe(0);
    const states = events.filter((e) => e.startsWith('state:'));
    expect(states).toEqual(['state:{"n":2}']);
    const stateAt = events.indexOf('state:{"n":2}');
    const copies = events.filter((e) => e.startsWith('CopyObjectCommand:'));
    expect(copies.sort()).toEqual(['CopyObjectCommand:a.csv', 'CopyObjectCommand:b.csv']);
    for (const copy of copies) expect(events.indexOf(copy)).toBeLessThan(stateAt);
    expect(await listKeys(client, bucket)).toEqual(['a.csv', 'b.csv']);
  });

  it('fails on a value it cannot convert, naming stream, record, column and value, and leaves no object', async () => {
    const bucket = uniqueBucket('badvalue');
    const input = singer(
      schema('orders', { id: { type: 'integer' }, at: { type: ['string', 'null'] } }),
      record('orders', { id: 1, at: '2017-10-02 10:56:33' }),
      state({ n: 1 }),
      schema('other', { z: { type: 'string' } }),
      record('other', { z: 'fine' }),
      record('orders', { id: 2, at: null }),
      record('orders', { id: 3, at: '2017-02-30 10:00:00' }),
    );
    const result = await runProcessor({ bucket, rules: { orders: { at: ['timestamp'] } } }, input);
    expect(result.exitCode).not.toBe(0);
    expect(result.stateValues).toEqual([]);
    const errorLine = result.logs.split('\n').find((l) => l.startsWith('ERROR'));
    expect(errorLine).toContain('stream "orders"');
    expect(errorLine).toContain('record 3');
    expect(errorLine).toContain('column "at"');
    expect(errorLine).toContain('"2017-02-30 10:00:00"');
    expect(errorLine).toContain('VALUE_NOT_DATETIME');
    expect(await listKeys(client, bucket)).toEqual([]);
    expect(await listUploads(client, bucket)).not.toEqual(expect.arrayContaining([expect.anything()]));
  });

  it('refuses a rule for a column the SCHEMA lacks, naming stream and column', async () => {
    const bucket = uniqueBucket('badcolumn');
    const input = singer(schema('customers', { customer_city: { type: 'string' } }), record('customers', { customer_city: 'x' }));
    const result = await runProcessor({ bucket, rules: { customers: { customer_cty: ['titlecase'] } } }, input);
    expect(result.exitCode).not.toBe(0);
    expect(result.logs).toMatch(/ERROR stream "customers", line 1, column "customer_cty": rules name a column the stream's SCHEMA does not have/);
    expect(await listKeys(client, bucket)).toEqual([]);
  });

  it('refuses an unknown step before reading any input', async () => {
    const bucket = uniqueBucket('badstep');
    const result = await runProcessor({ bucket, rules: { s: { c: ['titelcase'] } } }, 'not even JSON\n');
    expect(result.exitCode).not.toBe(0);
    expect(result.logs).toContain('unknown step "titelcase"');
    expect(result.logs).not.toContain('INPUT_NOT_JSON');
  });

  it('hashes with the key from PROCESSOR_HASH_KEY and never logs the key', async () => {
    const bucket = uniqueBucket('hash');
    const input = singer(schema('u', { email: { type: 'string' } }), record('u', { email: 'a@example.com' }));
    const result = await runProcessor({ bucket, key_template: 'u.csv', rules: { u: { email: ['hash'] } } }, input, {
      env: { PROCESSOR_HASH_KEY: 'hash-key-that-must-stay-secret' },
    });
    expect(result.exitCode).toBe(0);
    const expected = createHmac('sha256', 'hash-key-that-must-stay-secret').update('a@example.com').digest('hex');
    expect(await readText(client, bucket, 'u.csv')).toBe(`email\r\n${expected}\r\n`);
    expect(result.logs).not.toContain('hash-key-that-must-stay-secret');
  });

  it('drops a column', async () => {
    const bucket = uniqueBucket('drop');
    const input = singer(schema('u', { id: { type: 'integer' }, secret: { type: 'string' } }), record('u', { id: 1, secret: 's' }));
    const result = await runProcessor({ bucket, key_template: 'u.csv', rules: { u: { secret: ['drop'] } } }, input);
    expect(result.exitCode).toBe(0);
    expect(await readText(client, bucket, 'u.csv')).toBe('id\r\n1\r\n');
  });

  it('uploads a large stream in several parts and assembles it exactly', async () => {
    const bucket = uniqueBucket('multipart');
    const rows = 120_000;
    const lines: string[] = [JSON.stringify(schema('big', { id: { type: 'integer' }, text: { type: 'string' } }))];
    let expected = 'id,text\r\n';
    for (let i = 1; i <= rows; i += 1) {
      const text = `row ${i} ${'x'.repeat(80)}`;
      lines.push(JSON.stringify(record('big', { id: i, text })));
      expected += `${i},${text}\r\n`;
    }
    expect(Buffer.byteLength(expected)).toBeGreaterThan(2 * 5 * 1024 * 1024);
    const result = await runProcessor({ bucket, key_template: 'big.csv' }, `${lines.join('\n')}\n`);
    expect(result.exitCode).toBe(0);
    expect(result.logs).toMatch(/part 2 uploaded/);
    const text = await readText(client, bucket, 'big.csv');
    expect(text.length).toBe(expected.length);
    expect(text === expected).toBe(true);
  });

  it('aborts the multipart upload when it fails after parts were sent, leaving nothing behind', async () => {
    const bucket = uniqueBucket('abortlate');
    const events: string[] = [];
    const observed = observedClient(events, 'sent');
    const lines: string[] = [JSON.stringify(schema('big', { id: { type: 'string' }, text: { type: 'string' } }))];
    // More than two parts' worth before the bad value, so the multipart upload exists when it fails.
    for (let i = 1; i <= 120_000; i += 1) lines.push(JSON.stringify(record('big', { id: String(i), text: 'x'.repeat(80) })));
    lines.push(JSON.stringify(record('big', { id: '12.5', text: 'x' })));
    const result = await runProcessor({ bucket, key_template: 'big.csv', rules: { big: { id: ['integer'] } } }, `${lines.join('\n')}\n`, {
      client: observed,
    });
    observed.destroy();
    expect(result.exitCode).not.toBe(0);
    expect(result.logs).toMatch(/record 120001, column "id": has a fractional part/);
    const staging = events.find((e) => e.startsWith('CreateMultipartUploadCommand:'))?.split(':')[1];
    expect(staging).toMatch(/^_processor_staging\//);
    // s3rver answers AbortMultipartUpload with MethodNotAllowed (its parts stay invisible);
    // MinIO and AWS delete the parts. Either way it must have been asked.
    expect(events).toContain(`AbortMultipartUploadCommand:${staging}`);
    expect(events.some((e) => e.startsWith('CompleteMultipartUploadCommand:'))).toBe(false);
    expect(await listKeys(client, bucket)).toEqual([]);
    expect(await listUploads(client, bucket)).not.toEqual(expect.arrayContaining([expect.anything()]));
  });

  it('writes no object for a stream without records and keeps an earlier object of the same key when a run fails', async () => {
    const bucket = uniqueBucket('keep');
    await createBucket(client, bucket);
    const first = await runProcessor(
      { bucket, key_template: '{stream}.csv' },
      singer(schema('s', { a: { type: 'string' } }), record('s', { a: 'old' }), schema('empty', { b: { type: 'string' } })),
    );
    expect(first.exitCode).toBe(0);
    expect(first.logs).toContain('stream "empty": no records, no object written');
    const second = await runProcessor(
      { bucket, key_template: '{stream}.csv', rules: { s: { a: ['integer'] } } },
      singer(schema('s', { a: { type: 'string' } }), record('s', { a: '1' }), record('s', { a: 'x' })),
    );
    expect(second.exitCode).not.toBe(0);
    expect(await listKeys(client, bucket)).toEqual(['s.csv']);
    expect(await readText(client, bucket, 's.csv')).toBe('a\r\nold\r\n');
  });

  it('refuses two streams that the key template puts at the same key', async () => {
    const bucket = uniqueBucket('samekey');
    const input = singer(schema('a', { x: { type: 'string' } }), record('a', { x: '1' }), schema('b', { x: { type: 'string' } }));
    const result = await runProcessor({ bucket, key_template: 'all.csv' }, input);
    expect(result.exitCode).not.toBe(0);
    expect(result.logs).toContain('streams "a" and "b" would both be written to all.csv');
    expect(await listKeys(client, bucket)).toEqual([]);
  });

  it('warns about rules for a stream the input did not have', async () => {
    const bucket = uniqueBucket('unusedrules');
    const input = singer(schema('orders', { x: { type: 'string' } }), record('orders', { x: '1' }));
    const result = await runProcessor({ bucket, rules: { order: { x: ['trim'] } } }, input);
    expect(result.exitCode).toBe(0);
    expect(result.logs).toContain('WARNING rules name stream "order", which the input did not have');
  });

  it('refuses a missing bucket when create_bucket is false', async () => {
    const bucket = uniqueBucket('nobucket');
    const result = await runProcessor({ bucket, create_bucket: false }, singer(schema('s', { a: { type: 'string' } })));
    expect(result.exitCode).not.toBe(0);
    expect(result.logs).toContain(`bucket "${bucket}" does not exist`);
  });
});
