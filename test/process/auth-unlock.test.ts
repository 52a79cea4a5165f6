// `wharf auth locks|unlock` as real CLI processes against a real `wharf serve` process, in basic and token mode:
// a user locked out from one address is listed, lifted, and can log in again; credentials come from the
// environment or stdin, never argv; a wrong admin password or a missing filter fails plainly.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hashPassword } from '../../src/auth/htpasswd.js';
import { freePort, runWharf, startWharf, tempDir, type RunningRegistry } from '../support/processes.js';

const ADMIN_PASSWORD = 'admin-pw-for-unlock';
const ALICE_PASSWORD = 'alice-pw-for-unlock';

function wharfAuth(args: string[], env: Record<string, string | undefined>, stdin = '') {
  return runWharf(['auth', ...args], { env, stdin });
}

/** GET /v2/ (basic) or /auth/token (token) as alice from a given loopback address; the status. */
function login(srv: RunningRegistry, mode: 'basic' | 'token', password: string, from: string): Promise<number> {
  const u = new URL(srv.url);
  const path = mode === 'basic' ? '/v2/' : '/auth/token?service=wharf';
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: Number(u.port), path, localAddress: from, agent: false, headers: { Authorization: `Basic ${Buffer.from(`alice:${password}`).toString('base64')}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function serve(mode: 'basic' | 'token'): Promise<RunningRegistry> {
  const dir = await tempDir('auth-unlock');
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `admin:${await hashPassword(ADMIN_PASSWORD, 4)}\nalice:${await hashPassword(ALICE_PASSWORD, 4)}\n`);
  // The CLI fetches its token from the realm the server advertises, so the realm names this server's port.
  const port = await freePort();
  const srv = await startWharf({
    port,
    configYaml: [
      'auth:',
      `  mode: ${mode}`,
      `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
      '  admins: [admin]',
      '  lockout: {maxFailures: 3}',
      ...(mode === 'token' ? [`  token: {realm: "http://127.0.0.1:${port}/auth/token"}`] : []),
    ].join('\n'),
  });
  cleanups.push(() => srv.stop());
  return srv;
}

for (const mode of ['basic', 'token'] as const) {
  describe(`wharf auth against a running server (${mode} mode)`, () => {
    it('lists a lockout, lifts it by user and address, and the user logs in again', async () => {
      const srv = await serve(mode);
      const env = { WHARF_URL: srv.url, WHARF_ADMIN_USER: 'admin', WHARF_ADMIN_PASSWORD: ADMIN_PASSWORD };
      for (let i = 0; i < 3; i++) assert.equal(await login(srv, mode, `wrong-${i}`, '127.0.0.7'), 401);
      assert.equal(await login(srv, mode, ALICE_PASSWORD, '127.0.0.7'), 429, 'locked at 127.0.0.7');
      assert.equal(await login(srv, mode, ALICE_PASSWORD, '127.0.0.8'), 200, 'not elsewhere');

      const listed = await wharfAuth(['locks', '--json'], env);
      assert.equal(listed.code, 0, listed.stderr);
      const locks = JSON.parse(listed.stdout) as { address: string; user?: string; retryAfterSeconds: number }[];
      assert.deepEqual(locks.map((l) => [l.address, l.user]), [['127.0.0.7', 'alice']]);
      assert.ok(locks[0]!.retryAfterSeconds > 800);
      if (mode === 'basic') {
        // What does not depend on the mode, checked once.
        const table = await wharfAuth(['locks'], env);
        assert.match(table.stdout, /^127\.0\.0\.7\talice\t/m);
        const usage = await wharfAuth(['unlock'], env);
        assert.equal(usage.code, 2, 'unlock needs --user or --address');
        const wrong = await wharfAuth(['unlock', '--user', 'alice'], { ...env, WHARF_ADMIN_PASSWORD: 'not-it' });
        assert.equal(wrong.code, 1);
        assert.match(wrong.stderr, /401|UNAUTHORIZED/);
      }

      // The password on stdin instead of the environment.
      const lifted = await wharfAuth(['unlock', '--user', 'alice', '--address', '127.0.0.7', '--url', srv.url], { ...env, WHARF_ADMIN_PASSWORD: undefined }, `${ADMIN_PASSWORD}\n`);
      assert.equal(lifted.code, 0, lifted.stderr);
      assert.equal(lifted.stdout, 'lifted 1 lock\n');
      assert.equal(await login(srv, mode, ALICE_PASSWORD, '127.0.0.7'), 200, 'unlocked');
      const after = await wharfAuth(['locks', '--json'], env);
      assert.deepEqual(JSON.parse(after.stdout), []);
    });
  });
}
