// CORS as a browser UI (joxit's docker-registry-ui, the common one) needs it, against a real `wharf serve`: the
// config its guide gives (methods including OPTIONS), the preflight a fetch with Cache-Control sends, and a
// preflight from an origin not allowed answered with the usual error JSON.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startWharf } from '../support/processes.js';

const UI = 'http://localhost:8080';

test('a browser UI configured as joxit documents it: OPTIONS in allowedMethods, Cache-Control in a preflight', async () => {
  const wharf = await startWharf({
    port: 25500 + Math.floor(Math.random() * 100),
    configYaml: ['cors:', '  enabled: true', `  allowedOrigins: ["${UI}"]`, '  allowedMethods: [HEAD, GET, OPTIONS, DELETE]'].join('\n'),
  });
  try {
    // What Chromium sends before `fetch(url, {headers: {Authorization, 'Cache-Control': 'no-cache'}})`.
    const preflight = await fetch(`${wharf.url}/v2/_catalog`, {
      method: 'OPTIONS',
      headers: { Origin: UI, 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization,cache-control' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), UI);
    const allowed = (preflight.headers.get('access-control-allow-headers') ?? '').toLowerCase().split(/\s*,\s*/);
    for (const h of ['authorization', 'cache-control']) assert.ok(allowed.includes(h), `${h} allowed: ${allowed.join(', ')}`);
    assert.deepEqual((preflight.headers.get('access-control-allow-methods') ?? '').split(/\s*,\s*/), ['HEAD', 'GET', 'OPTIONS', 'DELETE']);

    const real = await fetch(`${wharf.url}/v2/_catalog`, { headers: { Origin: UI, 'Cache-Control': 'no-cache' } });
    assert.equal(real.status, 200);
    assert.equal(real.headers.get('access-control-allow-origin'), UI);

    const refused = await fetch(`${wharf.url}/v2/_catalog`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example.net', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(refused.status, 403);
    assert.equal(refused.headers.get('access-control-allow-origin'), null);
    assert.match(refused.headers.get('content-type') ?? '', /application\/json/);
    const body = (await refused.json()) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0]?.code, 'DENIED');
    assert.match(body.errors[0]?.message ?? '', /evil\.example\.net.*cors\.allowedOrigins/);
  } finally {
    await wharf.stop();
  }
});
