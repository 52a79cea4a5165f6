import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createAccessController } from '../../../src/auth/controller.js';
import { clientAddress, FailureTracker, LoginGuard } from '../../../src/auth/lockout.js';
import { RegistryError } from '../../../src/oci/errors.js';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { authConfig, basic, captureLog, fakeRequest, htpasswdText, manualClock, passwords, withTempDir } from './support.js';

const minute = 60_000;
const options = { maxFailures: 10, window: 5 * minute, duration: 15 * minute, maxTracked: 1000 };

test('maxFailures within the window lock a key out for the configured time, then it expires', () => {
  const clock = manualClock();
  const t = new FailureTracker({ ...options, now: clock.now });
  for (let i = 0; i < 9; i++) assert.equal(t.fail('k'), 0);
  assert.equal(t.lockedFor('k'), 0, 'nine failures: not yet');
  assert.equal(t.fail('k'), 15 * minute, 'the tenth starts the lockout');
  assert.equal(t.lockedFor('k'), 15 * minute);
  clock.advance(15 * minute - 1);
  assert.equal(t.lockedFor('k'), 1);
  clock.advance(1);
  assert.equal(t.lockedFor('k'), 0, 'over');
  assert.equal(t.fail('k'), 0, 'the count starts afresh');
});

test('failures older than the window do not count (sliding window)', () => {
  const clock = manualClock();
  const t = new FailureTracker({ ...options, now: clock.now });
  for (let i = 0; i < 9; i++) {
    t.fail('k');
    clock.advance(30_000);
  }
  // Failures at 0s, 30s … 240s; at 330s the first two have left the 5-minute window, seven remain.
  clock.advance(minute);
  assert.equal(t.fail('k'), 0, 'eight inside the window');
  assert.equal(t.fail('k'), 0, 'nine');
  assert.equal(t.lockedFor('k'), 0);
  assert.equal(t.fail('k'), 15 * minute, 'ten inside the window');
});

test('memory is bounded: the least recently touched keys are forgotten first', () => {
  const t = new FailureTracker({ ...options, maxTracked: 100 });
  for (let i = 0; i < 10; i++) t.fail('victim');
  for (let i = 0; i < 5000; i++) t.fail(`flood-${i}`);
  assert.equal(t.size, 100);
  const kept = new FailureTracker({ ...options, maxTracked: 3 });
  kept.fail('a');
  kept.fail('b');
  kept.fail('c');
  kept.fail('a'); // touched again: now the most recent
  kept.fail('d');
  assert.equal(kept.size, 3);
  for (let i = 0; i < 8; i++) kept.fail('a');
  assert.ok(kept.lockedFor('a') > 0, 'a survived eviction (b went instead) and reached 10');
});

test('a successful login clears the user’s failure count but not an active lockout', () => {
  const clock = manualClock();
  const t = new FailureTracker({ ...options, now: clock.now });
  for (let i = 0; i < 9; i++) t.fail('u');
  t.reset('u');
  assert.equal(t.fail('u'), 0, 'count restarted');
  for (let i = 0; i < 9; i++) t.fail('u');
  assert.ok(t.lockedFor('u') > 0);
  t.reset('u');
  assert.ok(t.lockedFor('u') > 0);
});

test('the client address: the socket, or the last X-Forwarded-For entry when trusted', () => {
  assert.equal(clientAddress(fakeRequest({}, '::ffff:10.1.2.3'), false), '10.1.2.3');
  const proxied = fakeRequest({ 'x-forwarded-for': '6.6.6.6, 203.0.113.7' }, '10.0.0.1');
  assert.equal(clientAddress(proxied, false), '10.0.0.1');
  assert.equal(clientAddress(proxied, true), '203.0.113.7', 'the entry the trusted proxy appended, not the spoofable first');
});

test('huge user names are tracked and logged shortened', () => {
  const captured = captureLog();
  const guard = new LoginGuard({ ...options, maxFailures: 2 }, captured.log);
  const huge = 'x'.repeat(10_000);
  guard.failure('192.0.2.1', huge);
  guard.failure('192.0.2.2', huge);
  assert.equal(guard.check('192.0.2.3', huge).locked, true, 'still one key per name');
  assert.equal(guard.check('192.0.2.3', `${huge}y`).locked, false, 'and different names stay different');
  assert.ok(captured.text().length < 2000, 'the log holds no 10 kB names');
});

test('the guard logs failures and lockouts with user and address, never the password', () => {
  const captured = captureLog();
  const clock = manualClock();
  const guard = new LoginGuard({ ...options, maxFailures: 3, now: clock.now }, captured.log);
  for (let i = 0; i < 3; i++) guard.failure('198.51.100.4', 'alice');
  const check = guard.check('198.51.100.4', 'bob');
  assert.deepEqual(check, { locked: true, retryAfterSeconds: 900 }, 'the address is locked for any user');
  assert.deepEqual(guard.check('198.51.100.5', 'alice'), { locked: true, retryAfterSeconds: 900 }, 'the user is locked from any address');
  assert.deepEqual(guard.check('198.51.100.5', 'bob'), { locked: false });
  const warnings = captured.lines().filter((l) => l.level === 40);
  assert.equal(warnings.length, 2);
  for (const w of warnings) {
    assert.equal(w.event, 'auth.lockout');
    assert.equal(w.user, 'alice');
    assert.equal(w.remoteAddr, '198.51.100.4');
  }
  clock.advance(15 * minute);
  assert.deepEqual(guard.check('198.51.100.4', 'alice'), { locked: false });
});

test('through the Basic controller: 429 with Retry-After after repeated failures, even with the right password; over after the lockout', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice', 'bob'));
    const clock = manualClock();
    const captured = captureLog();
    const service = await createAccessController(
      authConfig({
        mode: 'basic',
        htpasswd: { path },
        rules: [{ users: ['*'], repositories: ['**'], actions: ['pull'] }],
        lockout: { maxFailures: 5, window: '5m', duration: '15m' },
      }),
      { log: captured.log, dataDir: dir, now: clock.now, htpasswdPollInterval: 0 },
    );
    try {
      const pull = { repository: 'a/b', action: 'pull' } as const;
      const attacker = (password: string, user = 'alice') => service.access.authorize(fakeRequest(basic(user, password), '203.0.113.9'), pull);
      for (let i = 0; i < 5; i++) await assert.rejects(attacker(`guess-${i}`), (e: unknown) => e instanceof RegistryError && e.status === 401);
      await assert.rejects(attacker(passwords.alice), (e: unknown) => {
        assert.ok(e instanceof RegistryError);
        assert.equal(e.status, 429);
        assert.equal(e.code, 'TOOMANYREQUESTS');
        assert.equal(e.headers['Retry-After'], '900');
        return true;
      });
      // bob from the same address is locked out too (address), and alice from elsewhere (user)
      await assert.rejects(attacker(passwords.bob, 'bob'), (e: unknown) => e instanceof RegistryError && e.status === 429);
      await assert.rejects(service.access.authorize(fakeRequest(basic('alice', passwords.alice), '192.0.2.1'), pull), (e: unknown) => e instanceof RegistryError && e.status === 429);
      // anonymous requests are not logins and are never locked out
      await assert.rejects(service.access.authorize(fakeRequest({}, '203.0.113.9'), pull), (e: unknown) => e instanceof RegistryError && e.status === 401);
      clock.advance(10 * minute);
      await assert.rejects(attacker(passwords.alice), (e: unknown) => e instanceof RegistryError && e.headers['Retry-After'] === '300');
      clock.advance(5 * minute);
      assert.equal((await attacker(passwords.alice)).name, 'alice');
      const text = captured.text();
      assert.ok(text.includes('"event":"auth.lockout"'));
      assert.ok(!text.includes(passwords.alice) && !text.includes('guess-'), 'no password in the log');
    } finally {
      await service.close();
    }
  });
});
