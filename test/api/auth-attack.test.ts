// Auth under attack, through a real server and real sockets: a flood of wrong passwords leaves anonymous pulls and
// /healthz answering and gets 429 beyond the verification limit; a burst of guesses from one address is checked
// exactly maxFailures times; nobody can lock admin out from another address; X-Forwarded-For counts only behind
// listed proxies; unknown users pay the highest bcrypt cost in the file; the admin API lists and lifts locks.
// Checks are held at a gate (HeldVerify) to keep them in flight, and time moves on an injected clock.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { bcryptCost, hashPassword } from '../../src/auth/htpasswd.js';
import type { AuthConfigInput } from '../../src/auth/config.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { tempDir } from '../support/processes.js';
import { HeldVerify, manualClock } from '../unit/auth/support.js';
import { AuthClient, basicAuthorization, fetchToken, repoScope } from './support/auth.js';
import { pushImage } from './support/registry.js';

const SERVICE = 'wharf-attack.test';
const PASSWORDS = { admin: 'admin-correct-horse', alice: 'alice-battery-staple' } as const;
const minute = 60_000;

interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One request on its own socket, optionally from another loopback address (every 127.x is local). */
function send(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; from?: string; sent?: () => void } = {}): Promise<Reply> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: Number(u.port), path, method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false, ...(opts.from ? { localAddress: opts.from } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (opts.sent) req.on('finish', opts.sent);
    req.end();
  });
}

/**
 * Sends `n` requests and resolves (with their answers pending) once the server has read them all: each was written
 * out, and a later request on a new connection came back, which the server reads only after the earlier ones.
 */
async function inServer(base: string, n: number, make: (i: number, sent: () => void) => Promise<Reply>): Promise<Promise<Reply>[]> {
  let written = 0;
  let allWritten!: () => void;
  const done = new Promise<void>((r) => (allWritten = r));
  const replies = Array.from({ length: n }, (_, i) => make(i, () => ++written === n && allWritten()));
  await done;
  await send(base, '/healthz', { from: '127.0.0.6' });
  return replies;
}

function errorCode(r: Reply): string | undefined {
  return (JSON.parse(r.body) as { errors?: { code: string }[] }).errors?.[0]?.code;
}

function expect429(r: Reply, what: string): number {
  assert.equal(r.status, 429, `${what}: ${r.status} ${r.body}`);
  assert.equal(errorCode(r), 'TOOMANYREQUESTS', what);
  const ra = r.headers['retry-after'];
  assert.ok(typeof ra === 'string' && /^\d+$/.test(ra), `${what}: Retry-After ${String(ra)}`);
  return Number(ra);
}

type Mode = 'basic' | 'token';

const answered = new WeakMap<Promise<Reply>, Reply>();

/** Waits until at least `n` of `requests` have been answered; returns those answered so far. */
async function settledAtLeast(requests: readonly Promise<Reply>[], n: number): Promise<Reply[]> {
  for (const r of requests) void r.then((reply) => answered.set(r, reply), () => undefined);
  for (;;) {
    const done = requests.flatMap((r) => answered.get(r) ?? []);
    if (done.length >= n) return done;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface World {
  readonly srv: TestServer;
  readonly verify: HeldVerify;
  readonly clock: ReturnType<typeof manualClock>;
  /** One login as `user` (basic: GET /v2/; token: GET /auth/token), optionally via a proxy header or another address. */
  login(user: string, password: string, opts?: { from?: string; forwardedFor?: string; sent?: () => void }): Promise<Reply>;
  admin(method: string, path: string): Promise<Reply>;
}

const dirs: string[] = [];
after(async () => {
  const { rm } = await import('node:fs/promises');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** htpasswd with admin at cost 6 (the highest) and alice at cost 4. */
async function htpasswdFile(): Promise<string> {
  const dir = await tempDir('auth-attack');
  dirs.push(dir);
  const path = join(dir, 'htpasswd');
  await writeFile(path, `admin:${await hashPassword(PASSWORDS.admin, 6)}\nalice:${await hashPassword(PASSWORDS.alice, 4)}\n`, { mode: 0o600 });
  return path;
}

async function startWorld(mode: Mode, auth: Record<string, unknown> = {}): Promise<World> {
  const verify = new HeldVerify();
  const clock = manualClock(Date.now());
  const srv = await startTestServer(
    {
      auth: {
        mode,
        htpasswd: { path: await htpasswdFile() },
        token: { realm: 'http://127.0.0.1/auth/token', service: SERVICE },
        anonymous: [{ repositories: ['public/**'], actions: ['pull'] }],
        rules: [{ users: ['*'], repositories: ['team/**'], actions: ['pull'] }],
        admins: ['admin'],
        ...auth,
      } as AuthConfigInput,
    },
    { now: clock.now, verifyPassword: verify.verify },
  );
  const login = (user: string, password: string, opts: { from?: string; forwardedFor?: string; sent?: () => void } = {}) => {
    const headers: Record<string, string> = { Authorization: basicAuthorization(user, password) };
    if (opts.forwardedFor !== undefined) headers['X-Forwarded-For'] = opts.forwardedFor;
    const path = mode === 'basic' ? '/v2/' : `/auth/token?service=${SERVICE}&scope=${encodeURIComponent(repoScope('team/app', ['pull']))}`;
    return send(srv.url, path, { headers, ...(opts.from ? { from: opts.from } : {}), ...(opts.sent ? { sent: opts.sent } : {}) });
  };
  const admin = async (method: string, path: string): Promise<Reply> => {
    let authorization = basicAuthorization('admin', PASSWORDS.admin);
    if (mode === 'token') {
      const t = await send(srv.url, `/auth/token?service=${SERVICE}`, { headers: { Authorization: authorization }, from: '127.0.0.9' });
      assert.equal(t.status, 200, t.body);
      authorization = `Bearer ${(JSON.parse(t.body) as { token: string }).token}`;
    }
    return send(srv.url, path, { method, headers: { Authorization: authorization }, from: '127.0.0.9' });
  };
  return { srv, verify, clock, login, admin };
}

/** An anonymous pull of public/img's manifest (token mode: with an anonymous token). */
async function anonymousPull(w: World, mode: Mode): Promise<number> {
  const headers: Record<string, string> = { Accept: 'application/vnd.oci.image.manifest.v1+json' };
  if (mode === 'token') {
    const t = await send(w.srv.url, `/auth/token?service=${SERVICE}&scope=${encodeURIComponent(repoScope('public/img', ['pull']))}`, { from: '127.0.0.5' });
    headers.Authorization = `Bearer ${(JSON.parse(t.body) as { token: string }).token}`;
  }
  return (await send(w.srv.url, '/v2/public/img/manifests/latest', { headers, from: '127.0.0.5' })).status;
}

for (const mode of ['basic', 'token'] as const) {
  describe(`${mode} mode under attack`, () => {
    it('300 concurrent wrong passwords: beyond the verification limit 429 at once, without bcrypt; anonymous pulls and /healthz answer meanwhile', async () => {
      // The flood comes through a trusted proxy from 300 addresses, so lockout does not stop it: only the limit does.
      const w = await startWorld(mode, { verification: { maxConcurrent: 2, maxQueued: 8 }, lockout: { trustedProxies: ['127.0.0.1'] } });
      try {
        const authorization =
          mode === 'basic'
            ? basicAuthorization('admin', PASSWORDS.admin)
            : `Bearer ${await fetchToken(w.srv.url, { service: SERVICE, user: 'admin', password: PASSWORDS.admin, scopes: [repoScope('public/img', ['pull', 'push'])] })}`;
        await pushImage(new AuthClient(w.srv.url, authorization), 'public/img', { tag: 'latest' });
        const before = w.verify.calls;
        w.verify.hold();
        const flood = Array.from({ length: 300 }, (_, i) => w.login('alice', `guess-${i}`, { forwardedFor: `10.66.${i >> 8}.${i & 255}` }));
        const refused = await settledAtLeast(flood, 290);
        // Everything beyond 2 running + 8 waiting was answered without waiting for any check.
        for (const r of refused) expect429(r, 'flood beyond the limit');
        assert.equal(w.verify.calls - before, 2, 'only the two running checks reached bcrypt');
        // With ten checks still held in flight, the registry keeps answering.
        assert.equal(await anonymousPull(w, mode), 200, 'anonymous pull during the flood');
        assert.equal((await send(w.srv.url, '/healthz', { from: '127.0.0.6' })).status, 200, '/healthz during the flood');
        assert.equal((await settledAtLeast(flood, 0)).length, 290, 'the flood was still in flight');
        w.verify.release();
        const rest = (await Promise.all(flood)).filter((r) => r.status !== 429);
        assert.deepEqual(rest.map((r) => r.status), Array(10).fill(401));
        assert.equal(w.verify.calls - before, 10);
      } finally {
        w.verify.release();
        await w.srv.close();
      }
    });

    it('a burst of 100 guesses from one address gets exactly maxFailures checks; the right password in it is not accepted', async () => {
      const w = await startWorld(mode, { verification: { maxConcurrent: 16, maxQueued: 200 }, lockout: { maxFailures: 10, duration: '15m' } });
      try {
        w.verify.hold();
        const burst = Array.from({ length: 99 }, (_, i) => w.login('alice', `guess-${i}`));
        await settledAtLeast(burst, 89);
        expect429(await w.login('alice', PASSWORDS.alice), 'the right password while ten guesses are in flight');
        w.verify.release();
        const statuses = (await Promise.all(burst)).map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 401).length, 10);
        assert.equal(statuses.filter((s) => s === 429).length, 89);
        assert.equal(w.verify.calls, 10, 'bcrypt ran exactly maxFailures times');
        const locked = expect429(await w.login('alice', PASSWORDS.alice), 'the right password after the lock');
        assert.ok(locked > 800 && locked <= 900, `locked for the duration, Retry-After ${locked}`);
        assert.equal(w.verify.calls, 10);
        w.clock.advance(15 * minute);
        assert.equal((await w.login('alice', PASSWORDS.alice)).status, 200, 'over after the duration (injected clock)');
      } finally {
        w.verify.release();
        await w.srv.close();
      }
    });

    it('a client’s 30 parallel first requests with the right password are one check, and none is refused', async () => {
      const w = await startWorld(mode, { lockout: { maxFailures: 10 } });
      try {
        w.verify.hold();
        const parallel = await inServer(w.srv.url, 30, (_, sent) => w.login('alice', PASSWORDS.alice, { sent }));
        assert.equal(w.verify.calls, 1, 'all thirty wait on one check');
        w.verify.release();
        assert.deepEqual((await Promise.all(parallel)).map((r) => r.status), Array(30).fill(200));
        assert.equal(w.verify.calls, 1);
      } finally {
        w.verify.release();
        await w.srv.close();
      }
    });

    it('ten wrong passwords for admin from one address do not lock admin out elsewhere; an address that tries many users is locked for all', async () => {
      const w = await startWorld(mode, { lockout: { maxFailures: 10, maxAddressFailures: 20 } });
      try {
        for (let i = 0; i < 10; i++) assert.equal((await w.login('admin', `guess-${i}`, { from: '127.0.0.1' })).status, 401);
        expect429(await w.login('admin', PASSWORDS.admin, { from: '127.0.0.1' }), 'admin from the attacking address');
        assert.equal((await w.login('admin', PASSWORDS.admin, { from: '127.0.0.2' })).status, 200, 'admin from another address');
        assert.equal((await w.login('alice', PASSWORDS.alice, { from: '127.0.0.1' })).status, 200, 'another user from the attacking address');
        for (let i = 0; i < 10; i++) assert.equal((await w.login(`ghost${i}`, 'x', { from: '127.0.0.1' })).status, 401);
        expect429(await w.login('alice', PASSWORDS.alice, { from: '127.0.0.1' }), 'twenty failures: the address is locked');
        assert.equal((await w.login('alice', PASSWORDS.alice, { from: '127.0.0.3' })).status, 200);

        const list = await w.admin('GET', '/admin/v1/auth/locks');
        assert.equal(list.status, 200, list.body);
        const locks = (JSON.parse(list.body) as { locks: { address: string; user?: string; retryAfterSeconds: number }[] }).locks;
        assert.deepEqual(locks.map((l) => `${l.user ?? '*'}@${l.address}`).sort(), ['*@127.0.0.1', 'admin@127.0.0.1']);
        const bad = await w.admin('DELETE', '/admin/v1/auth/locks');
        assert.equal(bad.status, 400);
        assert.equal(errorCode(bad), 'UNSUPPORTED');
        const lifted = await w.admin('DELETE', '/admin/v1/auth/locks?address=127.0.0.1');
        assert.deepEqual(JSON.parse(lifted.body), { unlocked: 2 });
        assert.equal((await w.login('admin', PASSWORDS.admin, { from: '127.0.0.1' })).status, 200, 'unlocked');
        const refused = await send(w.srv.url, '/admin/v1/auth/locks', { headers: { Authorization: basicAuthorization('alice', PASSWORDS.alice) } });
        assert.ok(refused.status === 403 || refused.status === 401, `not an admin: ${refused.status}`);
      } finally {
        await w.srv.close();
      }
    });
  });
}

describe('X-Forwarded-For and the cost of unknown users', () => {
  let w: World;
  before(async () => {
    w = await startWorld('basic', { lockout: { maxFailures: 3, trustedProxies: ['127.0.0.1'] } });
  });
  after(async () => {
    await w?.srv.close();
  });

  it('behind a trusted proxy the right-most untrusted entry is the client; spoofed entries left of it are ignored', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await w.login('alice', 'wrong', { forwardedFor: `6.6.6.${i}, 203.0.113.7` })).status, 401);
    expect429(await w.login('alice', PASSWORDS.alice, { forwardedFor: '1.1.1.1, 203.0.113.7' }), 'a new spoofed entry does not escape the lock');
    assert.equal((await w.login('alice', PASSWORDS.alice, { forwardedFor: '203.0.113.7, 203.0.113.8' })).status, 200, 'another client behind the proxy');
    assert.equal((await w.login('alice', PASSWORDS.alice, { forwardedFor: '203.0.113.8' })).status, 200);
    // From an address that is not a trusted proxy the header is ignored: its own address counts.
    for (let i = 0; i < 3; i++) assert.equal((await w.login('alice', 'wrong', { from: '127.0.0.4', forwardedFor: '198.51.100.1' })).status, 401);
    expect429(await w.login('alice', PASSWORDS.alice, { from: '127.0.0.4', forwardedFor: '198.51.100.2' }), 'the socket address is locked');
    assert.equal((await w.login('alice', PASSWORDS.alice, { forwardedFor: '198.51.100.1' })).status, 200, 'the spoofed address was never counted');
  });

  it('a login for a user who does not exist is checked against a dummy hash of the highest cost in the file', async () => {
    const before = w.verify.hashes.length;
    assert.equal((await w.login('nobody', 'whatever', { forwardedFor: '192.0.2.77' })).status, 401);
    const used = w.verify.hashes.slice(before);
    assert.equal(used.length, 1);
    assert.equal(bcryptCost(used[0]!), 6, 'admin’s cost 6, not alice’s 4');
  });
});
