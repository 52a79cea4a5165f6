// The operator's CLI through the real process: help everywhere, messages instead of stack traces, and maintenance
// commands that refuse a data directory holding no registry instead of creating an empty one there.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { wharfCli } from '../support/cli.js';
import { freePort, startWharf, tempDir } from '../support/processes.js';

// Every command main.ts registers: a new one without --help fails here.
const commands = ['serve', 'status', 'config', 'user', 'auth', 'repo', 'gc', 'fsck', 'backup', 'restore', 'import', 'webhooks'];

const noStack = (text: string) => assert.doesNotMatch(text, /^\s+at /m, `no stack trace in:\n${text}`);

test('bare wharf lists every command; every command and sub-command answers --help with its usage, exit 0', async () => {
  const bare = await wharfCli([]);
  assert.equal(bare.code, 0, bare.stderr);
  for (const name of commands) assert.match(bare.stdout, new RegExp(`^  wharf ${name}\\b`, 'm'), `bare wharf lists ${name}`);
  const cases = [...commands.map((c) => [c, '--help']), ['config', 'check', '--help'], ['repo', 'delete', '-h'], ['webhooks', 'status', '--help']];
  const results = await Promise.all(cases.map((args) => wharfCli(args)));
  for (const [i, args] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`wharf ${args[0]}`), `${args.join(' ')} prints its usage`);
    assert.equal(r.stderr, '', `${args.join(' ')} writes nothing to stderr`);
  }
  const version = await wharfCli(['--version']);
  assert.match(version.stdout, /^wharf \d+\.\d+\.\d+\n$/);
});

test('an unknown option names itself and the command usage, exit 2', async () => {
  const r = await wharfCli(['gc', '--frobnicate']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /wharf gc: Unknown option '--frobnicate'/);
  assert.match(r.stderr, /wharf gc \[--dry-run\]/);
  noStack(r.stderr);
});

test('fsck, gc, repo, webhooks and status refuse a data directory that does not exist, and create nothing', async (t) => {
  const base = await tempDir('cli-typo');
  t.after(() => rm(base, { recursive: true, force: true }));
  const typo = join(base, 'typo');
  const cases = [['fsck'], ['gc'], ['repo', 'list'], ['webhooks', 'status'], ['status']];
  const results = await Promise.all(cases.map((args) => wharfCli([...args, '--data-dir', typo])));
  for (const [i, args] of cases.entries()) {
    const r = results[i]!;
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, new RegExp(`wharf ${args[0]}: the data directory ${typo} does not exist`));
    assert.equal(r.stdout, '');
    noStack(r.stderr);
    assert.equal(existsSync(typo), false, `${args.join(' ')} created ${typo}`);
  }
});

test('a directory without a database is refused as holding no registry', async (t) => {
  const dir = await tempDir('cli-empty');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const r = await wharfCli(['fsck', '--data-dir', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /no registry in .*wharf\.db does not exist/);
  assert.equal(existsSync(join(dir, 'wharf.db')), false);
});

test('repo delete of an unknown repository: a sentence, exit 1', async () => {
  const wharf = await startWharf();
  try {
    const r = await wharfCli(['repo', 'delete', 'no/such', '--data-dir', wharf.dataDir]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'wharf repo delete: no repository named no/such (wharf repo list shows them)\n');
  } finally {
    await wharf.stop();
  }
});

test('serve with a missing htpasswd file or an MD5 line says what is wrong, without a stack trace', async (t) => {
  const dir = await tempDir('cli-htpasswd');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const md5 = join(dir, 'htpasswd');
  await writeFile(md5, 'bob:$apr1$abcdefgh$0123456789abcdefghijkl\n');
  const port = await freePort();
  const serve = (file: string) =>
    wharfCli(['serve', '--addr', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data')], {
      env: { WHARF_AUTH__MODE: 'basic', WHARF_AUTH__HTPASSWD__PATH: file, WHARF_METRICS__ADDR: '127.0.0.1:0' },
      timeoutMs: 20_000,
    });
  const missing = await serve(join(dir, 'nope'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /cannot load htpasswd file .*nope/);
  noStack(missing.stderr);
  const bad = await serve(md5);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /user "bob" has a MD5 \(\$apr1\$\) hash/);
  noStack(bad.stderr);
});

test('a second instance with only --addr moved is told that the metrics port collides, and how to move it', async (t) => {
  const metricsPort = await freePort();
  const first = await startWharf({ env: { WHARF_METRICS__ADDR: `127.0.0.1:${metricsPort}` } });
  try {
    const base = await tempDir('cli-second');
    t.after(() => rm(base, { recursive: true, force: true }));
    const dataDir = join(base, 'data');
    await mkdir(dataDir);
    const second = await wharfCli(['serve', '--addr', `127.0.0.1:${await freePort()}`, '--data-dir', dataDir], {
      env: { WHARF_METRICS__ADDR: `127.0.0.1:${metricsPort}` },
      timeoutMs: 20_000,
    });
    assert.equal(second.code, 1);
    assert.match(second.stderr, new RegExp(`the metrics listener cannot use 127\\.0\\.0\\.1:${metricsPort}`));
    assert.match(second.stderr, /--metrics-addr/);
    noStack(second.stderr);
  } finally {
    await first.stop();
  }
});
