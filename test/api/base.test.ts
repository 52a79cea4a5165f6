// end-1: GET /v2/ — determining support.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus } from './support/http.js';
import { expectErrorStatus } from './support/registry.js';

describe('base endpoint /v2/', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer();
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('GET /v2/ answers 200 with Docker-Distribution-API-Version: registry/2.0', async () => {
    const res = await c.get('/v2/');
    expectStatus(res, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  it('HEAD /v2/ answers 200 with the same version header and no body', async () => {
    const res = await c.head('/v2/');
    expectStatus(res, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.equal(res.body.length, 0);
  });

  it('GET /v2 (no trailing slash) answers 200 or redirects to /v2/', async () => {
    const res = await c.get('/v2');
    expectStatus(res, [200, 301, 302, 307, 308]);
    if (res.status !== 200) assert.equal(new URL(res.headers.get('location') ?? '', res.url).pathname, '/v2/');
  });

  it('unknown paths under /v2/ answer 404, not 5xx', async () => {
    for (const p of ['/v2/nothing', '/v2/a/b/c', '/v2/repo/unknown/x', '/v2/repo/blobs', '/v2/repo/manifests/']) {
      const res = await c.get(p);
      expectErrorStatus(res, [400, 404]);
    }
  });

  it('paths outside /v2/ answer 404', async () => {
    const res = await c.get('/v1/');
    expectStatus(res, 404);
  });
});
