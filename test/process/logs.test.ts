import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startWharf } from '../support/processes.js';

test('one JSON access line per request, with the echoed request id; credentials never logged', async () => {
  const wharf = await startWharf();
  try {
    const secret = Buffer.from('alice:hunter2-very-secret').toString('base64');
    const res = await fetch(`${wharf.url}/v2/some/repo/tags/list`, { headers: { Authorization: `Basic ${secret}`, 'X-Request-Id': 'trace-me-42' } });
    assert.equal(res.status, 404);
    assert.equal(res.headers.get('x-request-id'), 'trace-me-42');
    const generated = await fetch(`${wharf.url}/v2/`);
    const generatedId = generated.headers.get('x-request-id');
    assert.match(generatedId ?? '', /^[0-9a-f-]{36}$/);
    await new Promise((r) => setTimeout(r, 300));
    const lines = wharf
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.requestId === 'trace-me-42');
    assert.ok(line, 'the access line carries the request id');
    assert.equal(line.msg, 'request');
    assert.equal(line.method, 'GET');
    assert.equal(line.status, 404);
    assert.equal(line.route, 'tags');
    assert.equal(line.repository, 'some/repo');
    assert.equal(line.action, 'pull');
    assert.equal(typeof line.durationMs, 'number');
    assert.ok(lines.some((l) => l.requestId === generatedId));
    assert.ok(!wharf.output().includes(secret) && !wharf.output().includes('hunter2'), 'credentials must never reach the log');
  } finally {
    await wharf.stop();
  }
});
