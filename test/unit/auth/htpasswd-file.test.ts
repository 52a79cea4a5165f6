import assert from 'node:assert/strict';
import { rename, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { HtpasswdFile } from '../../../src/auth/htpasswd-file.js';
import { HtpasswdError } from '../../../src/auth/htpasswd.js';
import { captureLog, eventually, hashes, htpasswdText, otherHashes, silentLog, withTempDir } from './support.js';

async function replaceByRename(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${Math.random().toString(16).slice(2)}`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

test('a change made by temp file + rename is picked up through fs.watch, without polling', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice'));
    const file = await HtpasswdFile.open(path, silentLog, { pollInterval: 0 });
    try {
      assert.ok(file.lookup('alice'));
      assert.equal(file.lookup('bob'), undefined);
      const before = file.version;
      await replaceByRename(path, htpasswdText('bob'));
      await eventually(() => file.version !== before, 'the reload');
      assert.equal(file.lookup('alice'), undefined);
      assert.equal(file.lookup('bob')!.hash, hashes.bob);
    } finally {
      await file.close();
    }
  });
});

test('an in-place rewrite (same inode) is picked up too', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice'));
    const file = await HtpasswdFile.open(path, silentLog, { pollInterval: 0 });
    try {
      const before = file.version;
      await writeFile(path, htpasswdText('alice', 'bob'));
      await eventually(() => file.version !== before && file.lookup('bob') !== undefined, 'the reload');
      assert.equal(file.size, 2);
    } finally {
      await file.close();
    }
  });
});

test('an editor that moves the old file away and writes a new one (vim backupcopy=no) is followed', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice'));
    const file = await HtpasswdFile.open(path, silentLog, { pollInterval: 0 });
    try {
      const before = file.version;
      await rename(path, `${path}~`);
      await writeFile(path, htpasswdText('eve'));
      await eventually(() => file.lookup('eve') !== undefined, 'the new file');
      assert.ok(file.version > before);
      assert.equal(file.lookup('alice'), undefined);
    } finally {
      await file.close();
    }
  });
});

test('polling alone notices a change when there is no watch event', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice'));
    const file = await HtpasswdFile.open(path, silentLog, { pollInterval: 20 });
    try {
      await writeFile(path, htpasswdText('alice', 'dave'));
      // check() is what both the watcher and the poller call; an unchanged file is not re-read.
      await eventually(() => file.lookup('dave') !== undefined, 'the reload');
      const version = file.version;
      assert.equal(await file.check(), false, 'nothing changed since');
      assert.equal(file.version, version);
    } finally {
      await file.close();
    }
  });
});

test('a file that turns bad keeps the last good users in force and is reported once; fixing it loads it', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice'));
    const captured = captureLog();
    const file = await HtpasswdFile.open(path, captured.log, { pollInterval: 0 });
    try {
      await replaceByRename(path, `alice:${hashes.alice}\nmallory:${otherHashes.md5}\n`);
      assert.equal(await file.check(), false);
      assert.equal(await file.check(), false);
      assert.ok(file.lookup('alice'));
      assert.equal(file.lookup('mallory'), undefined);
      const errors = captured.lines().filter((l) => l.level === 50);
      assert.equal(errors.length, 1, 'reported once, not on every look');
      assert.match(JSON.stringify(errors[0]!.problems), /line 2: user \\"mallory\\" has a MD5/);
      assert.ok(!captured.text().includes(otherHashes.md5));
      await replaceByRename(path, htpasswdText('alice', 'bob'));
      assert.equal(await file.check(), true);
      assert.ok(file.lookup('bob'));
    } finally {
      await file.close();
    }
  });
});

test('a file that disappears keeps the last users; when it comes back it is loaded', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, htpasswdText('alice'));
    const file = await HtpasswdFile.open(path, silentLog, { pollInterval: 0 });
    try {
      await unlink(path);
      assert.equal(await file.check(), false);
      assert.ok(file.lookup('alice'));
      await writeFile(path, htpasswdText('bob'));
      assert.equal(await file.check(), true);
      assert.equal(file.lookup('alice'), undefined);
    } finally {
      await file.close();
    }
  });
});

test('opening a bad or missing file fails, naming the user and line', async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, 'htpasswd');
    await writeFile(path, `alice:${hashes.alice}\nbob:${otherHashes.sha}\n`);
    await assert.rejects(HtpasswdFile.open(path, silentLog), (err: unknown) => err instanceof HtpasswdError && /line 2: user "bob" has a SHA-1/.test(err.message));
    await rm(path);
    await assert.rejects(HtpasswdFile.open(path, silentLog), (err: unknown) => err instanceof HtpasswdError && /cannot read/.test(err.message));
  });
});
