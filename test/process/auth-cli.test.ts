// `wharf user` through the built CLI, checked against the real Apache htpasswd (apache2-utils must be installed:
// these tests fail, not skip, without it). Also: files the real `htpasswd -B` writes load and verify in Wharf.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import pino from 'pino';
import { CredentialVerifier } from '../../src/auth/credentials.js';
import { HtpasswdFile } from '../../src/auth/htpasswd-file.js';
import { HtpasswdError, parseHtpasswd } from '../../src/auth/htpasswd.js';
import { wharfCli } from '../support/cli.js';
import { tempDir } from '../support/processes.js';

const execFileAsync = promisify(execFile);
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function scratch(): Promise<string> {
  const dir = await tempDir('auth-cli');
  dirs.push(dir);
  return dir;
}
/** `wharf user ARGS` through the built CLI, with no htpasswd path inherited from the environment. */
const wharfUser = (args: string[], stdin = '') => wharfCli(['user', ...args], { stdin, env: { WHARF_AUTH__HTPASSWD__PATH: '' } });

/** Exit code of the real `htpasswd -vb FILE USER PASSWORD` (0: correct, 3: wrong password, 6: no such user). */
async function htpasswdVerify(file: string, user: string, password: string): Promise<number> {
  try {
    await execFileAsync('htpasswd', ['-vb', file, user, password]);
    return 0;
  } catch (err) {
    const e = err as { code: number | string };
    if (typeof e.code !== 'number') throw err; // ENOENT: apache2-utils missing is a failure, not a skip
    return e.code;
  }
}

test('wharf user add/passwd/remove/list, verified by the real htpasswd -vb', async () => {
  const dir = await scratch();
  const file = join(dir, 'htpasswd');

  const added = await wharfUser(['add', 'alice', '--file', file], 'correct horse\n');
  assert.equal(added.code, 0, added.stderr);
  assert.equal(await htpasswdVerify(file, 'alice', 'correct horse'), 0);
  assert.equal(await htpasswdVerify(file, 'alice', 'wrong horse'), 3);
  assert.match(await readFile(file, 'utf8'), /^alice:\$2y\$10\$/, 'bcrypt $2y$, cost 10 by default');

  const bob = await wharfUser(['add', 'bob', '--file', file, '--cost', '5'], 'pa:ss wörd');
  assert.equal(bob.code, 0, bob.stderr);
  assert.equal(await htpasswdVerify(file, 'bob', 'pa:ss wörd'), 0, 'colon and UTF-8 in the password');
  assert.match(await readFile(file, 'utf8'), /\nbob:\$2y\$05\$/);

  const changed = await wharfUser(['passwd', 'alice', '--file', file, '--cost', '4'], 'battery staple\n');
  assert.equal(changed.code, 0, changed.stderr);
  assert.equal(await htpasswdVerify(file, 'alice', 'battery staple'), 0);
  assert.equal(await htpasswdVerify(file, 'alice', 'correct horse'), 3);
  assert.equal(await htpasswdVerify(file, 'bob', 'pa:ss wörd'), 0, 'other users untouched');

  const listed = await wharfUser(['list', '--file', file]);
  assert.deepEqual([listed.code, listed.stdout], [0, 'alice\nbob\n']);

  const removed = await wharfUser(['remove', 'bob', '--file', file]);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(await htpasswdVerify(file, 'bob', 'pa:ss wörd'), 6);
  assert.equal(await htpasswdVerify(file, 'alice', 'battery staple'), 0);

  assert.equal((await wharfUser(['add', 'alice', '--file', file], 'x\n')).code, 1, 'already exists');
  const onArgv = await wharfUser(['add', 'carol', 'password-on-argv', '--file', file], 'x\n');
  assert.equal(onArgv.code, 2);
  assert.ok(!onArgv.stderr.includes('password-on-argv'));
  assert.deepEqual(await readdir(dir), ['htpasswd'], 'atomic replace leaves no temp files');
});

test('a file created by htpasswd -B is edited in place by wharf user, and both tools agree', async () => {
  const dir = await scratch();
  const file = join(dir, 'htpasswd');
  await execFileAsync('htpasswd', ['-B', '-C', '5', '-bc', file, 'dave', 'dave-pw']);
  await execFileAsync('htpasswd', ['-B', '-C', '4', '-b', file, 'erin', 'erin-pw']);
  const mode = (await stat(file)).mode & 0o777;
  assert.equal((await wharfUser(['add', 'frank', '--file', file, '--cost', '4'], 'frank-pw\n')).code, 0);
  assert.equal((await stat(file)).mode & 0o777, mode, 'mode kept');
  for (const [user, pw] of [['dave', 'dave-pw'], ['erin', 'erin-pw'], ['frank', 'frank-pw']] as const) assert.equal(await htpasswdVerify(file, user, pw), 0, user);
  // htpasswd can keep editing what wharf wrote.
  await execFileAsync('htpasswd', ['-B', '-C', '4', '-b', file, 'frank', 'frank-pw2']);
  assert.equal(await htpasswdVerify(file, 'frank', 'frank-pw2'), 0);
  assert.equal((await wharfUser(['list', '--file', file])).stdout, 'dave\nerin\nfrank\n');
});

test('what htpasswd -B -C 5 -bn writes loads in Wharf and verifies through the (cached) verifier', async () => {
  const { stdout } = await execFileAsync('htpasswd', ['-B', '-C', '5', '-bn', 'user', 'pass']);
  const dir = await scratch();
  const file = join(dir, 'htpasswd');
  await writeFile(file, stdout);
  assert.match(stdout, /^user:\$2y\$05\$/);
  const htfile = await HtpasswdFile.open(file, pino({ level: 'silent' }), { pollInterval: 0 });
  try {
    const verifier = new CredentialVerifier(htfile, { ttl: 60_000 });
    assert.equal(await verifier.verify('user', 'pass'), true);
    assert.equal(await verifier.verify('user', 'pass!'), false);
    assert.equal(await verifier.verify('nobody', 'pass'), false);
  } finally {
    await htfile.close();
  }
});

test('what htpasswd writes without -B (MD5, SHA-1, crypt, plain, SHA-256, SHA-512) is refused, naming user and line', async () => {
  const lines: string[] = [];
  for (const [flag, user] of [['-m', 'md5'], ['-s', 'sha'], ['-d', 'crypt'], ['-p', 'plain'], ['-2', 'sha256'], ['-5', 'sha512']] as const) {
    const { stdout } = await execFileAsync('htpasswd', [flag, '-bn', user, 'pass']);
    lines.push(stdout.trim());
  }
  const { stdout: good } = await execFileAsync('htpasswd', ['-B', '-C', '4', '-bn', 'fine', 'pass']);
  const text = `${good.trim()}\n${lines.join('\n')}\n`;
  assert.throws(
    () => parseHtpasswd(text, 'generated'),
    (err: unknown) => {
      assert.ok(err instanceof HtpasswdError);
      assert.deepEqual(
        err.problems.map((p) => /^line (\d+): user "(\w+)"/.exec(p)?.slice(1)),
        [['2', 'md5'], ['3', 'sha'], ['4', 'crypt'], ['5', 'plain'], ['6', 'sha256'], ['7', 'sha512']],
      );
      return true;
    },
  );
});
