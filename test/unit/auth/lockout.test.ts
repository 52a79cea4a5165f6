import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clientAddress, lockoutAddress, TrustedProxies } from '../../../src/auth/client-address.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccessController } from '../../../src/auth/controller.js';
import { LoginGuard, MemoryLockoutStore, type LockKey } from '../../../src/auth/lockout.js';
import { RegistryError } from '../../../src/api/errors.js';
import { authConfig, basic, captureLog, fakeRequest, HeldVerify, htpasswdText, manualClock, passwords, withTempDir } from './support.js';

const minute = 60_000;
const options = { maxFailures: 10, maxAddressFailures: 30, window: 5 * minute, duration: 15 * minute, maxTracked: 1000 };
const pair = (user: string, address = '192.0.2.1'): LockKey[] => [{ address }, { address, user }];

/** One failed check: reserve, then fail; returns whether the reservation was granted. */
async function failOnce(store: MemoryLockoutStore, keys: LockKey[]): Promise<boolean> {
  const r = await store.reserve(keys);
  if (r.ok) await store.fail(keys);
  return r.ok;
}

test('maxFailures within the window lock a pair out for the configured time, then it expires', async () => {
  const clock = manualClock();
  const store = new MemoryLockoutStore({ ...options, now: clock.now });
  for (let i = 0; i < 10; i++) assert.equal(await failOnce(store, pair('u')), true);
  assert.deepEqual(await store.reserve(pair('u')), { ok: false, retryAfterMs: 15 * minute });
  assert.deepEqual(await store.reserve(pair('other')), { ok: true }, 'another user from the same address is not locked');
  await store.release(pair('other'), []);
  clock.advance(15 * minute - 1);
  assert.deepEqual(await store.reserve(pair('u')), { ok: false, retryAfterMs: 1 });
  clock.advance(1);
  assert.equal(await failOnce(store, pair('u')), true, 'over; the count starts afresh');
});

test('failures older than the window do not count (sliding window)', async () => {
  const clock = manualClock();
  const store = new MemoryLockoutStore({ ...options, now: clock.now });
  for (let i = 0; i < 9; i++) {
    await failOnce(store, pair('k'));
    clock.advance(30_000);
  }
  // Failures at 0s … 240s; at 330s the first two have left the 5-minute window, seven remain.
  clock.advance(minute);
  assert.equal(await failOnce(store, pair('k')), true);
  assert.equal(await failOnce(store, pair('k')), true);
  assert.equal(await failOnce(store, pair('k')), true, 'ten inside the window: this one locks');
  assert.equal((await store.reserve(pair('k'))).ok, false);
});

test('checks are reserved: however many arrive at once, a key gets maxFailures of them per window', async () => {
  const store = new MemoryLockoutStore(options);
  const granted = (await Promise.all(Array.from({ length: 100 }, () => store.reserve(pair('admin'))))).filter((r) => r.ok).length;
  assert.equal(granted, 10, 'ten in flight fill the pair before any has failed');
  const refused = await store.reserve(pair('admin'));
  assert.deepEqual(refused, { ok: false, retryAfterMs: 1000 }, 'full, not yet locked: retry shortly');
  for (let i = 0; i < 9; i++) await store.fail(pair('admin'));
  await store.release(pair('admin'), [pair('admin')[1]!]);
  assert.equal((await store.reserve(pair('admin'))).ok, true, 'a success frees its reservation and clears the pair');
});

test('an address locks at maxAddressFailures whichever users it names; the lock list and unlock', async () => {
  const clock = manualClock();
  const store = new MemoryLockoutStore({ ...options, now: clock.now });
  for (let i = 0; i < 30; i++) assert.equal(await failOnce(store, pair(`ghost${i}`, '203.0.113.9')), true);
  assert.equal((await store.reserve(pair('alice', '203.0.113.9'))).ok, false, 'the address is locked for everyone');
  assert.equal((await store.reserve(pair('alice', '203.0.113.10'))).ok, true, 'other addresses are not');
  for (let i = 0; i < 10; i++) await failOnce(store, pair('bob', '198.51.100.1'));
  const locks = await store.locks();
  assert.deepEqual(
    locks.map((l) => [l.address, l.user]).sort(),
    [['198.51.100.1', 'bob'], ['203.0.113.9', undefined]].sort(),
  );
  assert.ok(locks.every((l) => l.lockedUntil === clock.now() + 15 * minute));
  assert.equal(await store.unlock({ user: 'bob' }), 1);
  assert.equal((await store.reserve(pair('bob', '198.51.100.1'))).ok, true);
  assert.ok((await store.unlock({ address: '203.0.113.9' })) >= 1);
  assert.equal((await store.reserve(pair('alice', '203.0.113.9'))).ok, true);
});

test('memory is bounded: the least recently touched keys are forgotten first', async () => {
  const store = new MemoryLockoutStore({ ...options, maxTracked: 100 });
  for (let i = 0; i < 2000; i++) await failOnce(store, pair('u', `10.0.${i >> 8}.${i & 255}`));
  assert.equal(store.size, 100);
});

test('the client address: the socket, or the right-most X-Forwarded-For entry that is not a trusted proxy', () => {
  const none = new TrustedProxies([]);
  const proxies = new TrustedProxies(['10.0.0.0/8', '::1']);
  assert.equal(clientAddress(fakeRequest({}, '::ffff:10.1.2.3'), none), '10.1.2.3');
  const spoofed = { 'x-forwarded-for': '6.6.6.6, 203.0.113.7' };
  assert.equal(clientAddress(fakeRequest(spoofed, '10.0.0.1'), none), '10.0.0.1', 'no proxies trusted: the header is ignored');
  assert.equal(clientAddress(fakeRequest(spoofed, '192.0.2.99'), proxies), '192.0.2.99', 'a socket that is not a trusted proxy: the header is ignored');
  assert.equal(clientAddress(fakeRequest(spoofed, '10.0.0.1'), proxies), '203.0.113.7', 'the entry the proxy appended, not the spoofable first');
  assert.equal(clientAddress(fakeRequest({ 'x-forwarded-for': '6.6.6.6, 203.0.113.7, 10.9.9.9' }, '::1'), proxies), '203.0.113.7', 'two proxies: skip both');
  assert.equal(clientAddress(fakeRequest({ 'x-forwarded-for': 'garbage, 10.2.2.2' }, '10.0.0.1'), proxies), '10.2.2.2', 'unparseable: the last trusted hop');
  assert.equal(clientAddress(fakeRequest({}, '10.0.0.1'), proxies), '10.0.0.1', 'no header: the proxy itself');
  assert.throws(() => new TrustedProxies(['10.0.0.0/33']));
});

test('IPv6 clients are counted per /64', () => {
  assert.equal(lockoutAddress('2001:db8:1:2:aaaa::1'), '2001:0db8:0001:0002::/64');
  assert.equal(lockoutAddress('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:0db8:0001:0002::/64');
  assert.equal(lockoutAddress('192.0.2.1'), '192.0.2.1');
  assert.equal(lockoutAddress('::1'), '0000:0000:0000:0000::/64');
});

test('the guard logs failures and lockouts with user and address, never the password; huge names are shortened', async () => {
  const captured = captureLog();
  const guard = new LoginGuard(new MemoryLockoutStore({ ...options, maxFailures: 3 }), captured.log);
  for (let i = 0; i < 3; i++) {
    assert.equal((await guard.begin('198.51.100.4', 'alice')).locked, false);
    await guard.failure('198.51.100.4', 'alice');
  }
  assert.deepEqual(await guard.begin('198.51.100.4', 'alice'), { locked: true, retryAfterSeconds: 900 });
  assert.deepEqual(await guard.begin('198.51.100.5', 'alice'), { locked: false }, 'the user from elsewhere is not locked');
  const warnings = captured.lines().filter((l) => l.level === 40);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.event, 'auth.lockout');
  assert.equal(warnings[0]!.user, 'alice');
  assert.equal(warnings[0]!.remoteAddr, '198.51.100.4');
  const huge = 'x'.repeat(10_000);
  await guard.begin('192.0.2.1', huge);
  await guard.failure('192.0.2.1', huge);
  assert.ok(captured.text().length < 3000, 'the log holds no 10 kB names');
});

test('a remembered success is still refused while its user is locked at that address, and accepted elsewhere', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice'));
    const clock = manualClock();
    const verify = new HeldVerify();
    const service = await createAccessController(
      authConfig({ mode: 'basic', htpasswd: { path }, rules: [{ users: ['*'], repositories: ['**'], actions: ['pull'] }], lockout: { maxFailures: 3 } }),
      { log: captureLog().log, dataDir: dir, now: clock.now, verifyPassword: verify.verify, htpasswdPollInterval: 0 },
    );
    try {
      const pull = { repository: 'a/b', action: 'pull' } as const;
      const as = (password: string, address: string) => service.access.authorize(fakeRequest(basic('alice', password), address), pull);
      assert.equal((await as(passwords.alice, '203.0.113.1')).name, 'alice');
      for (let i = 0; i < 3; i++) await assert.rejects(as(`guess-${i}`, '203.0.113.1'), (e: unknown) => e instanceof RegistryError && e.status === 401);
      const calls = verify.calls;
      await assert.rejects(as(passwords.alice, '203.0.113.1'), (e: unknown) => e instanceof RegistryError && e.status === 429);
      assert.equal((await as(passwords.alice, '203.0.113.2')).name, 'alice');
      assert.equal(verify.calls, calls, 'both answered from the cache');
    } finally {
      await service.close();
    }
  });
});
