// Access control through the real HTTP server: who (anonymous, reader, writer, deleter, outsider, admin) may do what
// (pull, push, delete, mount, tags list, catalog) on which repository, in basic mode (Authorization: Basic on every
// request) and token mode (a token from /auth/token, then Bearer), plus challenges, bad credentials, lockout,
// the token endpoint (GET and the OAuth2 POST form), forged tokens and CORS preflights.
//
// The matrix is data: GRANTS below says, independently of Wharf's policy code, what each principal may do on each
// repository under the auth config in authConfig(); every cell's expected answer is derived from it.
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { startTestServer, type TestServer } from '../support/server.js';
import { manualClock } from '../unit/auth/support.js';
import {
  AuthClient,
  CATALOG_SCOPE,
  accessOf,
  basicAuthorization,
  decodeJwt,
  expectBasicChallenge,
  expectBasicUnauthorized,
  expectBearerChallenge,
  expectForbidden,
  expectLockedOut,
  fetchToken,
  oauthRequest,
  repoScope,
  tamperPayload,
  tokenBody,
  tokenRequest,
  writeHtpasswd,
  type Action,
  type TokenAccess,
} from './support/auth.js';
import { Client, expectStatus, json, requireHeader, show, type Res } from './support/http.js';
import { MT, expectError, pushImage, pushRandomBlob, randomData, digestOf, withQuery, nextLink, type PushedImage } from './support/registry.js';

// ---------------------------------------------------------------------------------------------------------------
// The world

const REALM = 'Wharf auth matrix';
const SERVICE = 'wharf-matrix.test';
const ISSUER = 'wharf-matrix-issuer';
/** Token realm advertised in challenges; the tests fetch tokens from the server's own /auth/token. */
const TOKEN_REALM = 'https://auth.wharf-matrix.test/auth/token';
const ORIGIN = 'https://ui.example.com';
const ACCEPT = [MT.ociManifest, MT.ociIndex, MT.dockerManifest, MT.dockerList].join(', ');

const REPOS = ['public/base', 'team-a/app', 'team-b/svc', 'secret/vault'] as const;
type Repo = (typeof REPOS)[number];
const USERS = ['reader', 'writer', 'deleter', 'outsider', 'admin'] as const;
type User = (typeof USERS)[number];
type Who = 'anonymous' | User;
const WHO: readonly Who[] = ['anonymous', ...USERS];
const ALL: readonly Action[] = ['pull', 'push', 'delete'];

/** What each principal may do, written out by hand from authConfig() below (not computed by Wharf's code). */
const GRANTS: Readonly<Record<Who, Readonly<Partial<Record<Repo, readonly Action[]>>>>> = {
  anonymous: { 'public/base': ['pull'] },
  reader: { 'public/base': ['pull'], 'team-a/app': ['pull'] },
  writer: { 'public/base': ['pull'], 'team-a/app': ['pull', 'push'] },
  deleter: { 'public/base': ['pull'], 'team-a/app': ['pull', 'delete'] }, // through the team-a-maintainers group
  outsider: { 'public/base': ['pull'], 'team-b/svc': ['pull', 'push'] },
  admin: { 'public/base': ALL, 'team-a/app': ALL, 'team-b/svc': ALL, 'secret/vault': ALL },
};

function may(who: Who, repo: Repo, action: Action): boolean {
  return GRANTS[who][repo]?.includes(action) ?? false;
}

/** What the catalog shows each principal: the repositories it may pull (sorted). */
function catalogOf(who: Who): string[] {
  return REPOS.filter((r) => may(who, r, 'pull')).sort();
}

const PASSWORDS: Readonly<Record<User, string>> = Object.fromEntries(USERS.map((u) => [u, `${u}-${randomBytes(9).toString('base64url')}`])) as Record<User, string>;

type Mode = 'basic' | 'token';
interface Lockout {
  readonly maxFailures: number;
  readonly maxAddressFailures: number;
  readonly window: string;
  readonly duration: string;
  readonly trustedProxies: readonly string[];
}

function authConfig(mode: Mode, htpasswd: string, lockout: Lockout) {
  return {
    mode,
    realm: REALM,
    htpasswd: { path: htpasswd },
    token: { realm: TOKEN_REALM, service: SERVICE, issuer: ISSUER },
    groups: [{ name: 'team-a-maintainers', members: ['deleter'] }],
    anonymous: [{ repositories: ['public/**'], actions: ['pull' as const] }],
    rules: [
      { users: ['reader'], repositories: ['team-a/**'], actions: ['pull' as const] },
      { users: ['writer'], repositories: ['team-a/**'], actions: ['pull' as const, 'push' as const] },
      { groups: ['team-a-maintainers'], repositories: ['team-a/**'], actions: ['pull' as const, 'delete' as const] },
      { users: ['outsider'], repositories: ['team-b/*'], actions: ['pull' as const, 'push' as const] },
    ],
    admins: ['admin'],
    lockout,
  };
}

let workDir = '';
let htpasswdPath = '';

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'wharf-auth-matrix-'));
  // writer's hash carries the $2y$ prefix the real `htpasswd -B` writes; the others the equivalent $2b$.
  htpasswdPath = await writeHtpasswd(
    workDir,
    USERS.map((u) => ({ name: u, password: PASSWORDS[u], y: u === 'writer' })),
  );
});

after(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------------------------
// One registry per mode, seen through the principals

interface Want {
  readonly repo: Repo;
  readonly actions: readonly Action[];
}
type Need = Want | 'catalog';

function scopeString(need: Need): string {
  return need === 'catalog' ? CATALOG_SCOPE : repoScope(need.repo, need.actions);
}

/** The access a token asked for `needs` must carry for `who`: per resource, the asked actions GRANTS allows. */
function expectedAccess(who: Who, needs: readonly Need[]): TokenAccess[] {
  const out: TokenAccess[] = [];
  for (const need of needs) {
    if (need === 'catalog') {
      // Everyone may ask for the catalog here (anonymous pull exists); it then lists what each may pull.
      out.push({ type: 'registry', name: 'catalog', actions: ['*'] });
      continue;
    }
    const actions = ALL.filter((a) => need.actions.includes(a) && may(who, need.repo, a));
    if (actions.length > 0) out.push({ type: 'repository', name: need.repo, actions });
  }
  return out;
}

class World {
  readonly seeded = new Map<Repo, PushedImage>();
  admin!: AuthClient;

  constructor(
    readonly mode: Mode,
    readonly srv: TestServer,
  ) {}

  get url(): string {
    return this.srv.url;
  }

  /** A client without credentials. */
  get anonymous(): AuthClient {
    return new AuthClient(this.url, null);
  }

  /**
   * A client acting as `who` for requests that need `needs`: Basic credentials, or a token asked for exactly those
   * scopes (its `access` claim is checked against GRANTS).
   */
  async as(who: Who, needs: readonly Need[]): Promise<AuthClient> {
    if (this.mode === 'basic') return new AuthClient(this.url, who === 'anonymous' ? null : basicAuthorization(who, PASSWORDS[who]));
    const token = await fetchToken(this.url, {
      service: SERVICE,
      scopes: needs.map(scopeString),
      ...(who === 'anonymous' ? {} : { user: who, password: PASSWORDS[who] }),
    });
    const { payload } = decodeJwt(token);
    assert.equal(payload.sub, who === 'anonymous' ? '' : who, 'token subject');
    assert.deepEqual(accessOf(token), expectedAccess(who, needs), `access granted to ${who} for ${needs.map(scopeString).join(' ')}`);
    return new AuthClient(this.url, `Bearer ${token}`);
  }

  /**
   * The refusal of a request `who` may not make: a known user gets 403 DENIED in both modes (no credentials or token
   * could allow it); anonymous gets 401 UNAUTHORIZED with a Basic challenge, or in token mode a Bearer challenge
   * naming the scope the request needs with error="insufficient_scope".
   */
  expectDenied(res: Res, who: Who, scope: string): void {
    if (who !== 'anonymous') {
      expectForbidden(res);
      return;
    }
    if (this.mode === 'basic') {
      expectBasicUnauthorized(res, REALM);
      return;
    }
    expectError(res, 401, 'UNAUTHORIZED');
    expectBearerChallenge(res, { realm: TOKEN_REALM, service: SERVICE, scope, error: 'insufficient_scope' });
  }

  /** Token mode: the request a client makes first, without a token, is answered 401 with the scope it needs. */
  async probeWithoutToken(method: string, path: string, scope: string): Promise<void> {
    if (this.mode !== 'token') return;
    const res = await this.anonymous.req(method, path, method === 'GET' || method === 'HEAD' ? { headers: { Accept: ACCEPT } } : {});
    expectError(res, 401, 'UNAUTHORIZED');
    expectBearerChallenge(res, { realm: TOKEN_REALM, service: SERVICE, scope, error: null });
  }

  async seed(): Promise<void> {
    this.admin = await this.as(
      'admin',
      REPOS.map((repo) => ({ repo, actions: ALL })),
    );
    for (const repo of REPOS) this.seeded.set(repo, await pushImage(this.admin, repo, { tag: 'v1' }));
  }

  image(repo: Repo): PushedImage {
    const img = this.seeded.get(repo);
    assert.ok(img, `${repo} was not seeded`);
    return img;
  }
}

async function startWorld(mode: Mode, extra: { lockout?: Lockout; now?: () => number } = {}): Promise<World> {
  const lockout = extra.lockout ?? { maxFailures: 50, maxAddressFailures: 200, window: '5m', duration: '15m', trustedProxies: [] };
  const srv = await startTestServer(
    { auth: { ...authConfig(mode, htpasswdPath, lockout), lockout: { ...lockout, trustedProxies: [...lockout.trustedProxies] } }, cors: { enabled: true, allowedOrigins: [ORIGIN] } },
    extra.now ? { now: extra.now } : {},
  );
  return new World(mode, srv);
}

function outcome(mode: Mode, who: Who, allowed: boolean, ok: string): string {
  if (allowed) return ok;
  if (who !== 'anonymous') return '403 DENIED';
  return mode === 'basic' ? '401 UNAUTHORIZED' : '401 UNAUTHORIZED insufficient_scope';
}

// ---------------------------------------------------------------------------------------------------------------
// The matrix

let counter = 0;
const unique = (prefix: string): string => `${prefix}-${++counter}-${randomBytes(2).toString('hex')}`;

function matrix(mode: Mode): void {
  describe(`${mode} mode: principal × action × repository`, () => {
    let w: World;
    before(async () => {
      w = await startWorld(mode);
      await w.seed();
    });
    after(async () => {
      await w?.srv.close();
    });

    for (const who of WHO) {
      for (const repo of REPOS) {
        const pull = may(who, repo, 'pull');
        it(`${who} pull ${repo} (GET/HEAD manifest, GET blob, GET referrers) → ${outcome(mode, who, pull, '200')}`, async () => {
          const scope = repoScope(repo, ['pull']);
          const img = w.image(repo);
          if (who === 'anonymous') await w.probeWithoutToken('GET', `/v2/${repo}/manifests/v1`, scope);
          const c = await w.as(who, [{ repo, actions: ['pull'] }]);
          const get = await c.get(`/v2/${repo}/manifests/v1`, { Accept: ACCEPT });
          const head = await c.head(`/v2/${repo}/manifests/v1`, { Accept: ACCEPT });
          const blob = await c.get(`/v2/${repo}/blobs/${img.config.digest}`);
          const referrers = await c.get(`/v2/${repo}/referrers/${img.digest}`);
          if (pull) {
            expectStatus(referrers, 200);
            assert.deepEqual(json<{ manifests: unknown[] }>(referrers).manifests, []);
            expectStatus(get, 200);
            assert.deepEqual(get.body, img.bytes, 'manifest bytes');
            expectStatus(head, 200);
            assert.equal(head.headers.get('docker-content-digest'), img.digest);
            expectStatus(blob, 200);
            assert.deepEqual(blob.body, img.config.data, 'blob bytes');
          } else {
            for (const res of [get, head, blob, referrers]) w.expectDenied(res, who, scope);
          }
        });

        it(`${who} tags list ${repo} → ${outcome(mode, who, pull, '200')}`, async () => {
          const scope = repoScope(repo, ['pull']);
          if (who === 'anonymous') await w.probeWithoutToken('GET', `/v2/${repo}/tags/list`, scope);
          const c = await w.as(who, [{ repo, actions: ['pull'] }]);
          const res = await c.get(`/v2/${repo}/tags/list`);
          if (pull) {
            expectStatus(res, 200);
            const body = json<{ name: string; tags: string[] }>(res);
            assert.equal(body.name, repo);
            assert.ok(body.tags.includes('v1'), `tags of ${repo}: ${show(res)}`);
          } else {
            w.expectDenied(res, who, scope);
          }
        });

        const push = may(who, repo, 'push');
        it(`${who} push ${repo} (POST upload, PUT blob, PUT manifest) → ${outcome(mode, who, push, '202/201/201')}`, async () => {
          const scope = repoScope(repo, ['pull', 'push']);
          const tag = unique(`by-${who}`);
          if (who === 'anonymous') await w.probeWithoutToken('POST', `/v2/${repo}/blobs/uploads/`, scope);
          const c = await w.as(who, [{ repo, actions: ['pull', 'push'] }]);
          if (push) {
            const img = await pushImage(c, repo, { tag });
            const check = await w.admin.get(`/v2/${repo}/manifests/${tag}`, { Accept: ACCEPT });
            expectStatus(check, 200);
            assert.deepEqual(check.body, img.bytes);
            return;
          }
          w.expectDenied(await c.post(`/v2/${repo}/blobs/uploads/`), who, scope);
          // Nor may it finish an upload someone else started.
          const started = await w.admin.post(`/v2/${repo}/blobs/uploads/`);
          expectStatus(started, 202);
          const data = randomData(64);
          const put = await c.put(withQuery(requireHeader(started, 'location'), { digest: digestOf(data) }), {
            headers: { 'Content-Type': 'application/octet-stream' },
            body: data,
          });
          w.expectDenied(put, who, scope);
          const seeded = w.image(repo);
          w.expectDenied(await c.put(`/v2/${repo}/manifests/${tag}`, { headers: { 'Content-Type': seeded.mediaType }, body: seeded.bytes }), who, scope);
          expectError(await w.admin.get(`/v2/${repo}/manifests/${tag}`, { Accept: ACCEPT }), 404, 'MANIFEST_UNKNOWN');
          expectError(await w.admin.get(`/v2/${repo}/blobs/${digestOf(data)}`), 404, 'BLOB_UNKNOWN');
        });

        const del = may(who, repo, 'delete');
        it(`${who} delete in ${repo} (DELETE manifest, DELETE blob) → ${outcome(mode, who, del, '202')}`, async () => {
          const scope = repoScope(repo, ['delete']);
          const victim = await pushImage(w.admin, repo, { tag: unique('victim') });
          const layer = victim.layers[0]!.digest;
          if (who === 'anonymous') await w.probeWithoutToken('DELETE', `/v2/${repo}/manifests/${victim.digest}`, scope);
          const c = await w.as(who, [{ repo, actions: ['delete'] }]);
          const delManifest = await c.delete(`/v2/${repo}/manifests/${victim.digest}`);
          if (del) {
            expectStatus(delManifest, 202);
            expectError(await w.admin.get(`/v2/${repo}/manifests/${victim.digest}`, { Accept: ACCEPT }), 404, 'MANIFEST_UNKNOWN');
            expectStatus(await c.delete(`/v2/${repo}/blobs/${layer}`), 202);
            expectError(await w.admin.get(`/v2/${repo}/blobs/${layer}`), 404, 'BLOB_UNKNOWN');
          } else {
            w.expectDenied(delManifest, who, scope);
            expectStatus(await w.admin.get(`/v2/${repo}/manifests/${victim.digest}`, { Accept: ACCEPT }), 200);
            w.expectDenied(await c.delete(`/v2/${repo}/blobs/${layer}`), who, scope);
            expectStatus(await w.admin.get(`/v2/${repo}/blobs/${layer}`), 200);
          }
        });

        for (const from of REPOS) {
          if (from === repo) continue;
          const canPush = may(who, repo, 'push');
          const canPullSource = may(who, from, 'pull');
          const expect = !canPush ? outcome(mode, who, false, '') : canPullSource ? '201 mounted' : '202 plain upload';
          it(`${who} mount into ${repo} from ${from} → ${expect}`, async () => {
            const scope = repoScope(repo, ['pull', 'push']);
            const blob = await pushRandomBlob(w.admin, from, 200);
            const path = `/v2/${repo}/blobs/uploads/?mount=${blob.digest}&from=${from}`;
            if (who === 'anonymous') await w.probeWithoutToken('POST', path, scope);
            const c = await w.as(who, [
              { repo, actions: ['pull', 'push'] },
              { repo: from, actions: ['pull'] },
            ]);
            const res = await c.post(path);
            const inTarget = await w.admin.head(`/v2/${repo}/blobs/${blob.digest}`);
            if (!canPush) {
              w.expectDenied(res, who, scope);
              expectStatus(inTarget, 404);
            } else if (canPullSource) {
              expectStatus(res, 201);
              assert.equal(res.headers.get('docker-content-digest'), blob.digest);
              requireHeader(res, 'location');
              expectStatus(inTarget, 200);
            } else {
              expectStatus(res, 202);
              requireHeader(res, 'location');
              requireHeader(res, 'docker-upload-uuid');
              expectStatus(inTarget, 404);
            }
          });
        }
      }

      it(`${who} catalog → 200 listing only ${JSON.stringify(catalogOf(who))}, also page by page`, async () => {
        await w.probeWithoutToken('GET', '/v2/_catalog', CATALOG_SCOPE);
        const c = await w.as(who, ['catalog']);
        const res = await c.get('/v2/_catalog');
        expectStatus(res, 200);
        assert.deepEqual(json<{ repositories: string[] }>(res).repositories, catalogOf(who), show(res));
        // One entry per page: neither the pages nor their Link headers may name a repository it may not pull.
        const seen: string[] = [];
        let next: string | null = '/v2/_catalog?n=1';
        for (let pages = 0; next !== null; pages++) {
          assert.ok(pages <= REPOS.length, 'catalog pagination does not end');
          const page = await c.get(next);
          expectStatus(page, 200);
          const repos = json<{ repositories: string[] }>(page).repositories;
          assert.ok(repos.length <= 1, `page larger than n=1: ${show(page)}`);
          seen.push(...repos);
          next = nextLink(page);
          if (next !== null) {
            const last = new URL(next).searchParams.get('last');
            assert.ok(last !== null && catalogOf(who).includes(last), `Link names ${JSON.stringify(last)}, which ${who} may not pull: ${show(page)}`);
          }
        }
        assert.deepEqual(seen, catalogOf(who));
      });
    }
  });
}

matrix('basic');
matrix('token');

// ---------------------------------------------------------------------------------------------------------------
// Credentials, challenges, the base endpoint, CORS

describe('basic mode: credentials and challenges', () => {
  let w: World;
  before(async () => {
    w = await startWorld('basic');
    await w.seed();
  });
  after(async () => {
    await w?.srv.close();
  });

  it('GET /v2/ without credentials → 401 UNAUTHORIZED with Basic realm and the API version header', async () => {
    const res = await w.anonymous.get('/v2/');
    expectBasicUnauthorized(res, REALM);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  it('GET /v2/ with each user’s password → 200 (writer’s hash is $2y$, as htpasswd -B writes)', async () => {
    for (const u of USERS) expectStatus(await new AuthClient(w.url, basicAuthorization(u, PASSWORDS[u])).get('/v2/'), 200);
  });

  it('wrong password, unknown user, malformed header → 401 with a Basic challenge, even where anonymous may pull', async () => {
    const bad = [
      basicAuthorization('reader', `${PASSWORDS.reader}x`),
      basicAuthorization('reader', ''),
      basicAuthorization('nobody', PASSWORDS.reader),
      basicAuthorization('READER', PASSWORDS.reader),
      'Basic !!!not-base64',
      `Basic ${Buffer.from('no-colon-here').toString('base64')}`,
    ];
    for (const authorization of bad) {
      const c = new AuthClient(w.url, authorization);
      expectBasicUnauthorized(await c.get('/v2/'), REALM);
      expectBasicUnauthorized(await c.get(`/v2/team-a/app/manifests/v1`, { Accept: ACCEPT }), REALM);
      // Wrong credentials are refused rather than downgraded to anonymous, so clients learn their password is wrong.
      expectBasicUnauthorized(await c.get(`/v2/public/base/manifests/v1`, { Accept: ACCEPT }), REALM);
    }
  });

  it('empty credentials (Basic Og==, as containers/image sends) are anonymous: public pull 200, /v2/ 401', async () => {
    const c = new AuthClient(w.url, 'Basic Og==');
    expectStatus(await c.get(`/v2/public/base/manifests/v1`, { Accept: ACCEPT }), 200);
    expectBasicUnauthorized(await c.get('/v2/'), REALM);
    expectBasicUnauthorized(await c.get(`/v2/team-a/app/manifests/v1`, { Accept: ACCEPT }), REALM);
  });

  it('a Bearer token sent to a basic-mode registry does not authenticate → 401 Basic challenge', async () => {
    expectBasicUnauthorized(await new AuthClient(w.url, 'Bearer abc.def.ghi').get('/v2/team-a/app/tags/list'), REALM);
  });

  it('no token endpoint in basic mode', async () => {
    const res = await new Client(w.url).get(`/auth/token?service=${SERVICE}`);
    assert.ok(res.status === 404, `expected 404 for /auth/token in basic mode: ${show(res)}`);
  });

  corsChecks(() => w);
});

describe('token mode: challenges, the token endpoint, forged tokens', () => {
  let w: World;
  before(async () => {
    w = await startWorld('token');
    await w.seed();
  });
  after(async () => {
    await w?.srv.close();
  });

  const bearer = (token: string) => new AuthClient(w.url, `Bearer ${token}`);

  it('GET /v2/ without a token → 401 with Bearer realm and service (no scope); with any valid token → 200', async () => {
    const res = await w.anonymous.get('/v2/');
    expectError(res, 401, 'UNAUTHORIZED');
    expectBearerChallenge(res, { realm: TOKEN_REALM, service: SERVICE, scope: null, error: null });
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    const empty = await fetchToken(w.url, { service: SERVICE, user: 'reader', password: PASSWORDS.reader });
    assert.deepEqual(accessOf(empty), []);
    expectStatus(await bearer(empty).get('/v2/'), 200);
  });

  it('Basic credentials sent straight to the registry → 401 with a Bearer challenge naming the scope', async () => {
    const c = new AuthClient(w.url, basicAuthorization('writer', PASSWORDS.writer));
    const res = await c.get('/v2/team-a/app/tags/list');
    expectError(res, 401, 'UNAUTHORIZED');
    expectBearerChallenge(res, { realm: TOKEN_REALM, service: SERVICE, scope: 'repository:team-a/app:pull', error: null });
  });

  it('token response and claims: JSON with token = access_token, expires_in, issued_at; ES256 JWT with iss, sub, aud, exp, nbf, iat, jti and exactly the granted access', async () => {
    const res = await tokenRequest(w.url, {
      service: SERVICE,
      user: 'writer',
      password: PASSWORDS.writer,
      scopes: [repoScope('team-a/app', ['pull', 'push', 'delete']), `${repoScope('team-b/svc', ['pull'])} ${CATALOG_SCOPE}`],
    });
    expectStatus(res, 200);
    assert.match(res.headers.get('cache-control') ?? '', /no-store/, 'tokens must not be cached');
    const body = tokenBody(res);
    assert.equal(typeof body.token, 'string');
    assert.equal(body.access_token, body.token);
    assert.equal(typeof body.expires_in, 'number');
    const expiresIn = body.expires_in as number;
    assert.ok(expiresIn >= 60 && expiresIn <= 300, `short-lived: expires_in ${expiresIn}`);
    assert.equal(typeof body.issued_at, 'string');
    const issuedAt = Date.parse(body.issued_at as string);
    assert.ok(Math.abs(issuedAt - Date.now()) < 60_000, `issued_at ${String(body.issued_at)}`);
    const { header, payload } = decodeJwt(body.token as string);
    assert.equal(header.alg, 'ES256');
    assert.equal(typeof header.kid, 'string');
    assert.equal(payload.iss, ISSUER);
    assert.equal(payload.sub, 'writer');
    assert.ok(payload.aud === SERVICE || (Array.isArray(payload.aud) && payload.aud.includes(SERVICE)), `aud ${JSON.stringify(payload.aud)}`);
    assert.equal(typeof payload.jti, 'string');
    const iat = payload.iat as number;
    assert.equal(payload.exp, iat + expiresIn);
    assert.ok((payload.nbf as number) <= iat);
    assert.deepEqual(accessOf(body.token as string), [
      { type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] },
      { type: 'registry', name: 'catalog', actions: ['*'] },
    ]);
  });

  it('scope actions "*" grant whatever the policy allows (deleter: pull and delete)', async () => {
    const token = await fetchToken(w.url, { service: SERVICE, user: 'deleter', password: PASSWORDS.deleter, scopes: ['repository:team-a/app:*'] });
    assert.deepEqual(accessOf(token), [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'delete'] }]);
  });

  it('anonymous token: empty subject, only what anonymous may do', async () => {
    const token = await fetchToken(w.url, { service: SERVICE, scopes: [repoScope('public/base', ['pull', 'push']), repoScope('team-a/app', ['pull'])] });
    assert.equal(decodeJwt(token).payload.sub, '');
    assert.deepEqual(accessOf(token), [{ type: 'repository', name: 'public/base', actions: ['pull'] }]);
    expectStatus(await bearer(token).get('/v2/public/base/manifests/v1', { Accept: ACCEPT }), 200);
  });

  it('token endpoint: wrong password or unknown user → 401 UNAUTHORIZED with a Basic challenge and OAuth2 error', async () => {
    for (const [user, password] of [
      ['writer', `${PASSWORDS.writer}!`],
      ['ghost', PASSWORDS.writer],
    ] as const) {
      const res = await tokenRequest(w.url, { service: SERVICE, user, password, scopes: [repoScope('team-a/app', ['pull'])] });
      expectError(res, 401, 'UNAUTHORIZED');
      expectBasicChallenge(res, REALM);
      assert.equal(tokenBody(res).error, 'invalid_grant');
    }
  });

  it('token endpoint: another service → 400; account must match the credentials', async () => {
    expectStatus(await tokenRequest(w.url, { service: 'someone-else', user: 'writer', password: PASSWORDS.writer }), 400);
    expectStatus(await tokenRequest(w.url, { service: SERVICE, account: 'admin', user: 'writer', password: PASSWORDS.writer }), 400);
    expectStatus(await tokenRequest(w.url, { service: SERVICE, account: 'writer', user: 'writer', password: PASSWORDS.writer }), 200);
  });

  it('OAuth2 POST form (grant_type=password) → access_token that pushes; access_type=offline adds a refresh token that works once more', async () => {
    const res = await oauthRequest(w.url, {
      grant_type: 'password',
      username: 'writer',
      password: PASSWORDS.writer,
      service: SERVICE,
      client_id: 'wharf-matrix-test',
      access_type: 'offline',
      scope: repoScope('team-a/app', ['pull', 'push']),
    });
    expectStatus(res, 200);
    const body = tokenBody(res);
    assert.equal(typeof body.access_token, 'string', show(res));
    assert.equal(body.scope, 'repository:team-a/app:pull,push');
    assert.equal(typeof body.expires_in, 'number');
    assert.deepEqual(accessOf(body.access_token as string), [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }]);
    const tag = unique('oauth');
    await pushImage(bearer(body.access_token as string), 'team-a/app', { tag });
    expectStatus(await w.admin.get(`/v2/team-a/app/manifests/${tag}`, { Accept: ACCEPT }), 200);

    assert.equal(typeof body.refresh_token, 'string', `no refresh_token with access_type=offline: ${show(res)}`);
    const refresh = body.refresh_token as string;
    // A refresh token is not an access token.
    const asBearer = await bearer(refresh).get('/v2/team-a/app/tags/list');
    expectError(asBearer, 401, 'UNAUTHORIZED');
    expectBearerChallenge(asBearer, { realm: TOKEN_REALM, service: SERVICE, scope: 'repository:team-a/app:pull', error: 'invalid_token' });
    const again = await oauthRequest(w.url, { grant_type: 'refresh_token', refresh_token: refresh, service: SERVICE, scope: repoScope('team-a/app', ['pull']) });
    expectStatus(again, 200);
    const fresh = tokenBody(again).access_token;
    assert.equal(typeof fresh, 'string');
    expectStatus(await bearer(fresh as string).get(`/v2/team-a/app/manifests/${tag}`, { Accept: ACCEPT }), 200);
  });

  it('OAuth2 POST form: wrong password → 401 invalid_grant; unknown grant_type, missing fields, non-form body → 400', async () => {
    const wrong = await oauthRequest(w.url, { grant_type: 'password', username: 'writer', password: 'nope', service: SERVICE });
    expectError(wrong, 401, 'UNAUTHORIZED');
    assert.equal(tokenBody(wrong).error, 'invalid_grant');
    const grant = await oauthRequest(w.url, { grant_type: 'client_credentials', service: SERVICE });
    expectStatus(grant, 400);
    assert.equal(tokenBody(grant).error, 'unsupported_grant_type');
    expectStatus(await oauthRequest(w.url, { grant_type: 'password', username: 'writer', service: SERVICE }), 400);
    const notForm = await new Client(w.url).post('/auth/token', { headers: { 'Content-Type': 'application/json' }, body: '{"grant_type":"password"}' });
    expectStatus(notForm, 400);
  });

  it('a token narrower than what the policy allows → 401 insufficient_scope naming what to ask for', async () => {
    const token = await fetchToken(w.url, { service: SERVICE, user: 'admin', password: PASSWORDS.admin, scopes: [repoScope('team-a/app', ['pull'])] });
    const res = await bearer(token).get('/v2/team-b/svc/manifests/v1', { Accept: ACCEPT });
    expectError(res, 401, 'DENIED');
    expectBearerChallenge(res, { realm: TOKEN_REALM, service: SERVICE, scope: 'repository:team-b/svc:pull', error: 'insufficient_scope' });
    // nor a push where it was granted pull only
    const push = await bearer(token).post('/v2/team-a/app/blobs/uploads/');
    expectError(push, 401, 'DENIED');
    expectBearerChallenge(push, { realm: TOKEN_REALM, service: SERVICE, scope: 'repository:team-a/app:pull,push', error: 'insufficient_scope' });
  });

  it('tampered, forged, unsigned and truncated tokens → 401 UNAUTHORIZED with error="invalid_token"', async () => {
    const real = await fetchToken(w.url, { service: SERVICE, user: 'reader', password: PASSWORDS.reader, scopes: [repoScope('team-a/app', ['pull'])] });
    expectStatus(await bearer(real).get('/v2/team-a/app/manifests/v1', { Accept: ACCEPT }), 200);
    const escalated = tamperPayload(real, (p) => {
      p.access = [{ type: 'repository', name: 'secret/vault', actions: ['pull', 'push', 'delete'] }];
    });
    const impersonated = tamperPayload(real, (p) => {
      p.sub = 'admin';
    });
    const extended = tamperPayload(real, (p) => {
      p.exp = (p.exp as number) + 86_400;
    });
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const forged = await new SignJWT({ access: [{ type: 'repository', name: 'secret/vault', actions: ['pull', 'push', 'delete'] }] })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: decodeJwt(real).header.kid as string })
      .setIssuer(ISSUER)
      .setSubject('admin')
      .setAudience(SERVICE)
      .setIssuedAt()
      .setNotBefore('0s')
      .setExpirationTime('5m')
      .sign(privateKey);
    const [, payload] = forged.split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    const truncated = real.slice(0, real.length - 10);
    for (const [what, token] of Object.entries({ escalated, impersonated, extended, forged, unsigned, truncated })) {
      const c = bearer(token);
      for (const [path, scope] of [
        ['/v2/secret/vault/manifests/v1', 'repository:secret/vault:pull'],
        ['/v2/team-a/app/manifests/v1', 'repository:team-a/app:pull'],
      ] as const) {
        const res = await c.get(path, { Accept: ACCEPT });
        assert.equal(res.status, 401, `${what} token: ${show(res)}`);
        expectError(res, 401, 'UNAUTHORIZED');
        expectBearerChallenge(res, { realm: TOKEN_REALM, service: SERVICE, scope, error: 'invalid_token' });
      }
      const del = await c.delete(`/v2/secret/vault/manifests/${w.image('secret/vault').digest}`);
      expectError(del, 401, 'UNAUTHORIZED');
    }
    expectStatus(await w.admin.get('/v2/secret/vault/manifests/v1', { Accept: ACCEPT }), 200);
  });

  corsChecks(() => w);
});

function corsChecks(world: () => World): void {
  it('CORS: preflights from an allowed origin → 204 without credentials, before authentication', async () => {
    const w = world();
    const paths: [string, string][] = [
      ['/v2/', 'GET'],
      ['/v2/_catalog', 'GET'],
      ['/v2/team-a/app/manifests/v1', 'GET'],
      ['/v2/secret/vault/manifests/v1', 'DELETE'],
      ['/v2/team-a/app/blobs/uploads/', 'POST'],
    ];
    if (w.mode === 'token') paths.push(['/auth/token', 'POST']);
    for (const [path, method] of paths) {
      const res = await w.anonymous.req('OPTIONS', path, {
        headers: { Origin: ORIGIN, 'Access-Control-Request-Method': method, 'Access-Control-Request-Headers': 'authorization, content-type' },
      });
      assert.equal(res.status, 204, `preflight ${method} ${path}: ${show(res)}`);
      assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN, show(res));
      assert.ok((res.headers.get('access-control-allow-methods') ?? '').split(/\s*,\s*/).includes(method), show(res));
      assert.match(res.headers.get('access-control-allow-headers') ?? '', /\bauthorization\b/i, show(res));
      assert.equal(res.headers.get('www-authenticate'), null, `a preflight is not challenged: ${show(res)}`);
      assert.equal(res.body.length, 0);
    }
  });

  it('CORS: a preflight from another origin is refused with 403, not a challenge', async () => {
    const res = await world().anonymous.req('OPTIONS', '/v2/team-a/app/manifests/v1', {
      headers: { Origin: 'https://evil.example.net', 'Access-Control-Request-Method': 'GET' },
    });
    assert.equal(res.status, 403, show(res));
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('www-authenticate'), null);
  });

  it('CORS: the real cross-origin request is authenticated: 401 readable by the page (WWW-Authenticate exposed), 200 with credentials', async () => {
    const w = world();
    const res = await w.anonymous.get('/v2/team-a/app/tags/list', { Origin: ORIGIN });
    expectError(res, 401, 'UNAUTHORIZED');
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN, show(res));
    assert.match(res.headers.get('access-control-expose-headers') ?? '', /\bWWW-Authenticate\b/i, show(res));
    const c = await w.as('reader', [{ repo: 'team-a/app', actions: ['pull'] }]);
    const ok = await c.get('/v2/team-a/app/tags/list', { Origin: ORIGIN });
    expectStatus(ok, 200);
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Lockout

const LOCKOUT: Lockout = { maxFailures: 3, maxAddressFailures: 5, window: '2m', duration: '10m', trustedProxies: ['127.0.0.1'] };
const WINDOW_MS = 2 * 60_000;
const DURATION_S = 600;

function lockoutSuite(mode: Mode): void {
  describe(`${mode} mode: lockout after ${LOCKOUT.maxFailures} failed logins per user and address, ${LOCKOUT.maxAddressFailures} per address (window ${LOCKOUT.window}, duration ${LOCKOUT.duration})`, () => {
    let w: World;
    const clock = manualClock(Date.now());
    before(async () => {
      w = await startWorld(mode, { lockout: LOCKOUT, now: clock.now });
    });
    after(async () => {
      await w?.srv.close();
    });

    /** One login attempt as `user` from `address` (X-Forwarded-For from 127.0.0.1, a trusted proxy here). */
    const attempt = (user: string, password: string, address: string): Promise<Res> => {
      if (mode === 'basic') {
        return new Client(w.url).get('/v2/', { Authorization: basicAuthorization(user, password), 'X-Forwarded-For': address });
      }
      return tokenRequest(w.url, { service: SERVICE, user, password, scopes: [repoScope('team-a/app', ['pull'])], headers: { 'X-Forwarded-For': address } });
    };
    const refused = (res: Res) => {
      expectError(res, 401, 'UNAUTHORIZED');
      expectBasicChallenge(res, REALM);
    };

    it('failures below the threshold do not lock; a success resets the count of that user at that address', async () => {
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) refused(await attempt('outsider', 'wrong', '10.1.0.1'));
        expectStatus(await attempt('outsider', PASSWORDS.outsider, '10.1.0.1'), 200);
      }
    });

    it('failures older than the window are forgotten: 2, the window passes (injected clock), 2 more → each 401, and the right password → 200', async () => {
      for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) refused(await attempt('deleter', 'wrong', '10.4.0.1'));
      clock.advance(WINDOW_MS + 1);
      // Counting the old ones, the first of these would reach maxFailures and the next attempts would get 429.
      for (let i = 0; i < LOCKOUT.maxFailures - 1; i++) refused(await attempt('deleter', 'wrong', '10.4.0.1'));
      expectStatus(await attempt('deleter', PASSWORDS.deleter, '10.4.0.1'), 200);
    });

    it('per user and address: failures lock that pair (429 TOOMANYREQUESTS, Retry-After), even with the right password; the user elsewhere and others there are unaffected; it ends after the duration', async () => {
      for (let i = 0; i < LOCKOUT.maxFailures; i++) refused(await attempt('reader', `wrong-${i}`, '10.2.0.1'));
      expectLockedOut(await attempt('reader', PASSWORDS.reader, '10.2.0.1'), DURATION_S - 1, DURATION_S);
      if (mode === 'token') {
        // The OAuth2 form is the same login.
        const form = await oauthRequest(w.url, { grant_type: 'password', username: 'reader', password: PASSWORDS.reader, service: SERVICE }, { 'X-Forwarded-For': '10.2.0.1' });
        expectLockedOut(form, DURATION_S - 1, DURATION_S);
      }
      expectStatus(await attempt('reader', PASSWORDS.reader, '10.2.0.2'), 200);
      expectStatus(await attempt('writer', PASSWORDS.writer, '10.2.0.1'), 200);
      clock.advance(DURATION_S * 1000);
      expectStatus(await attempt('reader', PASSWORDS.reader, '10.2.0.1'), 200);
    });

    it('per address: failures for different users from one address lock the address; other addresses unaffected', async () => {
      const address = '10.3.3.3';
      for (let i = 0; i < LOCKOUT.maxAddressFailures; i++) refused(await attempt(`ghost${i}`, 'whatever', address));
      expectLockedOut(await attempt('writer', PASSWORDS.writer, address), DURATION_S - 1, DURATION_S);
      expectLockedOut(await attempt('admin', PASSWORDS.admin, address), DURATION_S - 1, DURATION_S);
      expectStatus(await attempt('writer', PASSWORDS.writer, '10.3.3.4'), 200);
      if (mode === 'basic') {
        // A locked-out login on a registry request is the same 429, not a pull.
        const pull = await new Client(w.url).get('/v2/team-a/app/tags/list', {
          Authorization: basicAuthorization('reader', PASSWORDS.reader),
          'X-Forwarded-For': address,
        });
        expectLockedOut(pull, DURATION_S - 1, DURATION_S);
      }
    });
  });
}

lockoutSuite('basic');
lockoutSuite('token');
