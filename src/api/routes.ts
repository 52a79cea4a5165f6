import type { Action } from '../auth/access.js';
import type { Handler } from './context.js';
import { deleteLoginLocks, deleteRepository, getReadOnly, getRepositoryUsage, listLoginLocks, listRepositoryUsage, putReadOnly } from './handlers/admin.js';
import { getBase } from './handlers/base.js';
import { deleteBlob, getBlob } from './handlers/blobs.js';
import { listCatalog } from './handlers/catalog.js';
import { deleteManifest, getManifest, putManifest } from './handlers/manifests.js';
import { listReferrers } from './handlers/referrers.js';
import { listTags } from './handlers/tags.js';
import { cancelUpload, finishUpload, patchUpload, startUpload, uploadStatus } from './handlers/uploads.js';

export interface Operation {
  readonly handler: Handler;
  /** What the caller must be allowed to do on the repository (or the registry, for catalog and base). */
  readonly action: Action | 'catalog' | 'base' | 'admin';
  /** Counts against registry.maxConcurrentUploads. */
  readonly upload?: boolean;
  /** Removes content: refused with 405 UNSUPPORTED when registry.deleteEnabled is false. */
  readonly deletes?: boolean;
}

export interface Route {
  readonly name: string;
  /** Named groups: name (repository), reference, digest, uuid. */
  readonly pattern: RegExp;
  readonly methods: Readonly<Partial<Record<string, Operation>>>;
}

// Repository names contain slashes, so each pattern anchors on the fixed suffix; order matters where suffixes
// overlap (uploads before blobs).
export const routes: readonly Route[] = [
  { name: 'base', pattern: /^\/v2\/?$/, methods: { GET: { handler: getBase, action: 'base' }, HEAD: { handler: getBase, action: 'base' } } },
  { name: 'catalog', pattern: /^\/v2\/_catalog$/, methods: { GET: { handler: listCatalog, action: 'catalog' } } },
  { name: 'tags', pattern: /^\/v2\/(?<name>.+)\/tags\/list$/, methods: { GET: { handler: listTags, action: 'pull' } } },
  {
    name: 'manifest',
    pattern: /^\/v2\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/,
    methods: {
      GET: { handler: getManifest, action: 'pull' },
      HEAD: { handler: getManifest, action: 'pull' },
      PUT: { handler: putManifest, action: 'push' },
      DELETE: { handler: deleteManifest, action: 'delete', deletes: true },
    },
  },
  {
    name: 'upload-start',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/?$/,
    methods: { POST: { handler: startUpload, action: 'push', upload: true } },
  },
  {
    name: 'upload',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/uploads\/(?<uuid>[^/]+)$/,
    methods: {
      GET: { handler: uploadStatus, action: 'push' },
      PATCH: { handler: patchUpload, action: 'push', upload: true },
      PUT: { handler: finishUpload, action: 'push', upload: true },
      DELETE: { handler: cancelUpload, action: 'push' },
    },
  },
  {
    name: 'blob',
    pattern: /^\/v2\/(?<name>.+)\/blobs\/(?<digest>[^/]+)$/,
    methods: {
      GET: { handler: getBlob, action: 'pull' },
      HEAD: { handler: getBlob, action: 'pull' },
      DELETE: { handler: deleteBlob, action: 'delete', deletes: true },
    },
  },
  {
    name: 'admin-auth-locks',
    pattern: /^\/admin\/v1\/auth\/locks$/,
    methods: { GET: { handler: listLoginLocks, action: 'admin' }, DELETE: { handler: deleteLoginLocks, action: 'admin' } },
  },
  { name: 'admin-read-only', pattern: /^\/admin\/v1\/read-only$/, methods: { GET: { handler: getReadOnly, action: 'admin' }, PUT: { handler: putReadOnly, action: 'admin' } } },
  { name: 'admin-repositories', pattern: /^\/admin\/v1\/repositories$/, methods: { GET: { handler: listRepositoryUsage, action: 'admin' } } },
  {
    name: 'admin-repository',
    pattern: /^\/admin\/v1\/repositories\/(?<name>.+)$/,
    methods: {
      GET: { handler: getRepositoryUsage, action: 'admin' },
      DELETE: { handler: deleteRepository, action: 'admin', deletes: true },
    },
  },
  { name: 'referrers', pattern: /^\/v2\/(?<name>.+)\/referrers\/(?<digest>[^/]+)$/, methods: { GET: { handler: listReferrers, action: 'pull' } } },
];
