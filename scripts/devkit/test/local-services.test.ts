import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Client } from 'pg';

describe('the servers the test run starts', () => {
  it('serves PostgreSQL on the published URL', async () => {
    const client = new Client({ connectionString: process.env.TEST_DATABASE_URL });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: number }>('SELECT 40 + 2 AS n');
      expect(rows[0]?.n).toBe(42);
    } finally {
      await client.end();
    }
  });

  it('serves S3 to the current AWS SDK, round-tripping an object', async () => {
    const s3 = new S3Client({
      endpoint: process.env.TEST_S3_ENDPOINT,
      region: process.env.TEST_S3_REGION ?? 'us-east-1',
      forcePathStyle: true,
      credentials: {
        accessKeyId: process.env.TEST_S3_ACCESS_KEY_ID ?? '',
        secretAccessKey: process.env.TEST_S3_SECRET_ACCESS_KEY ?? '',
      },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const bucket = `devkit-smoke-${process.pid}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'a/b.csv', Body: 'x,y\n1,2\n' }));
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'a/b.csv' }));
    expect(await got.Body?.transformToString()).toBe('x,y\n1,2\n');
    s3.destroy();
  });
});
