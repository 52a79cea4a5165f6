import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FilesystemDriver } from '../../../src/storage/filesystem.js';
import { MemoryDriver } from '../../../src/storage/memory.js';
import { blobDriverConformance } from './driver-conformance.js';

blobDriverConformance('memory', async () => ({ driver: new MemoryDriver(), cleanup: async () => undefined }));

blobDriverConformance('filesystem', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-'));
  return { driver: new FilesystemDriver(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});
