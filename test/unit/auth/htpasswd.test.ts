import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bcryptVerify } from '../../../src/auth/credentials.js';
import { checkPassword, hashKind, hashPassword, HtpasswdDocument, HtpasswdError, parseHtpasswd } from '../../../src/auth/htpasswd.js';
import { hashes, otherHashes, passwords } from './support.js';

test('a file written by htpasswd -B parses, comments and blank lines included, and its hashes verify', async () => {
  const text = `# managed by hand\n\n${`alice:${hashes.alice}`}\r\nbob:${hashes.bob}\n   \ncarol:${hashes.carol}\n# trailing comment\n`;
  const { users, warnings, maxCost } = parseHtpasswd(text, 'fixture');
  assert.deepEqual([...users.keys()], ['alice', 'bob', 'carol']);
  assert.equal(users.get('alice')!.line, 3);
  assert.equal(users.get('bob')!.hash, hashes.bob, 'the CR of a CRLF line is not part of the hash');
  assert.deepEqual(warnings, []);
  assert.equal(maxCost, 5, 'the highest cost in the file (alice), not the most common (4)');
  for (const user of ['alice', 'bob', 'carol'] as const) {
    assert.equal(await bcryptVerify(passwords[user], users.get(user)!.hash), true, user);
    assert.equal(await bcryptVerify(`${passwords[user]}x`, users.get(user)!.hash), false, user);
  }
});

test('$2a$ and $2b$ bcrypt hashes are accepted as well as $2y$, at any cost', () => {
  const text = `a:${hashes.alice.replace('$2y$', '$2a$')}\nb:${hashes.alice.replace('$2y$', '$2b$')}\nc:${hashes.alice.replace('$2y$05$', '$2y$12$')}\n`;
  assert.equal(parseHtpasswd(text, 'f').users.size, 3);
  assert.equal(hashKind(hashes.alice), 'bcrypt');
});

test('every other hash kind is refused at load, naming user and line, never the hash', () => {
  const text = [
    `alice:${hashes.alice}`,
    `md:${otherHashes.md5}`,
    `sh:${otherHashes.sha}`,
    `cr:${otherHashes.crypt}`,
    `pl:${otherHashes.plain}`,
    'm1:$1$abc$defghijklmnopqrstuvw',
    'm5:$5$salt$hash',
    'm6:$6$salt$hash',
    'short:$2y$05$tooshort',
  ].join('\n');
  let error: unknown;
  try {
    parseHtpasswd(text, '/etc/wharf/htpasswd');
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof HtpasswdError);
  assert.equal(error.problems.length, 8);
  const expected: [string, number, string][] = [
    ['md', 2, 'MD5 ($apr1$)'],
    ['sh', 3, 'SHA-1 ({SHA})'],
    ['cr', 4, 'DES crypt'],
    ['pl', 5, 'plain text'],
    ['m1', 6, 'MD5-crypt ($1$)'],
    ['m5', 7, 'SHA-256-crypt ($5$)'],
    ['m6', 8, 'SHA-512-crypt ($6$)'],
    ['short', 9, 'malformed bcrypt'],
  ];
  expected.forEach(([user, line, kind], i) => {
    const p = error.problems[i]!;
    assert.ok(p.startsWith(`line ${line}: user "${user}"`), p);
    if (kind !== 'malformed bcrypt') assert.ok(p.includes(kind), p);
    assert.ok(p.includes('only bcrypt'), p);
  });
  assert.ok(error.message.includes('/etc/wharf/htpasswd'));
  for (const secret of Object.values(otherHashes)) assert.ok(!error.message.includes(secret), 'no hash or password in the message');
});

test('lines that are not user:hash are refused with their number', () => {
  assert.throws(
    () => parseHtpasswd(`alice:${hashes.alice}\njust-a-name\n:${hashes.bob}\n`, 'f'),
    (err: unknown) =>
      err instanceof HtpasswdError &&
      err.problems.length === 2 &&
      err.problems[0] === 'line 2: expected user:hash' &&
      err.problems[1]!.startsWith('line 3: invalid user name'),
  );
});

test('a user listed twice: the first line wins, as in Apache, with a warning', () => {
  const { users, warnings } = parseHtpasswd(`bob:${hashes.bob}\nbob:${hashes.alice}\n`, 'f');
  assert.equal(users.get('bob')!.hash, hashes.bob);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /line 2: user "bob" is listed again \(line 1 is used\)/);
});

test('an empty file has no users', () => {
  assert.equal(parseHtpasswd('', 'f').users.size, 0);
  assert.equal(parseHtpasswd('\uFEFF# only a comment\n', 'f').users.size, 0);
});

test('hashPassword writes $2y$ at the requested cost, as htpasswd -B does', async () => {
  const hash = await hashPassword('pa:ss wörd', 4);
  assert.match(hash, /^\$2y\$04\$[./A-Za-z0-9]{53}$/);
  assert.equal(await bcryptVerify('pa:ss wörd', hash), true);
  assert.equal(parseHtpasswd(`carol:${hash}\n`, 'f').users.size, 1);
  await assert.rejects(hashPassword('x', 3), /cost/);
});

test('passwords bcrypt would truncate, empty ones and NULs are refused', async () => {
  assert.equal(checkPassword('a'.repeat(72)), null);
  assert.match(checkPassword('a'.repeat(73))!, /72 bytes/);
  assert.match(checkPassword('é'.repeat(37))!, /72 bytes/, 'bytes, not characters');
  assert.match(checkPassword('')!, /empty/);
  assert.match(checkPassword('a\0b')!, /NUL/);
  await assert.rejects(hashPassword(''), /empty/);
});

test('HtpasswdDocument edits users in place and keeps everything else, even hashes Wharf refuses', () => {
  const doc = HtpasswdDocument.parse(`# header\nalice:${hashes.alice}\nmd:${otherHashes.md5}\n\nbob:${hashes.bob}\n`);
  assert.deepEqual(doc.users(), ['alice', 'md', 'bob']);
  doc.set('md', hashes.dave);
  doc.set('zed', hashes.eve);
  assert.equal(doc.remove('bob'), true);
  assert.equal(doc.remove('nobody'), false);
  assert.equal(doc.toString(), `# header\nalice:${hashes.alice}\nmd:${hashes.dave}\n\nzed:${hashes.eve}\n`);
  assert.deepEqual(
    doc.entries().map((e) => e.user),
    ['alice', 'md', 'zed'],
  );
});

test('HtpasswdDocument: setting a user listed twice leaves one line', () => {
  const doc = HtpasswdDocument.parse(`bob:${hashes.bob}\nalice:${hashes.alice}\nbob:${hashes.alice}\n`);
  doc.set('bob', hashes.eve);
  assert.equal(doc.toString(), `bob:${hashes.eve}\nalice:${hashes.alice}\n`);
  assert.equal(HtpasswdDocument.parse('').toString(), '');
});
