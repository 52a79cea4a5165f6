import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { VerificationBusy, VerificationLimiter } from '../../../src/auth/limiter.js';
import { bcryptVerify, CredentialVerifier, StaticUserStore, type PasswordVerify } from '../../../src/auth/credentials.js';
import { HtpasswdFile } from '../../../src/auth/htpasswd-file.js';
import { eventually, HeldVerify, hashes, htpasswdText, manualClock, passwords, silentLog, withTempDir } from './support.js';

/** The real bcrypt check, counting its calls and the hashes it was given. */
function countingVerify(): { verify: PasswordVerify; calls: () => number; hashes: string[] } {
  let calls = 0;
  const seen: string[] = [];
  return {
    verify: async (password, hash) => {
      calls++;
      seen.push(hash);
      return bcryptVerify(password, hash);
    },
    calls: () => calls,
    hashes: seen,
  };
}

test('a verified password is cached: the second check does not call bcrypt', async () => {
  const counter = countingVerify();
  const verifier = new CredentialVerifier(new StaticUserStore(htpasswdText('alice', 'bob')), { ttl: 60_000, verify: counter.verify });
  assert.equal(await verifier.verify('alice', passwords.alice), true);
  assert.equal(counter.calls(), 1);
  for (let i = 0; i < 50; i++) assert.equal(await verifier.verify('alice', passwords.alice), true);
  assert.equal(counter.calls(), 1, 'bcrypt ran once for 51 checks');
  assert.equal(await verifier.verify('bob', passwords.bob), true);
  assert.equal(counter.calls(), 2);
});

test('a wrong password is never answered from the cache and never cached', async () => {
  const counter = countingVerify();
  const verifier = new CredentialVerifier(new StaticUserStore(htpasswdText('alice')), { ttl: 60_000, verify: counter.verify });
  assert.equal(await verifier.verify('alice', passwords.alice), true);
  assert.equal(await verifier.verify('alice', 'wrong'), false);
  assert.equal(await verifier.verify('alice', 'wrong'), false);
  assert.equal(counter.calls(), 3, 'each wrong password paid bcrypt');
  assert.equal(await verifier.verify('alice', passwords.alice), true);
  assert.equal(counter.calls(), 3, 'the right one is still cached');
  // Same bytes split differently between user and password must not collide.
  const store = new StaticUserStore(`ab:${hashes.bob}\n`);
  const other = new CredentialVerifier(store, { ttl: 60_000, verify: counter.verify });
  assert.equal(await other.verify('ab', passwords.bob), true);
  assert.equal(await other.verify('a', `b${passwords.bob}`), false);
});

test('cached successes expire after the TTL', async () => {
  const clock = manualClock();
  const counter = countingVerify();
  const verifier = new CredentialVerifier(new StaticUserStore(htpasswdText('alice')), { ttl: 60_000, verify: counter.verify, now: clock.now });
  await verifier.verify('alice', passwords.alice);
  clock.advance(59_999);
  await verifier.verify('alice', passwords.alice);
  assert.equal(counter.calls(), 1);
  clock.advance(1);
  assert.equal(await verifier.verify('alice', passwords.alice), true);
  assert.equal(counter.calls(), 2, 'expired: bcrypt again');
  await verifier.verify('alice', passwords.alice);
  assert.equal(counter.calls(), 2, 'and cached again');
});

test('ttl 0 disables the cache', async () => {
  const counter = countingVerify();
  const verifier = new CredentialVerifier(new StaticUserStore(htpasswdText('bob')), { ttl: 0, verify: counter.verify });
  await verifier.verify('bob', passwords.bob);
  await verifier.verify('bob', passwords.bob);
  assert.equal(counter.calls(), 2);
  assert.equal(verifier.cached, 0);
});

test('the cache is dropped entirely when the user list changes; an old password stops working at once', async () => {
  const counter = countingVerify();
  const store = new StaticUserStore(htpasswdText('alice', 'bob'));
  const verifier = new CredentialVerifier(store, { ttl: 60_000, verify: counter.verify });
  await verifier.verify('alice', passwords.alice);
  await verifier.verify('bob', passwords.bob);
  assert.equal(verifier.cached, 2);
  // alice's password changes to dave's; bob is untouched but his entry goes too.
  store.replace(`alice:${hashes.dave}\nbob:${hashes.bob}\n`);
  assert.equal(await verifier.verify('alice', passwords.alice), false);
  assert.equal(await verifier.verify('bob', passwords.bob), true);
  assert.equal(counter.calls(), 4, 'both paid bcrypt again');
  assert.equal(await verifier.verify('alice', passwords.dave), true);
});

test('a reload of the htpasswd file on disk drops the cache', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice'));
    const file = await HtpasswdFile.open(path, silentLog, { pollInterval: 0 });
    try {
      const counter = countingVerify();
      const verifier = new CredentialVerifier(file, { ttl: 60_000, verify: counter.verify });
      await verifier.verify('alice', passwords.alice);
      await verifier.verify('alice', passwords.alice);
      assert.equal(counter.calls(), 1);
      const before = file.version;
      await writeFile(`${path}.new`, htpasswdText('alice', 'bob'));
      await rename(`${path}.new`, path);
      await eventually(() => file.version !== before, 'the reload');
      assert.equal(await verifier.verify('alice', passwords.alice), true);
      assert.equal(counter.calls(), 2);
    } finally {
      await file.close();
    }
  });
});

test('unknown users still cost one bcrypt check, at the highest cost in the file', async () => {
  const counter = countingVerify();
  const verifier = new CredentialVerifier(new StaticUserStore(htpasswdText('bob', 'eve', 'alice')), { ttl: 60_000, verify: counter.verify });
  assert.equal(await verifier.verify('nobody', 'whatever'), false);
  assert.equal(counter.calls(), 1);
  assert.match(counter.hashes[0]!, /^\$2y\$05\$[./A-Za-z0-9]{53}$/, 'a dummy hash with the highest cost (alice: 5), not the most common (4)');
  assert.equal(verifier.cached, 0);
});

test('concurrent checks of the same credentials share one bcrypt run', async () => {
  const slow = new HeldVerify(true);
  const verifier = new CredentialVerifier(new StaticUserStore(htpasswdText('bob')), { ttl: 60_000, verify: slow.verify });
  const all = Promise.all(Array.from({ length: 20 }, () => verifier.verify('bob', passwords.bob)));
  slow.release();
  assert.deepEqual(await all, Array(20).fill(true));
  assert.equal(slow.calls, 1);
});

test('the default check is native bcrypt against the real htpasswd ($2y$) hashes, UTF-8 and colons included; a NUL never matches', async () => {
  const verifier = new CredentialVerifier(new StaticUserStore(htpasswdText('carol', 'alice')), { ttl: 0 });
  assert.equal(await verifier.verify('carol', passwords.carol), true);
  assert.equal(await verifier.verify('carol', 'pa:ss word'), false);
  assert.equal(await verifier.verify('alice', passwords.alice), true);
  assert.equal(await verifier.verify('alice', `${passwords.alice}\0anything`), false, 'the C library would stop at the NUL');
});

test('checks beyond the running and waiting limits are refused at once, without bcrypt; cache hits need no slot', async () => {
  const slow = new HeldVerify(true);
  const limiter = new VerificationLimiter(2, 3);
  const verifier = new CredentialVerifier(new StaticUserStore(htpasswdText('bob')), { ttl: 60_000, verify: slow.verify, limiter });
  const admitted = Array.from({ length: 5 }, (_, i) => verifier.verify('bob', `wrong-${i}`));
  await assert.rejects(verifier.verify('bob', 'one-too-many'), VerificationBusy);
  await assert.rejects(verifier.verify('nobody', 'x'), VerificationBusy, 'unknown users queue for the same slots');
  assert.deepEqual(limiter.load, { running: 2, waiting: 3 });
  assert.equal(slow.calls, 2, 'two running, three waiting, the rest never reached bcrypt');
  slow.release();
  assert.deepEqual(await Promise.all(admitted), Array(5).fill(false));
  assert.equal(slow.calls, 5);
  assert.deepEqual(limiter.load, { running: 0, waiting: 0 });
  assert.equal(await verifier.verify('bob', passwords.bob), true);
  // Fill every slot again: the cached success still answers.
  let hold!: () => void;
  const held = new Promise<void>((r) => (hold = r));
  const blocker = new CredentialVerifier(new StaticUserStore(htpasswdText('bob')), { ttl: 0, verify: async () => (await held, false), limiter });
  const busy = Array.from({ length: 5 }, (_, i) => blocker.verify('bob', `x-${i}`));
  await assert.rejects(blocker.verify('bob', 'y'), VerificationBusy);
  assert.equal(await verifier.verify('bob', passwords.bob), true, 'a cached success is not subject to the limit');
  hold();
  await Promise.all(busy);
});
