// Quotas enforced on bytes as they arrive: chunked bodies, concurrent pushes, staged sessions, and usage after GC.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { wharfMain } from '../support/processes.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, json } from './support/http.js';
import { digestOf, expectError, imageDoc, manifestBytes, MT, pushBlob, pushImage, pushManifest, randomData, startUpload, withQuery } from './support/registry.js';

const execFileAsync = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * KiB;

interface Answer {
  status: number;
  body: string;
  /** Body bytes written before the answer came. */
  written: number;
}

/**
 * Streams `total` bytes with Transfer-Encoding: chunked (no declared size) and stops writing as soon as the
 * answer arrives, as Go clients do; a reset before the answer fails the request, which is the broken pipe that
 * clients must not see.
 */
function streamChunked(base: string, method: string, path: string, total: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers: { 'Content-Type': 'application/octet-stream' } });
    let written = 0;
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), written });
        req.destroy();
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(new Error(`${method} ${path}: no answer, ${err.message} after ${written} bytes`));
    });
    const piece = randomData(64 * KiB);
    const pump = () => {
      while (!answered && written < total) {
        written += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (!answered) req.end();
    };
    pump();
  });
}

async function stagedFiles(srv: TestServer): Promise<string[]> {
  return readdir(join(srv.dataDir, 'storage', '_uploads')).catch(() => []);
}

function deniedNamingQuota(a: Answer): void {
  assert.equal(a.status, 403, a.body);
  const err = (JSON.parse(a.body) as { errors: { code: string; message: string; detail: { quota: number } }[] }).errors[0]!;
  assert.equal(err.code, 'DENIED');
  assert.match(err.message, /storage quota of 1048576 bytes/);
  assert.equal(err.detail.quota, MiB);
}

async function pushWithLayer(c: Client, repo: string, tag: string, layer: Buffer, config: Buffer): Promise<string> {
  const cfg = await pushBlob(c, repo, config);
  const lyr = await pushBlob(c, repo, layer);
  const doc = imageDoc({ ...cfg, mediaType: MT.ociConfig }, [{ ...lyr, mediaType: MT.ociLayer }]);
  return (await pushManifest(c, repo, manifestBytes(doc), MT.ociManifest, tag)).digest;
}

async function usedBytes(c: Client, repo: string): Promise<number> {
  const res = await c.get(`/admin/v1/repositories/${repo}`);
  return res.status === 404 ? 0 : json<{ bytes: number }>(res).bytes;
}

describe('quotas hold against streamed, concurrent and staged pushes', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer({ quotas: [{ repositories: ['q/**'], maxBytes: '1MiB' }] });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('a chunked monolithic POST is cut off when it crosses the quota, answered with DENIED, and leaves nothing staged', async () => {
    const answer = await streamChunked(srv.url, 'POST', `/v2/q/chunked/blobs/uploads/?digest=${digestOf('whatever')}`, 20 * MiB);
    deniedNamingQuota(answer);
    assert.deepEqual(await stagedFiles(srv), []);
    assert.equal(await usedBytes(c, 'q/chunked'), 0);
    await pushImage(c, 'q/chunked', { tag: 'v1' }); // and the connection pool and the repository still work
  });

  it('a chunked final PUT is refused the same way and its session (with the chunks staged before) is gone at once', async () => {
    const { location } = await startUpload(c, 'q/put');
    const first = randomData(300 * KiB);
    assert.equal((await c.patch(location, { body: first, headers: { 'Content-Type': 'application/octet-stream' } })).status, 202);
    assert.equal((await stagedFiles(srv)).length, 1);
    const answer = await streamChunked(srv.url, 'PUT', withQuery(location, { digest: digestOf('x') }), 20 * MiB);
    deniedNamingQuota(answer);
    expectError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    assert.deepEqual(await stagedFiles(srv), []);
  });

  it('a chunked PATCH crossing the quota gets DENIED, not a reset, every time', async () => {
    for (let i = 0; i < 10; i++) {
      const { location } = await startUpload(c, 'q/patch');
      deniedNamingQuota(await streamChunked(srv.url, 'PATCH', location, 6 * MiB));
      expectError(await c.get(location), 404, 'BLOB_UPLOAD_UNKNOWN');
    }
    assert.deepEqual(await stagedFiles(srv), []);
  });

  it('ten concurrent 900 KiB pushes into a 1 MiB quota: exactly one is stored', async () => {
    const blobs = Array.from({ length: 10 }, () => randomData(900 * KiB));
    const results = await Promise.all(
      blobs.map((b) =>
        c.post(`/v2/q/race/blobs/uploads/?digest=${digestOf(b)}`, { body: b, headers: { 'Content-Type': 'application/octet-stream' } }),
      ),
    );
    assert.deepEqual(results.map((r) => r.status).sort(), [201, 403, 403, 403, 403, 403, 403, 403, 403, 403]);
    assert.equal(await usedBytes(c, 'q/race'), 900 * KiB);
    assert.deepEqual(await stagedFiles(srv), []);
  });

  it('ten concurrent chunked pushes cannot overshoot either', async () => {
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => streamChunked(srv.url, 'POST', `/v2/q/race-chunked/blobs/uploads/?digest=${digestOf(String(i))}`, 900 * KiB)),
    );
    // Every body hashes to something else than its digest: the ones the quota let through fail that check instead.
    const denied = answers.filter((a) => a.status === 403).length;
    assert.ok(denied >= 9, `at most one 900 KiB body fits at a time; ${denied} denied: ${answers.map((a) => a.status).join(',')}`);
    assert.deepEqual(await stagedFiles(srv), []);
  });

  it('bytes staged in an open session count toward usage', async () => {
    const { location } = await startUpload(c, 'q/staged');
    assert.equal((await c.patch(location, { body: randomData(600 * KiB), headers: { 'Content-Type': 'application/octet-stream' } })).status, 202);
    const other = randomData(600 * KiB);
    const refused = await c.post(`/v2/q/staged/blobs/uploads/?digest=${digestOf(other)}`, { body: other, headers: { 'Content-Type': 'application/octet-stream' } });
    expectError(refused, 403, 'DENIED');
    assert.equal((await c.delete(location)).status, 204);
    const accepted = await c.post(`/v2/q/staged/blobs/uploads/?digest=${digestOf(other)}`, { body: other, headers: { 'Content-Type': 'application/octet-stream' } });
    assert.equal(accepted.status, 201);
  });

  it('usage follows what the repository holds after a manifest delete and GC, even when another repository shares its blobs', async () => {
    const layer = randomData(700 * KiB);
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const x = await pushWithLayer(c, 'q/x', 'v1', layer, config);
    await pushWithLayer(c, 'shared/y', 'v1', layer, config);
    assert.equal(await usedBytes(c, 'q/x'), layer.length + config.length);
    assert.equal((await c.delete(`/v2/q/x/manifests/${x}`)).status, 202);
    // `wharf gc` beside the running server, as an operator runs it; grace 0 so nothing waits out a clock.
    await execFileAsync(process.execPath, [wharfMain, 'gc', '--grace', '0', '--data-dir', srv.dataDir]);
    assert.equal(await usedBytes(c, 'q/x'), 0, 'q/x holds no manifest, so no blob');
    await pushWithLayer(c, 'q/x', 'v2', randomData(900 * KiB), Buffer.from('{"os":"linux"}')); // refused while stale links counted
    assert.equal((await c.get(`/v2/shared/y/blobs/${digestOf(layer)}`)).status, 200, 'the shared blob stays for shared/y');
  });
});

describe('upload session caps', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer({ registry: { maxUploadSessions: 5, maxUploadSessionsPerRepository: 3 } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('beyond the per-repository and the total cap a new session gets 429 TOOMANYREQUESTS; a finished one frees its place', async () => {
    const a = [];
    for (let i = 0; i < 3; i++) a.push((await startUpload(c, 'caps/a')).location);
    const refused = await c.post('/v2/caps/a/blobs/uploads/');
    expectError(refused, 429, 'TOOMANYREQUESTS');
    assert.match(refused.body.toString(), /repository caps\/a \(limit 3\)/);
    for (let i = 0; i < 2; i++) await startUpload(c, 'caps/b');
    const total = await c.post('/v2/caps/c/blobs/uploads/');
    expectError(total, 429, 'TOOMANYREQUESTS');
    assert.match(total.body.toString(), /registry \(limit 5\)/);
    const data = randomData(1000);
    assert.equal((await c.put(withQuery(a[0]!, { digest: digestOf(data) }), { body: data, headers: { 'Content-Type': 'application/octet-stream' } })).status, 201);
    await startUpload(c, 'caps/c');
    assert.equal((await c.delete(a[1]!)).status, 204);
    await startUpload(c, 'caps/a');
  });
});
