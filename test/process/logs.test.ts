import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword } from '../../src/auth/htpasswd.js';
import { startWharf, tempDir } from '../support/processes.js';

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

/** The JSON lines a wharf process wrote so far. */
function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function lineFor(wharf: { output(): string }, requestId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    const line = jsonLines(wharf.output()).find((l) => l.requestId === requestId && l.msg === 'request');
    if (line) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`no access line for ${requestId}:\n${wharf.output()}`);
}

test('levels are names and times ISO-8601 (jq select(.level=="error") works); refused requests name the user; proxied clients are named', async () => {
  const dir = await tempDir('logs-auth');
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `alice:${await hashPassword('alice-pw', 4)}\nbob:${await hashPassword('bob-pw', 4)}\n`);
  const wharf = await startWharf({
    port: 25000 + Math.floor(Math.random() * 500),
    configYaml: [
      'auth:',
      '  mode: basic',
      `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
      '  rules: [{users: [alice], repositories: ["team/**"], actions: [pull, push]}]',
      '  lockout: {trustedProxies: [127.0.0.1]}',
    ].join('\n'),
  });
  const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
  try {
    const get = (path: string, id: string, headers: Record<string, string> = {}) =>
      fetch(`${wharf.url}${path}`, { headers: { 'X-Request-Id': id, ...headers } }).then(async (r) => (await r.arrayBuffer(), r.status));
    assert.equal(await get('/v2/team/app/tags/list', 'ok-1', { Authorization: basic('alice', 'alice-pw') }), 404);
    assert.equal(await get('/v2/team/app/tags/list', 'bad-password', { Authorization: basic('alice', 'wrong') }), 401);
    assert.equal(await get('/v2/team/app/tags/list', 'forbidden', { Authorization: basic('bob', 'bob-pw') }), 403);
    assert.equal(await get('/v2/team/app/tags/list', 'anonymous'), 401);
    // From the trusted proxy (127.0.0.1), the client is the right-most untrusted X-Forwarded-For entry.
    assert.equal(await get('/v2/', 'proxied', { Authorization: basic('alice', 'alice-pw'), 'X-Forwarded-For': '6.6.6.6, 203.0.113.9' }), 200);

    const ok = await lineFor(wharf, 'ok-1');
    assert.equal(ok.level, 'info', 'the level is a name');
    assert.match(String(ok.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/, 'the time is ISO-8601');
    assert.equal(ok.user, 'alice');
    assert.equal(ok.authenticated, true);
    const bad = await lineFor(wharf, 'bad-password');
    assert.equal(bad.status, 401);
    assert.equal(bad.user, 'alice', 'a failed login names the user it claimed');
    assert.equal(bad.authenticated, false);
    const forbidden = await lineFor(wharf, 'forbidden');
    assert.equal(forbidden.status, 403);
    assert.equal(forbidden.user, 'bob', 'a refused user is named');
    const anonymous = await lineFor(wharf, 'anonymous');
    assert.equal(anonymous.user, null, 'anonymous requests say so');
    const proxied = await lineFor(wharf, 'proxied');
    assert.equal(proxied.remoteAddr, '203.0.113.9', 'the client behind the trusted proxy, not the proxy nor a spoofed entry');
    const direct = await lineFor(wharf, 'ok-1');
    assert.match(String(direct.remoteAddr), /^127\.0\.0\.1:\d+$/);
    // What jq 'select(.level=="error")' finds: the level names of every line are pino's names.
    for (const line of jsonLines(wharf.output())) assert.equal(typeof line.level, 'string', JSON.stringify(line));
  } finally {
    await wharf.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
