// The real S3 endpoint of the scale tier (scripts/services/radosgw.sh via scripts/with-services.sh).
import { randomUUID } from 'node:crypto';
import { DeleteObjectCommand, ListObjectsV2Command, AbortMultipartUploadCommand, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { createS3Client } from '../../src/storage/s3/client.js';
import type { S3Config } from '../../src/storage/s3/config.js';

/** The endpoint from the environment; throws (the test fails, never skips) when the services were not started. */
export function testS3Config(overrides: Partial<S3Config> = {}): S3Config {
  const endpoint = process.env.WHARF_TEST_S3_ENDPOINT;
  if (!endpoint) throw new Error('WHARF_TEST_S3_ENDPOINT is not set: run the scale tier with `npm run test:scale` (scripts/with-services.sh starts radosgw)');
  return {
    bucket: process.env.WHARF_TEST_S3_BUCKET!,
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    accessKeyId: process.env.WHARF_TEST_S3_ACCESS_KEY!,
    secretAccessKey: process.env.WHARF_TEST_S3_SECRET_KEY!,
    prefix: `t-${randomUUID()}/`,
    partSize: 5 * 1024 * 1024,
    redirect: false,
    ...overrides,
  };
}

/** Removes every object and multipart upload under the config's prefix. */
export async function emptyPrefix(config: S3Config): Promise<void> {
  const client = createS3Client(config);
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: config.prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) await client.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: o.Key }));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: config.bucket, Prefix: config.prefix }));
  for (const u of uploads.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: u.Key, UploadId: u.UploadId }));
  client.destroy();
}
