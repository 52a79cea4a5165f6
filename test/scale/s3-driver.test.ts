// The shared blob-driver suite against real S3 (Ceph radosgw), plus what only S3 has: parts, staging, redirects.
import { S3Driver } from '../../src/storage/s3/driver.js';
import { blobDriverConformance } from '../unit/storage/driver-conformance.js';
import { emptyPrefix, testS3Config } from '../support/s3.js';

blobDriverConformance('s3 (radosgw)', async () => {
  const config = testS3Config();
  return { driver: new S3Driver(config), cleanup: () => emptyPrefix(config), largeStreamBytes: 200 * 1024 * 1024 };
});
