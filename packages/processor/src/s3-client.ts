import { S3Client } from '@aws-sdk/client-s3';

import type { ProcessorConfig } from './config';

/**
 * An S3 client for AWS or an S3-compatible server. With an endpoint (MinIO, s3rver) it uses
 * path-style addressing, which those servers expect.
 */
export function createS3Client(config: ProcessorConfig): S3Client {
  const credentials =
    config.accessKeyId && config.secretAccessKey
      ? {
          accessKeyId: config.accessKeyId,
          secretAccessKey: config.secretAccessKey,
          ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
        }
      : undefined; // the SDK's default chain: profile, instance role, …
  return new S3Client({
    region: config.region,
    ...(config.endpointUrl ? { endpoint: config.endpointUrl, forcePathStyle: true } : {}),
    ...(credentials ? { credentials } : {}),
    // NOTE: since @aws-sdk 3.729 uploads carry aws-chunked CRC32 trailers by default, which
    // MinIO releases before 2025 and s3rver reject; only send checksums when S3 requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
