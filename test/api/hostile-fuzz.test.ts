// Property test through real HTTP: random and adversarial manifests, path segments, query parameters and headers
// against a running server. Every answer is < 500, every 4xx carries a small OCI error JSON, nothing escapes the
// handlers, and the server still serves afterwards. A short budget here; WHARF_FUZZ_RUNS raises it.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../support/server.js';
import { contentType, hostileManifest, hostileValue } from '../support/hostile-json.js';
import { trapUncaught } from './support/http.js';

const runs = Number(process.env.WHARF_FUZZ_RUNS ?? 80);
const maxErrorBody = 2048;

async function expectHandled(res: Response, what: string): Promise<void> {
  const body = Buffer.from(await res.arrayBuffer());
  assert.ok(res.status < 500, `${what} → ${res.status}: ${body.subarray(0, 300).toString()}`);
  if (res.status < 400) return;
  assert.ok(body.length <= maxErrorBody, `${what} → ${res.status} with a ${body.length}-byte body`);
  const doc = JSON.parse(body.toString('utf8')) as { errors?: { code?: unknown; message?: unknown }[] };
  assert.ok(Array.isArray(doc.errors) && typeof doc.errors[0]?.code === 'string', `${what} → ${res.status}: ${body.toString().slice(0, 300)}`);
}

/** Text for a URL: hostile JSON, odd unicode or plain noise, percent-encoded as a client would send it. */
const urlText = fc.oneof(hostileValue.map((v) => v.slice(0, 3000)), fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 60 })).map(encodeURIComponent);

describe('HTTP API under random hostile input', () => {
  let srv: TestServer;
  let checkUncaught: () => void;

  before(async () => {
    srv = await startTestServer();
    checkUncaught = trapUncaught();
  });
  after(async () => {
    const res = await fetch(`${srv.url}/v2/`);
    assert.equal(res.status, 200, 'the server still serves');
    checkUncaught();
    await srv.close();
  });

  it('manifest PUTs: 2xx or a small 4xx error JSON', async () => {
    await fc.assert(
      fc.asyncProperty(hostileManifest, contentType, fc.constantFrom('fuzz', `sha256:${'a'.repeat(64)}`), async (text, type, ref) => {
        const headers: Record<string, string> = type === undefined ? {} : { 'Content-Type': type };
        const res = await fetch(`${srv.url}/v2/fuzz/repo/manifests/${ref}`, { method: 'PUT', body: text, headers });
        await expectHandled(res, `PUT ${text.slice(0, 120)}`);
      }),
      { numRuns: runs },
    );
  });

  it('GETs with hostile path segments and query parameters', async () => {
    const endpoint = fc.constantFrom(
      (s: string) => `/v2/fuzz/repo/tags/list?n=${s}`,
      (s: string) => `/v2/fuzz/repo/tags/list?last=${s}`,
      (s: string) => `/v2/_catalog?n=${s}&last=${s}`,
      (s: string) => `/v2/fuzz/repo/blobs/${s}`,
      (s: string) => `/v2/fuzz/repo/manifests/${s}`,
      (s: string) => `/v2/fuzz/repo/referrers/${s}`,
      (s: string) => `/v2/fuzz/repo/referrers/sha256:${'a'.repeat(64)}?artifactType=${s}`,
      (s: string) => `/v2/${s}/tags/list`,
      (s: string) => `/v2/fuzz/repo/blobs/uploads/${s}`,
    );
    await fc.assert(
      fc.asyncProperty(endpoint, urlText, async (path, text) => {
        const url = `${srv.url}${path(text)}`;
        await expectHandled(await fetch(url), `GET ${url.slice(0, 200)}`);
      }),
      { numRuns: runs },
    );
  });

  it('uploads with hostile digests, mount sources and Content-Range', async () => {
    await fc.assert(
      fc.asyncProperty(urlText, fc.string({ maxLength: 80 }), async (text, range) => {
        const mount = await fetch(`${srv.url}/v2/fuzz/repo/blobs/uploads/?mount=${text}&from=${text}`, { method: 'POST' });
        await expectHandled(mount, `POST mount=${text.slice(0, 100)}`);
        const post = await fetch(`${srv.url}/v2/fuzz/repo/blobs/uploads/`, { method: 'POST' });
        await post.arrayBuffer();
        const location = post.headers.get('location');
        assert.ok(location);
        const patch = await fetch(new URL(location, srv.url), { method: 'PATCH', body: 'abcd', headers: { 'Content-Range': range.replace(/[^\x20-\x7e]/g, '') } });
        await expectHandled(patch, `PATCH Content-Range ${range}`);
        const put = await fetch(new URL(`${location}${location.includes('?') ? '&' : '?'}digest=${text}`, srv.url), { method: 'PUT' });
        await expectHandled(put, `PUT digest=${text.slice(0, 100)}`);
      }),
      { numRuns: Math.ceil(runs / 3) },
    );
  });
});
