// The S3 client as Wharf configures it, and the few error tests every S3 module needs.
import { S3Client } from '@aws-sdk/client-s3';
import type { S3Config } from './config.js';

export function createS3Client(config: S3Config): S3Client {
  return new S3Client({
    region: config.region,
    endpoint: config.endpoint,
    forcePathStyle: config.forcePathStyle,
    credentials: config.accessKeyId && config.secretAccessKey ? { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey } : undefined,
    // Checksums only where S3 requires them: the SDK's default (CRC32 on every PUT) is refused by several
    // S3-compatible services (older Ceph, some R2 paths), and each part's integrity is covered by the blob digest.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 4,
    // An endpoint that stops answering fails the request instead of holding it (and the client's push) forever.
    requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
  });
}

interface S3Error {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

export function isNotFound(err: unknown): boolean {
  const e = err as S3Error;
  return e?.$metadata?.httpStatusCode === 404 || e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.name === 'NoSuchUpload';
}

export function isPreconditionFailed(err: unknown): boolean {
  const e = err as S3Error;
  return e?.$metadata?.httpStatusCode === 412 || e?.name === 'PreconditionFailed';
}
