// The /api/v1 endpoints (paths after /api). Repository names contain slashes, so patterns anchor on the fixed
// suffix, the longer suffixes first.
import type { ApiV1Route } from './api-v1-context.js';
import { getStorage, getWebhooks, retryWebhooks, runGc } from './api-v1-admin.js';
import { deleteManifest, deleteRepository, deleteTag, getImage, listRepositories, listTags } from './api-v1-browse.js';
import { getSession, login, logout } from './api-v1-session.js';

export const apiV1Routes: readonly ApiV1Route[] = [
  { pattern: /^\/v1\/session$/, methods: { GET: getSession, POST: login, DELETE: logout } },
  { pattern: /^\/v1\/repositories$/, methods: { GET: listRepositories } },
  { pattern: /^\/v1\/repositories\/(?<name>.+)\/tags\/(?<tag>[^/]+)$/, methods: { DELETE: deleteTag } },
  { pattern: /^\/v1\/repositories\/(?<name>.+)\/manifests\/(?<reference>[^/]+)$/, methods: { GET: getImage, DELETE: deleteManifest } },
  { pattern: /^\/v1\/repositories\/(?<name>.+)\/tags$/, methods: { GET: listTags } },
  { pattern: /^\/v1\/repositories\/(?<name>.+)$/, methods: { DELETE: deleteRepository } },
  { pattern: /^\/v1\/storage$/, methods: { GET: getStorage } },
  { pattern: /^\/v1\/gc$/, methods: { POST: runGc } },
  { pattern: /^\/v1\/webhooks$/, methods: { GET: getWebhooks } },
  { pattern: /^\/v1\/webhooks\/retry$/, methods: { POST: retryWebhooks } },
];
