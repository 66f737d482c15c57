import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';

import type { TapMinioCsvConfig } from './config';

/**
 * Attempts per request, first included. The SDK's standard strategy retries throttling
 * (429, SlowDown), 500/502/503/504 and connection resets/timeouts with exponential backoff and
 * jitter; six attempts ride out roughly half a minute of a flapping server.
 */
export const MAX_ATTEMPTS = 6;

/**
 * An S3 client that works with MinIO and other S3-compatible servers as well as AWS.
 *
 * - Path-style addressing whenever an endpoint is configured: MinIO and most S3-compatible
 *   servers do not resolve `bucket.host` names.
 * - Checksums only when an operation requires them. Since @aws-sdk/client-s3 3.729 the SDK
 *   adds CRC32 checksums and aws-chunked request bodies by default, which several
 *   S3-compatible servers reject; validating response checksums would also hash every body.
 * - Static credentials when the config (or its env fallbacks) has them; otherwise the SDK's
 *   default chain (profiles, instance roles) decides.
 */
export function createS3Client(config: TapMinioCsvConfig): S3Client {
  const options: S3ClientConfig = {
    region: config.region,
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
  if (config.endpointUrl !== undefined) {
    options.endpoint = config.endpointUrl;
    options.forcePathStyle = true;
  }
  if (config.accessKeyId !== undefined && config.secretAccessKey !== undefined) {
    options.credentials = {
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey,
      ...(config.sessionToken !== undefined ? { sessionToken: config.sessionToken } : {}),
    };
  }
  return new S3Client(options);
}
