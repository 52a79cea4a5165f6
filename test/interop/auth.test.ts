// Access control with real clients: Wharf started as a process with an htpasswd file written by the real Apache
// `htpasswd -B`, in basic mode and in token mode (its own /auth/token as the realm), driven by skopeo (copy, inspect,
// list-tags, delete, login) and podman (login with right and wrong passwords, then push and pull with the stored
// credentials). Each client's credential state lives in a temp dir, so nothing from the machine leaks in.
// Finally: no password, Basic credential or token appears in the server's (debug-level) log.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuthClient, basicAuthorization, fetchToken, repoScope, tamperPayload } from '../api/support/auth.js';
import { Client, show, type Res } from '../api/support/http.js';
import { freePort, runWharf, startWharf, tempDir, type RunningRegistry } from '../support/processes.js';
import { withServerLog } from './support/diag.js';
import { CommandError, run, runOk, type RunResult } from './support/exec.js';
import { buildImage, sha256, verifyDirCopy, type BuiltImage } from './support/oci.js';
import { isolatedContainers, type Containers } from './support/podman.js';
import { assertWharfBuilt } from './support/target.js';

const KiB = 1024;
const USERS = ['writer', 'reader', 'deleter', 'admin'] as const;
type User = (typeof USERS)[number];
const PASSWORDS: Readonly<Record<User, string>> = Object.fromEntries(USERS.map((u) => [u, `${u}-${randomBytes(9).toString('base64url')}`])) as Record<User, string>;
const SERVICE = 'wharf-interop-auth';
const REALM = 'Wharf interop';
const ACCEPT = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';

// Refusals as containers/image reports them. A known user without the right: 403 DENIED in both modes. No or wrong
// credentials: 401 UNAUTHORIZED.
const DENIED = /requested access to the resource is denied/;
const UNAUTHORIZED = /unauthorized: authentication required|invalid username\/password/;

type Mode = 'basic' | 'token';

function configYaml(mode: Mode, htpasswd: string, port: number): string {
  return [
    'auth:',
    `  mode: ${mode}`,
    `  realm: ${REALM}`,
    '  htpasswd:',
    `    path: ${htpasswd}`,
    '  token:',
    `    realm: http://127.0.0.1:${port}/auth/token`,
    `    service: ${SERVICE}`,
    '  anonymous:',
    '    - repositories: ["public/**"]',
    '      actions: [pull]',
    '  rules:',
    '    - users: [reader]',
    '      repositories: ["team/**"]',
    '      actions: [pull]',
    '    - users: [writer]',
    '      repositories: ["team/**", "public/**"]',
    '      actions: [pull, push]',
    '    - users: [deleter]',
    '      repositories: ["team/**"]',
    '      actions: [pull, delete]',
    '  admins: [admin]',
    '',
  ].join('\n');
}

/** `wharf user …` through the built CLI, the password on stdin. */
function wharfUser(args: readonly string[], stdin: string) {
  return runWharf(['user', ...args], { stdin });
}

/** Waits until the server's output after `from` matches `pattern` (its own log says what it did). */
async function waitForLog(reg: RunningRegistry | undefined, from: number, pattern: RegExp, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const out = reg?.output() ?? '';
    if (pattern.test(out.slice(from))) return;
    if (Date.now() > deadline) assert.fail(`the server did not log ${pattern} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let work = '';
let layout = '';
let htpasswd = '';
let app: BuiltImage;
let spare: BuiltImage;

before(async () => {
  await assertWharfBuilt();
  work = await tempDir('interop-auth');
  layout = join(work, 'layout');
  app = await buildImage(layout, 'app', [
    { files: [{ path: 'etc/wharf/hello.txt', content: 'hello from the wharf auth interop test\n' }, { path: 'etc/wharf/nonce', size: 16 }] },
    { files: [{ path: 'srv/payload.bin', size: 192 * KiB }] },
  ]);
  spare = await buildImage(layout, 'spare', [{ files: [{ path: 'spare.bin', size: 4 * KiB }] }]);
  await buildImage(layout, 'spare2', [{ files: [{ path: 'spare2.bin', size: 4 * KiB }] }]);
  // The real Apache htpasswd, bcrypt (-B): writes $2y$ hashes.
  htpasswd = join(work, 'htpasswd');
  let first = true;
  for (const u of USERS) {
    await runOk('htpasswd', ['-B', '-b', ...(first ? ['-c'] : []), htpasswd, u, PASSWORDS[u]]);
    first = false;
  }
  const lines = (await readFile(htpasswd, 'utf8')).trim().split('\n');
  assert.equal(lines.length, USERS.length);
  for (const line of lines) assert.match(line, /^[a-z]+:\$2y\$\d\d\$/, `htpasswd -B wrote ${line.slice(0, 12)}…`);
});

after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

for (const mode of ['basic', 'token'] as const) {
  describe(`auth with real clients, ${mode} mode`, () => {
    let reg: RunningRegistry | undefined;
    let dir = '';
    let podDir = '';
    let users = '';
    let authEnv: Record<string, string> = {};
    let c: Containers;
    let podmanAuth = '';
    const host = (): string => reg?.host ?? 'unstarted';
    const docker = (ref: string): string => `docker://${host()}/${ref}`;
    const creds = (u: User): string => `${u}:${PASSWORDS[u]}`;
    const oci = (tag: string): string => `oci:${layout}:${tag}`;

    /** skopeo with an empty credential store of its own; never throws (check `code`). */
    const skopeo = (args: string[]): Promise<RunResult> => run('skopeo', args, { env: authEnv, timeoutMs: 120_000 });
    const skopeoOk = async (args: string[]): Promise<RunResult> => {
      const r = await skopeo(args);
      if (r.code !== 0) throw new CommandError(r);
      return r;
    };
    const skopeoRefused = async (args: string[], why: RegExp): Promise<RunResult> => {
      const r = await skopeo(args);
      assert.notEqual(r.code, 0, `expected skopeo to be refused, but it succeeded: ${r.command}`);
      assert.match(r.stderr, why, `skopeo failed, but not as expected: ${r.command}\n${r.stderr}`);
      return r;
    };

    /** The registry as admin over HTTP, for checking what the clients did. */
    const adminGet = async (repo: string, ref: string): Promise<Res> => {
      const authorization =
        mode === 'basic'
          ? basicAuthorization('admin', PASSWORDS.admin)
          : `Bearer ${await fetchToken(`http://${host()}`, { service: SERVICE, user: 'admin', password: PASSWORDS.admin, scopes: [repoScope(repo, ['pull'])] })}`;
      return new AuthClient(`http://${host()}`, authorization).get(`/v2/${repo}/manifests/${ref}`, { Accept: ACCEPT });
    };
    const expectPresent = async (repo: string, ref: string, digest: string): Promise<void> => {
      const res = await adminGet(repo, ref);
      assert.equal(res.status, 200, `${repo}:${ref} should exist: ${show(res)}`);
      assert.equal(sha256(res.body), digest, `${repo}:${ref} digest`);
    };
    const expectAbsent = async (repo: string, ref: string): Promise<void> => {
      const res = await adminGet(repo, ref);
      assert.equal(res.status, 404, `${repo}:${ref} should not exist: ${show(res)}`);
    };

    before(async () => {
      dir = await tempDir(`interop-auth-${mode}`);
      const emptyAuth = join(dir, 'skopeo-auth.json');
      await writeFile(emptyAuth, '{"auths":{}}\n');
      await mkdir(join(dir, 'docker-config'));
      authEnv = { REGISTRY_AUTH_FILE: emptyAuth, DOCKER_CONFIG: join(dir, 'docker-config') };
      // podman refuses a runroot path longer than 50 characters: keep its state dir short.
      podDir = await tempDir('pm');
      c = await isolatedContainers(podDir);
      podmanAuth = join(dir, 'podman-auth.json');
      // This server's own copy of the users: `wharf user` edits it while it serves.
      users = join(dir, 'htpasswd');
      await copyFile(htpasswd, users);
      const port = await freePort();
      reg = await startWharf({ port, configYaml: configYaml(mode, users, port), env: { WHARF_LOG__LEVEL: 'debug' } });
    });

    after(async () => {
      await reg?.stop();
      if (dir) await rm(dir, { recursive: true, force: true });
      if (podDir) await rm(podDir, { recursive: true, force: true });
    });

    test('the registry challenges: /v2/ without credentials → 401 with the mode’s challenge', () =>
      withServerLog(reg, async () => {
        const res = await new Client(`http://${host()}`).get('/v2/');
        assert.equal(res.status, 401, show(res));
        const challenge = res.headers.get('www-authenticate') ?? '';
        if (mode === 'basic') assert.equal(challenge, `Basic realm="${REALM}"`);
        else assert.equal(challenge, `Bearer realm="http://${host()}/auth/token",service="${SERVICE}"`);
      }));

    test('skopeo: writer pushes to team/app (allowed) with --dest-creds; the exact manifest arrives', () =>
      withServerLog(reg, async () => {
        const digestFile = join(dir, 'app.digest');
        await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds('writer'), '--digestfile', digestFile, oci('app'), docker('team/app:1')]);
        assert.equal((await readFile(digestFile, 'utf8')).trim(), app.manifestDigest);
        await expectPresent('team/app', '1', app.manifestDigest);
      }));

    test('skopeo: reader push is refused and leaves nothing', () =>
      withServerLog(reg, async () => {
        await skopeoRefused(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds('reader'), oci('spare'), docker('team/app:by-reader')], DENIED);
        await expectAbsent('team/app', 'by-reader');
      }));

    test('skopeo: reader pulls team/app with --src-creds; blobs verify', () =>
      withServerLog(reg, async () => {
        const out = join(dir, 'pulled-by-reader');
        await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', '--src-creds', creds('reader'), docker('team/app:1'), `dir:${out}`]);
        const copy = await verifyDirCopy(out);
        assert.equal(sha256(copy.manifestBytes), app.manifestDigest);
        for (const d of [app.configDigest, ...app.layerDigests]) assert.ok(copy.blobs.has(d), `missing blob ${d}`);
        const inspected = JSON.parse((await skopeoOk(['inspect', '--tls-verify=false', '--creds', creds('reader'), docker('team/app:1')])).stdout.toString('utf8')) as {
          Digest: string;
        };
        assert.equal(inspected.Digest, app.manifestDigest);
      }));

    test('skopeo: anonymous pull of public/* works; of a private repository is refused', () =>
      withServerLog(reg, async () => {
        await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds('writer'), oci('app'), docker('public/app:1')]);
        const out = join(dir, 'pulled-anonymously');
        await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', '--src-no-creds', docker('public/app:1'), `dir:${out}`]);
        assert.equal(sha256((await verifyDirCopy(out)).manifestBytes), app.manifestDigest);
        await skopeoRefused(['copy', '--quiet', '--src-tls-verify=false', '--src-no-creds', docker('team/app:1'), `dir:${join(dir, 'not-pulled')}`], UNAUTHORIZED);
        await skopeoRefused(['inspect', '--tls-verify=false', '--no-creds', docker('team/app:1')], UNAUTHORIZED);
      }));

    test('skopeo list-tags: with reader’s creds on team/app; without creds only on public/*', () =>
      withServerLog(reg, async () => {
        const withCreds = JSON.parse((await skopeoOk(['list-tags', '--tls-verify=false', '--creds', creds('reader'), docker('team/app')])).stdout.toString('utf8')) as {
          Tags: string[];
        };
        assert.deepEqual(withCreds.Tags, ['1']);
        await skopeoRefused(['list-tags', '--tls-verify=false', '--no-creds', docker('team/app')], UNAUTHORIZED);
        const anonymous = JSON.parse((await skopeoOk(['list-tags', '--tls-verify=false', '--no-creds', docker('public/app')])).stdout.toString('utf8')) as { Tags: string[] };
        assert.deepEqual(anonymous.Tags, ['1']);
        await skopeoRefused(['list-tags', '--tls-verify=false', '--creds', `reader:${PASSWORDS.reader}-wrong`, docker('team/app')], UNAUTHORIZED);
      }));

    test('skopeo delete: refused for reader and writer (no delete right), done by admin and by deleter', () =>
      withServerLog(reg, async () => {
        await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds('writer'), oci('spare'), docker('team/app:spare')]);
        await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', creds('writer'), oci('spare2'), docker('team/app:spare2')]);
        // skopeo delete prints the registry's answer: 403 for a known user the policy refuses, in both modes.
        const status = /\(403 Forbidden\)/;
        for (const u of ['reader', 'writer'] as const) {
          const r = await skopeoRefused(['delete', '--tls-verify=false', '--creds', creds(u), docker('team/app:spare')], DENIED);
          assert.match(r.stderr, status);
        }
        await skopeoRefused(['delete', '--tls-verify=false', '--no-creds', docker('team/app:spare')], /UNAUTHORIZED|unauthorized/);
        await expectPresent('team/app', 'spare', spare.manifestDigest);
        await skopeoOk(['delete', '--tls-verify=false', '--creds', creds('admin'), docker('team/app:spare')]);
        await expectAbsent('team/app', 'spare');
        await expectAbsent('team/app', spare.manifestDigest);
        await skopeoOk(['delete', '--tls-verify=false', '--creds', creds('deleter'), docker('team/app:spare2')]);
        await expectAbsent('team/app', 'spare2');
        await expectPresent('team/app', '1', app.manifestDigest);
      }));

    test('skopeo login: right password → exit 0 and stored; wrong password → non-zero exit, nothing stored', () =>
      withServerLog(reg, async () => {
        const file = join(dir, 'skopeo-login.json');
        const bad = await skopeo(['login', '--tls-verify=false', '--authfile', file, '--username', 'writer', '--password', `${PASSWORDS.writer}x`, host()]);
        assert.notEqual(bad.code, 0, 'skopeo login with a wrong password succeeded');
        assert.match(bad.stderr, /invalid username\/password/);
        await skopeoOk(['login', '--tls-verify=false', '--authfile', file, '--username', 'writer', '--password', PASSWORDS.writer, host()]);
        const stored = JSON.parse(await readFile(file, 'utf8')) as { auths?: Record<string, unknown> };
        assert.ok(stored.auths?.[host()], `no entry for ${host()} in ${JSON.stringify(Object.keys(stored.auths ?? {}))}`);
        // and the stored credentials are used
        const tags = JSON.parse((await skopeoOk(['list-tags', '--tls-verify=false', '--authfile', file, docker('team/app')])).stdout.toString('utf8')) as { Tags: string[] };
        assert.ok(tags.Tags.includes('1'));
      }));

    test('podman login: wrong password → exit non-zero, nothing stored; right password → exit 0', () =>
      withServerLog(reg, async () => {
        const bad = await c.podman(['login', '--tls-verify=false', '--authfile', podmanAuth, '--username', 'reader', '--password', 'not-the-password', host()]).then(
          () => null,
          (err: unknown) => err,
        );
        assert.ok(bad instanceof CommandError, `podman login with a wrong password succeeded (or failed oddly): ${String(bad)}`);
        assert.notEqual(bad.result.code, 0);
        assert.match(bad.result.stderr, /invalid username\/password/);
        const before = await readFile(podmanAuth, 'utf8').catch(() => '{}');
        assert.ok(!before.includes(host()), `wrong credentials were stored: ${before.replace(/"auth":\s*"[^"]*"/g, '"auth":"…"')}`);
        const ok = await c.podman(['login', '--tls-verify=false', '--authfile', podmanAuth, '--username', 'writer', '--password', PASSWORDS.writer, host()]);
        assert.equal(ok.code, 0);
        const stored = JSON.parse(await readFile(podmanAuth, 'utf8')) as { auths?: Record<string, { auth?: string }> };
        assert.equal(Buffer.from(stored.auths?.[host()]?.auth ?? '', 'base64').toString('utf8'), creds('writer'));
      }));

    test('podman with the stored credentials: pull team/app, push to team/podman (writer); reader’s stored credentials cannot push', () =>
      withServerLog(reg, async () => {
        const src = `${host()}/team/app:1`;
        const dest = `${host()}/team/podman:1`;
        await c.podman(['pull', '--quiet', '--tls-verify=false', '--authfile', podmanAuth, src]);
        await c.podman(['tag', src, dest]);
        const digestFile = join(dir, 'podman.digest');
        await c.podman(['push', '--quiet', '--tls-verify=false', '--authfile', podmanAuth, '--digestfile', digestFile, dest]);
        const pushed = (await readFile(digestFile, 'utf8')).trim();
        await expectPresent('team/podman', '1', pushed);

        // reader: logs in, may pull what writer pushed, may not push
        await c.podman(['logout', '--authfile', podmanAuth, host()]);
        await c.podman(['login', '--tls-verify=false', '--authfile', podmanAuth, '--username', 'reader', '--password', PASSWORDS.reader, host()]);
        await c.podman(['rmi', '--force', dest]);
        await c.podman(['pull', '--quiet', '--tls-verify=false', '--authfile', podmanAuth, dest]);
        const denied = await c
          .podman(['push', '--quiet', '--tls-verify=false', '--authfile', podmanAuth, dest, `docker://${host()}/team/podman:by-reader`])
          .then(
            () => null,
            (err: unknown) => err,
          );
        assert.ok(denied instanceof CommandError, `podman push with reader’s credentials succeeded (or failed oddly): ${String(denied)}`);
        assert.match(denied.result.stderr, DENIED);
        await expectAbsent('team/podman', 'by-reader');

        // logged out: private pull refused, public pull fine
        await c.podman(['logout', '--authfile', podmanAuth, host()]);
        await c.podman(['rmi', '--all', '--force']);
        const anonymous = await c.podman(['pull', '--quiet', '--tls-verify=false', '--authfile', podmanAuth, dest]).then(
          () => null,
          (err: unknown) => err,
        );
        assert.ok(anonymous instanceof CommandError, 'anonymous podman pull of a private repository succeeded');
        assert.match(anonymous.result.stderr, UNAUTHORIZED);
        await c.podman(['pull', '--quiet', '--tls-verify=false', '--authfile', podmanAuth, `${host()}/public/app:1`]);
      }));

    test('wharf user add while serving: the new user logs in (skopeo login) without a restart; after wharf user remove it cannot', () =>
      withServerLog(reg, async () => {
        const password = `newbie-${randomBytes(9).toString('base64url')}`;
        const file = join(dir, 'newbie-auth.json');
        let mark = reg?.output().length ?? 0;
        const added = await wharfUser(['add', 'newbie', '--file', users, '--cost', '5'], `${password}\n`);
        assert.equal(added.code, 0, `wharf user add failed: ${added.stderr}`);
        assert.match(await readFile(users, 'utf8'), /^newbie:\$2[aby]\$05\$/m);
        const listed = await wharfUser(['list', '--file', users], '');
        assert.equal(listed.code, 0, listed.stderr);
        assert.match(listed.stdout, /\bnewbie\b/);
        await waitForLog(reg, mark, /"users":5,"msg":"htpasswd file reloaded"/);
        await skopeoOk(['login', '--tls-verify=false', '--authfile', file, '--username', 'newbie', '--password', password, host()]);
        // Logged in, but no rule names newbie: only what anonymous may do.
        await skopeoOk(['list-tags', '--tls-verify=false', '--creds', `newbie:${password}`, docker('public/app')]);
        await skopeoRefused(['list-tags', '--tls-verify=false', '--creds', `newbie:${password}`, docker('team/app')], /registry 403 \(Forbidden\)/);

        mark = reg?.output().length ?? 0;
        const removed = await wharfUser(['remove', 'newbie', '--file', users], '');
        assert.equal(removed.code, 0, `wharf user remove failed: ${removed.stderr}`);
        await waitForLog(reg, mark, /"users":4,"msg":"htpasswd file reloaded"/);
        const refused = await skopeo(['login', '--tls-verify=false', '--authfile', join(dir, 'newbie-again.json'), '--username', 'newbie', '--password', password, host()]);
        assert.notEqual(refused.code, 0, 'a removed user could still log in');
        assert.match(refused.stderr, /invalid username\/password/);
      }));

    test('no password, Basic credential or token in the server log (debug level)', () =>
      withServerLog(reg, async () => {
        // One more token through the endpoint, to have one in hand to look for.
        // One more token through the endpoint, to have one in hand to look for; and refused credentials: a token
        // with a forged payload (its reason for refusal is logged at debug level) and a wrong password.
        const token =
          mode === 'token'
            ? await fetchToken(`http://${host()}`, { service: SERVICE, user: 'writer', password: PASSWORDS.writer, scopes: [repoScope('team/app', ['pull'])] })
            : null;
        const forged = token === null ? null : tamperPayload(token, (p) => void (p.sub = 'admin'));
        if (forged !== null) {
          const res = await new AuthClient(`http://${host()}`, `Bearer ${forged}`).get('/v2/team/app/tags/list');
          assert.equal(res.status, 401, show(res));
        }
        const wrongPassword = `wrong-${randomBytes(9).toString('base64url')}`;
        const wrong = await new AuthClient(`http://${host()}`, basicAuthorization('writer', wrongPassword)).get(mode === 'basic' ? '/v2/' : `/auth/token?service=${SERVICE}`);
        assert.equal(wrong.status, 401, show(wrong));
        await new Promise((r) => setTimeout(r, 200)); // let the request log line be written
        const log = reg?.output() ?? '';
        assert.ok(/"msg":"request"/.test(log), 'the server logged no requests at all: the check below would be vacuous');
        assert.ok(/failed login/.test(log), 'the failed logins above were not logged');
        for (const u of USERS) {
          assert.ok(!log.includes(PASSWORDS[u]), `${u}'s password appears in the server log`);
          assert.ok(!log.includes(basicAuthorization(u, PASSWORDS[u]).slice(6)), `${u}'s Basic credential appears in the server log`);
        }
        assert.ok(!log.includes(`${PASSWORDS.writer}x`), 'a wrong password appears in the server log');
        assert.ok(!log.includes('newbie-'), 'newbie’s password appears in the server log');
        assert.ok(!log.includes(wrongPassword), 'a wrong password appears in the server log');
        if (forged !== null) assert.ok(!log.includes(forged.split('.')[1]!), 'a refused token appears in the server log');
        const hashes = (await readFile(htpasswd, 'utf8')).trim().split('\n').map((l) => l.slice(l.indexOf(':') + 1));
        for (const h of hashes) assert.ok(!log.includes(h), 'a password hash appears in the server log');
        if (token !== null) assert.ok(!log.includes(token.split('.')[2]!), 'a token appears in the server log');
        assert.doesNotMatch(log, /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\./, 'something JWT-shaped appears in the server log');
        assert.doesNotMatch(log, /"authorization"/i, 'an Authorization header appears in the server log');
      }));
  });
}
