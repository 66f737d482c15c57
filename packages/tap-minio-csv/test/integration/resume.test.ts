import { createServer, type Server, Socket } from 'node:net';

import { createTestBucket, runTap } from '../support/s3';

/**
 * A TCP relay in front of the S3 server that breaks the connection once, after `cutAfter`
 * bytes have come back from the server: a network fault, not a stand-in for S3.
 */
async function startFaultyRelay(target: URL, cutAfter: number): Promise<{ endpoint: string; cuts: () => number; close: () => Promise<void> }> {
  let received = 0;
  let cuts = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = new Socket();
    sockets.add(client);
    sockets.add(upstream);
    upstream.connect(Number(target.port), target.hostname);
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    upstream.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (cuts === 0 && received > cutAfter) {
        cuts += 1;
        // Half of this chunk gets through, then the connection resets.
        client.write(chunk.subarray(0, chunk.length >> 1), () => {
          client.resetAndDestroy();
          upstream.destroy();
        });
        return;
      }
      client.write(chunk);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    cuts: () => cuts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('tap-minio-csv on a flaky network', () => {
  it('resumes an object whose body breaks off mid-read, emitting every row exactly once', async () => {
    const bucket = await createTestBucket('resume');
    const rows = 20_000;
    let body = 'id,text\n';
    for (let i = 1; i <= rows; i += 1) body += `${i},row number ${i} with some padding text\n`;
    await bucket.put('t/big.csv', body);
    const relay = await startFaultyRelay(new URL(bucket.settings.endpoint), body.length / 2);
    try {
      const result = await runTap({
        config: bucket.config({ endpoint_url: relay.endpoint, tables: [{ table_name: 't', search_pattern: 'csv' }] }),
        catalog: {
          streams: [
            {
              tap_stream_id: 't',
              stream: 't',
              schema: { type: 'object', properties: { id: { type: 'integer' }, text: { type: 'string' } } },
              metadata: [{ breadcrumb: [], metadata: { selected: true } }],
            },
          ],
        },
      });
      expect(relay.cuts()).toBe(1);
      expect(result.exitCode).toBe(0);
      expect(result.logs).toMatch(/reading s3:\/\/[^ ]+\/t\/big\.csv broke off at byte \d+.*resuming from there/);
      const ids = result.records.map((m) => m.record.id);
      expect(ids).toHaveLength(rows);
      expect(ids).toEqual(Array.from({ length: rows }, (_, i) => i + 1));
    } finally {
      await relay.close();
    }
  });
});
