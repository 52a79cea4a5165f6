// Property test of the manifest and index validator: whatever text arrives, parsing either succeeds or throws a
// domain error the API answers with a 4xx status whose JSON is small, so answering it cannot fail. The budget is small in
// `npm test`; WHARF_FUZZ_RUNS raises it for a longer hunt.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { apiError } from '../../src/api/errors.js';
import { isDomainError } from '../../src/oci/errors.js';
import { parseManifest } from '../../src/oci/manifest.js';
import { contentType, hostileManifest } from '../support/hostile-json.js';

const runs = Number(process.env.WHARF_FUZZ_RUNS ?? 400);
const maxErrorJson = 2048;

function check(text: string, type: string | undefined): void {
  try {
    parseManifest(Buffer.from(text, 'utf8'), type);
  } catch (err) {
    const answer = apiError(err);
    assert.ok(answer, `not a failure the API answers: ${String(err).slice(0, 300)}`);
    assert.ok(answer.status >= 400 && answer.status < 500, `status ${answer.status}`);
    const json = JSON.stringify(answer.toJSON());
    assert.ok(json.length <= maxErrorJson, `error JSON of ${json.length} bytes: ${json.slice(0, 300)}`);
  }
}

describe('manifest validator under hostile input', () => {
  it('accepts or rejects with a small 4xx error, never anything else', () => {
    fc.assert(fc.property(hostileManifest, contentType, check), { numRuns: runs });
  });

  it('the issue payload: a 6000-level digest is rejected as too deep', () => {
    const text = `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"a","size":1,"digest":${'['.repeat(6000)}${']'.repeat(6000)}}}`;
    assert.throws(() => parseManifest(Buffer.from(text), undefined), (err: unknown) => isDomainError(err, 'ManifestInvalid') && /deeper/.test(err.message));
  });

  it('depth is counted outside strings only, escaped quotes included', () => {
    const config = { mediaType: 'a', digest: `sha256:${'b'.repeat(64)}`, size: 1 };
    const doc = { schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [], annotations: { x: `\\"${'['.repeat(100)}"{` } };
    assert.equal(parseManifest(Buffer.from(JSON.stringify(doc)), undefined).blobs.length, 1);
  });

  it('32 levels are parsed; 33 are not', () => {
    const at = (depth: number) => `{"schemaVersion":2,"config":${'['.repeat(depth - 1)}${']'.repeat(depth - 1)}}`;
    assert.throws(() => parseManifest(Buffer.from(at(32)), undefined), (err: unknown) => isDomainError(err) && !/deeper/.test(err.message));
    assert.throws(() => parseManifest(Buffer.from(at(33)), undefined), (err: unknown) => isDomainError(err) && /deeper/.test(err.message));
  });

  it('lists every required descriptor with its declared size, duplicates kept', () => {
    const layer = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'c'.repeat(64)}`, size: 5 };
    const config = { mediaType: 'a', digest: `sha256:${'b'.repeat(64)}`, size: 1 };
    const foreign = { ...layer, digest: `sha256:${'d'.repeat(64)}`, urls: ['https://example.com/x'] };
    const doc = { schemaVersion: 2, config, layers: [layer, { ...layer, size: 6 }, foreign] };
    const parsed = parseManifest(Buffer.from(JSON.stringify(doc)), 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(parsed.references, [
      { digest: config.digest, size: 1, manifest: false },
      { digest: layer.digest, size: 5, manifest: false },
      { digest: layer.digest, size: 6, manifest: false },
    ]);
  });
});
