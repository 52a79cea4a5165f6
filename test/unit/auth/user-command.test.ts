// `wharf user` in-process: the real CLI and the real htpasswd binary are in test/process/auth-cli.test.ts.
import assert from 'node:assert/strict';
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { test } from 'node:test';
import { bcryptVerify } from '../../../src/auth/credentials.js';
import { parseHtpasswd } from '../../../src/auth/htpasswd.js';
import { userCommand, type UserCommandIO } from '../../../src/cli/commands/user.js';
import { hashes, otherHashes, withTempDir } from './support.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _e, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
  };
}

async function run(args: string[], stdinText: string | null = null, env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const stdin = new PassThrough();
  if (stdinText !== null) stdin.end(stdinText);
  else stdin.end();
  const out = sink();
  const err = sink();
  const code = await userCommand(args, { stdin, stdout: out.stream, stderr: err.stream, env });
  return { code, stdout: out.text(), stderr: err.text() };
}

async function verify(file: string, user: string, password: string): Promise<boolean> {
  const entry = parseHtpasswd(await readFile(file, 'utf8'), file).users.get(user);
  return entry !== undefined && (await bcryptVerify(password, entry.hash));
}

test('add creates the file, passwd changes the password, remove removes the user, list lists', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'htpasswd');
    const added = await run(['add', 'alice', '--file', file, '--cost', '4'], 'first pw\n');
    assert.equal(added.code, 0, added.stderr);
    assert.match(await readFile(file, 'utf8'), /^alice:\$2y\$04\$[./A-Za-z0-9]{53}\n$/);
    assert.equal((await stat(file)).mode & 0o777, 0o640);
    assert.ok(await verify(file, 'alice', 'first pw'));
    assert.equal((await run(['add', 'bob', '-f', file, '-C', '4'], 'bob pw\r\nignored second line\n')).code, 0);
    assert.ok(await verify(file, 'bob', 'bob pw'), 'the first line, without CR');

    assert.equal((await run(['passwd', 'alice', '--file', file, '--cost', '4'], 'second pw')).code, 0);
    assert.ok(await verify(file, 'alice', 'second pw'));
    assert.ok(!(await verify(file, 'alice', 'first pw')));

    const listed = await run(['list', '--file', file]);
    assert.deepEqual([listed.code, listed.stdout], [0, 'alice\nbob\n']);
    assert.equal((await run(['remove', 'alice', '--file', file])).code, 0);
    assert.equal((await run(['list', '--file', file])).stdout, 'bob\n');
    assert.deepEqual(await readdir(dir), ['htpasswd'], 'no temp files left behind');
  });
});

test('failures: existing user on add, unknown user on passwd/remove, empty or overlong password, missing file', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'htpasswd');
    await writeFile(file, `alice:${hashes.alice}\n`);
    const before = await readFile(file, 'utf8');
    assert.equal((await run(['add', 'alice', '--file', file], 'pw\n')).code, 1);
    assert.equal((await run(['passwd', 'zed', '--file', file], 'pw\n')).code, 1);
    assert.equal((await run(['remove', 'zed', '--file', file])).code, 1);
    const empty = await run(['add', 'carol', '--file', file], '\n');
    assert.deepEqual([empty.code, empty.stderr], [1, 'wharf user: the password is empty\n']);
    assert.equal((await run(['add', 'carol', '--file', file], `${'x'.repeat(73)}\n`)).code, 1);
    assert.equal(await readFile(file, 'utf8'), before, 'nothing written');
    assert.equal((await run(['list', '--file', join(dir, 'missing')])).code, 1);
    assert.equal((await run(['passwd', 'alice', '--file', join(dir, 'missing')], 'pw\n')).code, 1);
  });
});

test('usage errors exit 2: a password on the command line is refused, as are bad names and costs', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'htpasswd');
    const argv = await run(['add', 'alice', 'secret-on-argv', '--file', file], 'pw\n');
    assert.equal(argv.code, 2);
    assert.match(argv.stderr, /never taken from the command line/);
    assert.ok(!argv.stderr.includes('secret-on-argv'), 'not repeated on the terminal');
    for (const args of [[], ['frobnicate'], ['add', '--file', file], ['add', 'a:b', '--file', file], ['add', 'alice'], ['add', 'alice', '--file', file, '--cost', '3'], ['add', 'alice', '--file', file, '--cost', 'x'], ['list', 'alice', '--file', file], ['add', 'alice', '--file', file, '--password', 'x']]) {
      assert.equal((await run(args, 'pw\n')).code, 2, args.join(' '));
    }
    await assert.rejects(stat(file), 'no file was created');
    assert.equal((await run(['--help'])).code, 0);
  });
});

test('--file defaults to WHARF_AUTH__HTPASSWD__PATH', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'from-env');
    assert.equal((await run(['add', 'eve', '--cost', '4'], 'pw\n', { WHARF_AUTH__HTPASSWD__PATH: file })).code, 0);
    assert.ok(await verify(file, 'eve', 'pw'));
  });
});

test('rewrites keep comments, other users (even refused hash kinds), and the file mode; list warns about refused kinds', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'htpasswd');
    await writeFile(file, `# team\nalice:${hashes.alice}\nold:${otherHashes.md5}\n`);
    await chmod(file, 0o600);
    const listed = await run(['list', '--file', file]);
    assert.equal(listed.stdout, 'alice\nold\n');
    assert.match(listed.stderr, /old has a MD5 \(\$apr1\$\) hash, which Wharf refuses/);
    assert.equal((await run(['passwd', 'old', '--file', file, '--cost', '4'], 'new pw\n')).code, 0);
    const text = await readFile(file, 'utf8');
    assert.ok(text.startsWith(`# team\nalice:${hashes.alice}\nold:$2y$04$`));
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.equal(parseHtpasswd(text, file).users.size, 2, 'now loadable by Wharf');
  });
});

/** A stdin that claims to be a terminal, recording raw-mode switches. */
function fakeTty(): { stdin: UserCommandIO['stdin']; type: (s: string) => void; rawModes: boolean[] } {
  const rawModes: boolean[] = [];
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?: (m: boolean) => unknown };
  stream.isTTY = true;
  stream.setRawMode = (m: boolean) => {
    rawModes.push(m);
    return stream;
  };
  return { stdin: stream, type: (s) => stream.write(s), rawModes };
}

test('on a terminal the password is prompted twice, without echo, with backspace handled', async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, 'htpasswd');
    const tty = fakeTty();
    const out = sink();
    const err = sink();
    const done = userCommand(['add', 'alice', '--file', file, '--cost', '4'], { stdin: tty.stdin, stdout: out.stream, stderr: err.stream, env: {} });
    await new Promise((r) => setTimeout(r, 20));
    tty.type('sekrit\u007f\u007fet\r');
    await new Promise((r) => setTimeout(r, 20));
    tty.type('sekret\n');
    assert.equal(await done, 0, err.text());
    assert.ok(await verify(file, 'alice', 'sekret'));
    assert.equal(out.text(), '');
    assert.equal(err.text().includes('sekr'), false, 'nothing typed is echoed');
    assert.match(err.text(), /^New password: \nRe-type new password: \nadded alice/);
    assert.deepEqual(tty.rawModes, [true, false, true, false], 'raw mode restored after each prompt');

    const mismatch = fakeTty();
    const failed = userCommand(['passwd', 'alice', '--file', file], { stdin: mismatch.stdin, stdout: out.stream, stderr: err.stream, env: {} });
    await new Promise((r) => setTimeout(r, 20));
    mismatch.type('one\r');
    await new Promise((r) => setTimeout(r, 20));
    mismatch.type('two\r');
    assert.equal(await failed, 1);
    assert.ok(await verify(file, 'alice', 'sekret'), 'unchanged');
  });
});
