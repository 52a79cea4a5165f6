import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digestOf, parseDigest } from '../../src/oci/digest.js';
import { apiError } from '../../src/api/errors.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { isValidName, isValidTag } from '../../src/oci/names.js';
import { parseChunkRange, parseRange } from '../../src/api/range.js';

const hex64 = 'a'.repeat(64);

test('digests: sha256 and sha512 with exact lengths, nothing else', () => {
  assert.deepEqual(parseDigest(`sha256:${hex64}`), { algorithm: 'sha256', hex: hex64 });
  assert.ok(parseDigest(`sha512:${'b'.repeat(128)}`));
  for (const bad of [`sha256:${hex64.slice(1)}`, `sha256:${hex64.toUpperCase()}`, `md5:${hex64}`, `sha512:${hex64}`, 'sha256:', '', `sha256:${hex64}\n`]) {
    assert.equal(parseDigest(bad), null, bad);
  }
  assert.equal(digestOf(Buffer.from('')), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
});

test('names and tags follow the spec grammar', () => {
  for (const ok of ['a', 'library/ubuntu', 'a.b_c__d--e/f', 'x/y/z/w', '0']) assert.ok(isValidName(ok), ok);
  for (const bad of ['', 'A', '../etc', 'a//b', '/a', 'a/', 'a..b', '-a', 'a_', 'a/./b', 'a'.repeat(256)]) assert.ok(!isValidName(bad), bad);
  for (const ok of ['latest', 'v1.2.3', '_x', 'A-b.c_d', 'a'.repeat(128)]) assert.ok(isValidTag(ok), ok);
  for (const bad of ['', '-x', '.x', 'a'.repeat(129), 'a/b', 'a:b']) assert.ok(!isValidTag(bad), bad);
});

function manifestError(body: string, contentType?: string): string {
  try {
    parseManifest(Buffer.from(body), contentType);
    return 'accepted';
  } catch (err) {
    const answer = apiError(err);
    assert.ok(answer, `not a failure the API answers: ${String(err)}`);
    return answer.code;
  }
}

const config = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${hex64}`, size: 2 };

test('manifests: media type from the body, the header, or the shape; references extracted', () => {
  const oci = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, config, layers: [{ ...config, mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'c'.repeat(64)}` }] })), undefined);
  assert.equal(oci.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  assert.deepEqual(oci.blobs, [`sha256:${hex64}`, `sha256:${'c'.repeat(64)}`]);
  assert.equal(oci.artifactType, 'application/vnd.oci.image.config.v1+json');
  const foreign = parseManifest(
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config, layers: [{ ...config, digest: `sha256:${'d'.repeat(64)}`, urls: ['https://example.com/l'] }] })),
    'application/vnd.docker.distribution.manifest.v2+json',
  );
  assert.deepEqual(foreign.blobs, [`sha256:${hex64}`], 'foreign layers are not required');
  const index = parseManifest(Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ ...config, mediaType: 'application/vnd.oci.image.manifest.v1+json' }], subject: config })), 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(index.manifests, [`sha256:${hex64}`]);
  assert.equal(index.subject, `sha256:${hex64}`);
});

test('manifests: malformed documents are MANIFEST_INVALID', () => {
  assert.equal(manifestError('not json'), 'MANIFEST_INVALID');
  assert.equal(manifestError('[]'), 'MANIFEST_INVALID');
  assert.equal(manifestError(JSON.stringify({ schemaVersion: 1, config })), 'MANIFEST_INVALID');
  assert.equal(manifestError(JSON.stringify({ schemaVersion: 2, mediaType: 'application/x-unknown', config })), 'MANIFEST_INVALID');
  assert.equal(manifestError(JSON.stringify({ schemaVersion: 2, config: { ...config, digest: 'sha256:zz' } })), 'MANIFEST_INVALID');
  assert.equal(manifestError(JSON.stringify({ schemaVersion: 2, config: { ...config, size: -1 } })), 'MANIFEST_INVALID');
  assert.equal(manifestError(JSON.stringify({ schemaVersion: 2, config, layers: 'x' })), 'MANIFEST_INVALID');
  assert.equal(
    manifestError(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config }), 'application/vnd.oci.image.index.v1+json'),
    'MANIFEST_INVALID',
    'Content-Type contradicting the body',
  );
  assert.equal(manifestError(JSON.stringify({ schemaVersion: 2, config }), 'text/plain'), 'MANIFEST_INVALID');
});

test('ranges: single ranges, suffixes, unsatisfiable; chunk ranges', () => {
  assert.deepEqual(parseRange('bytes=0-9', 100), { kind: 'partial', range: { start: 0, end: 9 } });
  assert.deepEqual(parseRange('bytes=90-', 100), { kind: 'partial', range: { start: 90, end: 99 } });
  assert.deepEqual(parseRange('bytes=-10', 100), { kind: 'partial', range: { start: 90, end: 99 } });
  assert.deepEqual(parseRange('bytes=50-500', 100), { kind: 'partial', range: { start: 50, end: 99 } });
  assert.deepEqual(parseRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  assert.deepEqual(parseRange('bytes=0-1,5-6', 100), { kind: 'full' });
  assert.deepEqual(parseChunkRange('0-99'), { start: 0, end: 99 });
  assert.equal(parseChunkRange('99-0'), 'invalid');
  assert.equal(parseChunkRange('abc'), 'invalid');
  assert.equal(parseChunkRange(undefined), null);
});
