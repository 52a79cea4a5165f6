// The one table from domain failures to OCI answers: statuses and headers live here, not in the services.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiError, maxDetailString, RegistryError } from '../../../src/api/errors.js';
import { DomainError } from '../../../src/oci/errors.js';
import { StorageFullError } from '../../../src/registry/storage-full.js';

test('an out-of-order chunk: 416 with the Range the upload is at, and its id when known', () => {
  const withId = apiError(new DomainError('UploadOffsetMismatch', 'chunk must start at offset 10', { expected: 10, got: 4, uuid: 'u-1' }))!;
  assert.equal(withId.code, 'BLOB_UPLOAD_INVALID');
  assert.equal(withId.status, 416);
  assert.deepEqual(withId.headers, { Range: '0-9', 'Docker-Upload-UUID': 'u-1' });
  assert.deepEqual(withId.detail, { expected: 10, got: 4 });
  const bare = apiError(new DomainError('UploadOffsetMismatch', 'chunk must start at offset 0', { expected: 0 }))!;
  assert.deepEqual(bare.headers, { Range: '0-0' });
  assert.equal(bare.detail, undefined);
});

test('a range past the end, a busy blob, too many sessions, a quota: their statuses and headers', () => {
  const range = apiError(new DomainError('RangeNotSatisfiable', 'requested range is not satisfiable', { digest: 'sha256:ab', size: 5 }))!;
  assert.deepEqual([range.code, range.status, range.headers, range.detail], ['SIZE_INVALID', 416, { 'Content-Range': 'bytes */5', 'Docker-Content-Digest': 'sha256:ab' }, { size: 5 }]);
  const busy = apiError(new DomainError('BlobBusy', 'blob is being garbage collected; retry', { digest: 'sha256:ab' }))!;
  assert.deepEqual([busy.code, busy.status, busy.headers], ['TOOMANYREQUESTS', 429, { 'Retry-After': '1' }]);
  const sessions = apiError(new DomainError('TooManyUploadSessions', 'too many', { limit: 3 }))!;
  assert.deepEqual([sessions.status, sessions.headers, sessions.detail], [429, { 'Retry-After': '60' }, { limit: 3 }]);
  const quota = apiError(new DomainError('QuotaExceeded', 'over quota', { repository: 'r', quota: 1, used: 1, incoming: 2 }))!;
  assert.deepEqual([quota.code, quota.status], ['DENIED', 403]);
});

test('a full disk is 507 with the API\'s own message, whether wrapped or the raw errno', () => {
  for (const err of [new StorageFullError(new Error('ENOSPC /var/lib/wharf/x')), Object.assign(new Error('no space'), { code: 'ENOSPC' })]) {
    const answer = apiError(err)!;
    assert.equal(answer.status, 507);
    assert.doesNotMatch(answer.message, /var\/lib/);
    assert.deepEqual(answer.detail, { reason: 'storage full' });
  }
});

test('details echoed from the client stay bounded; API errors pass through; anything else is not answered', () => {
  const long = 'x'.repeat(10_000);
  const answer = apiError(new DomainError('NameInvalid', 'invalid repository name', { name: long }))!;
  assert.ok(JSON.stringify(answer.toJSON()).length < maxDetailString + 200);
  const own = new RegistryError('UNSUPPORTED', 'no such endpoint');
  assert.equal(apiError(own), own);
  assert.equal(apiError(new Error('bug')), null);
});
