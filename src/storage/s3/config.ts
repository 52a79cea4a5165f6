// The `storage.s3` section: where the S3 driver keeps blobs (AWS S3, Cloudflare R2, Ceph radosgw, MinIO).
// Distribution's REGISTRY_STORAGE_S3_* settings map onto these keys.
import { z } from 'zod';
import { section } from '../../config-fields/fields.js';

const MiB = 1024 * 1024;

export const s3ConfigSchema = section({
  bucket: z.string().min(1).optional().describe('Bucket holding the blobs (required with `storage.driver: s3`); it must exist.'),
  region: z.string().min(1).default('us-east-1').describe('Region to sign requests for (R2: `auto`).'),
  endpoint: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('Endpoint of an S3-compatible service (R2, Ceph radosgw, MinIO); default: AWS for `region`.'),
  forcePathStyle: z.boolean().default(false).describe('Address the bucket as `endpoint/bucket` instead of `bucket.endpoint` (most self-hosted services need it).'),
  accessKeyId: z
    .string()
    .min(1)
    .optional()
    .describe("Access key; without it, the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profile, instance role)."),
  secretAccessKey: z.string().min(1).optional().describe('Secret key that goes with `accessKeyId` (never logged).'),
  prefix: z
    .string()
    .regex(/^([^/].*)?$/, 'a key prefix such as `registry` or `registry/`, without a leading slash')
    .default('')
    .describe('Key prefix for every object Wharf writes, to share a bucket.'),
  partSize: z
    .number()
    .int()
    .min(5 * MiB, 'S3 parts are at least 5 MiB (5242880)')
    .max(5 * 1024 * MiB)
    .default(10 * MiB)
    .describe(
      'Multipart part size in bytes (every part but the last has exactly this size, as R2 requires). Chunks smaller than this are staged as small objects until a part is full; a blob can have at most 10,000 parts. Each upload in flight holds up to two parts in memory.',
    ),
  redirect: z
    .boolean()
    .default(false)
    .describe('Blob downloads answer 307 to a presigned URL valid 15 minutes, so bytes go straight from the bucket; off: Wharf streams them (clients that cannot reach the bucket).'),
}).describe('S3-compatible object storage (with `storage.driver: s3`).');

export type S3Config = z.output<typeof s3ConfigSchema>;
