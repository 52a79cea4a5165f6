// registry.maxConcurrentUploads with a small limit, as Distribution setups set it: an upload over the limit waits
// for a slot (registry.uploadQueueTimeout) instead of failing at once; past the wait it gets 429 with Retry-After.
import assert from 'node:assert/strict';
import { request, type ClientRequest } from 'node:http';
import { test } from 'node:test';
import { Client } from '../api/support/http.js';
import { pushBlob, randomData, startUpload } from '../api/support/registry.js';
import { startWharf } from '../support/processes.js';

/** A PATCH whose body is still coming: it holds an upload slot until `finish`. */
function slowPatch(url: string): { req: ClientRequest; done: Promise<number>; finish: () => void } {
  let resolveDone: (status: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const req = request(url, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream' } }, (res) => {
    res.resume();
    res.on('end', () => resolveDone(res.statusCode ?? 0));
  });
  req.on('error', () => resolveDone(0));
  req.write(Buffer.alloc(1024, 1));
  return { req, done, finish: () => req.end(Buffer.alloc(1024, 2)) };
}

test('maxConcurrentUploads 2: parallel pushes queue for a slot and all succeed; a wait past uploadQueueTimeout gets 429 + Retry-After', async () => {
  const wharf = await startWharf({
    port: 25900 + Math.floor(Math.random() * 90),
    configYaml: ['registry:', '  maxConcurrentUploads: 2', '  uploadQueueTimeout: 1500ms'].join('\n'),
  });
  try {
    const c = new Client(wharf.url);
    // Two uploads hold both slots while their bodies trickle in.
    const held = await Promise.all([startUpload(c, 'team/a'), startUpload(c, 'team/b')]);
    const patches = held.map(({ location }) => slowPatch(c.url(location)));
    await new Promise((r) => setTimeout(r, 300));

    // A third upload waits instead of failing; it proceeds as soon as a slot frees.
    const started = Date.now();
    const third = startUpload(c, 'team/c');
    await new Promise((r) => setTimeout(r, 400));
    patches[0]!.finish();
    assert.equal(await patches[0]!.done, 202);
    const { res } = await third;
    assert.equal(res.status, 202, 'the queued upload was served');
    assert.ok(Date.now() - started >= 350, 'it waited for the slot');

    // With both slots held longer than the queue timeout, the waiting upload is refused, after waiting.
    const again = slowPatch(c.url((await startUpload(c, 'team/d')).location));
    await new Promise((r) => setTimeout(r, 300));
    const refusedAt = Date.now();
    const refused = await c.post('/v2/team/e/blobs/uploads/');
    assert.equal(refused.status, 429);
    assert.ok(Date.now() - refusedAt >= 1200, `refused after the queue timeout, not at once (${Date.now() - refusedAt} ms)`);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(refused.body.toString(), /TOOMANYREQUESTS.*too many concurrent uploads/);
    patches[1]!.finish();
    again.finish();
    assert.equal(await patches[1]!.done, 202);
    assert.equal(await again.done, 202);

    // Many parallel pushes through two slots: every one lands.
    const blobs = Array.from({ length: 12 }, (_, i) => randomData(64 * 1024 + i));
    const pushed = await Promise.all(blobs.map((b, i) => pushBlob(c, `team/p${i % 3}`, b)));
    assert.equal(pushed.length, 12);
  } finally {
    await wharf.stop();
  }
});
