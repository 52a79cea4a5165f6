import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from 'jose';
import { loadOrCreateSigningKey, ownIssuer, signingKeyFile, TokenError, TokenIssuer, TokenVerifier, type SigningKey } from '../../../src/auth/tokens.js';
import { captureLog, manualClock, silentLog, withTempDir } from './support.js';

const access = [{ type: 'repository', name: 'team-a/app', actions: ['pull', 'push'] }];

async function setup(dir: string, clock = manualClock()) {
  const key = await loadOrCreateSigningKey(join(dir, 'auth'), silentLog);
  const issuer = new TokenIssuer(key, { issuer: 'wharf-test', service: 'registry.test', ttl: 5 * 60_000, refreshTtl: 86_400_000, now: clock.now });
  const verifier = new TokenVerifier([ownIssuer(key, 'wharf-test', 'registry.test')], { now: clock.now });
  return { key, issuer, verifier, clock };
}

test('the signing key is created once, mode 0600 in a 0700 directory, and reused', async () => {
  await withTempDir(async (dir) => {
    const captured = captureLog();
    const keyDir = join(dir, 'auth');
    const first = await loadOrCreateSigningKey(keyDir, captured.log);
    const st = await stat(join(keyDir, signingKeyFile));
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal((await stat(keyDir)).mode & 0o777, 0o700);
    assert.match(await readFile(join(keyDir, signingKeyFile), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
    const again = await loadOrCreateSigningKey(keyDir, captured.log);
    assert.equal(again.kid, first.kid);
    assert.match(first.kid, /^[A-Za-z0-9_-]{43}$/, 'an RFC 7638 thumbprint');
    assert.equal(captured.lines().filter((l) => l.msg === 'token signing key created').length, 1);
  });
});

test('processes starting at once agree on one key', async () => {
  await withTempDir(async (dir) => {
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSigningKey(join(dir, 'auth'), silentLog)));
    assert.equal(new Set(keys.map((k) => k.kid)).size, 1);
  });
});

test('a key file that is not an EC P-256 key is refused', async () => {
  await withTempDir(async (dir) => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await writeFile(join(dir, signingKeyFile), privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
    await assert.rejects(loadOrCreateSigningKey(dir, silentLog), /EC P-256/);
  });
});

test('issue and verify round trip: header and every claim the specification names', async () => {
  await withTempDir(async (dir) => {
    const { key, issuer, verifier, clock } = await setup(dir);
    const issued = await issuer.issue('alice', access);
    assert.equal(issued.expiresIn, 300);
    assert.equal(issued.issuedAt, new Date(clock.now()).toISOString().replace('.000Z', 'Z'));
    const header = decodeProtectedHeader(issued.token);
    assert.deepEqual(header, { alg: 'ES256', typ: 'JWT', kid: key.kid });
    const claims = decodeJwt(issued.token);
    const now = clock.now() / 1000;
    assert.equal(claims.iss, 'wharf-test');
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.aud, 'registry.test');
    assert.equal(claims.iat, now);
    assert.equal(claims.nbf, now);
    assert.equal(claims.exp, now + 300);
    assert.match(String(claims.jti), /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(claims.access, access);
    const verified = await verifier.verify(issued.token);
    assert.deepEqual(verified, { issuer: 'wharf-test', subject: 'alice', access, expires: (now + 300) * 1000 });
    const other = await issuer.issue('alice', access);
    assert.notEqual(decodeJwt(other.token).jti, claims.jti, 'a fresh jti per token');
    const anonymous = await verifier.verify((await issuer.issue(null, [])).token);
    assert.equal(anonymous.subject, null);
    assert.deepEqual(anonymous.access, []);
  });
});

function tamper(token: string, edit: (claims: Record<string, unknown>) => void): string {
  const [h, p, s] = token.split('.') as [string, string, string];
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  edit(claims);
  return `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
}

async function refused(verifier: TokenVerifier, token: string, why: string): Promise<void> {
  await assert.rejects(verifier.verify(token), TokenError, why);
}

test('tampered, foreign-key, unsigned, wrong-audience and wrong-issuer tokens are refused', async () => {
  await withTempDir(async (dir) => {
    const { issuer, verifier, clock } = await setup(dir);
    const good = (await issuer.issue('alice', access)).token;
    await refused(verifier, tamper(good, (c) => (c.access = [{ type: 'repository', name: 'team-b/app', actions: ['push'] }])), 'widened access');
    await refused(verifier, tamper(good, (c) => (c.sub = 'root')), 'other subject');
    const [h, p, s] = good.split('.') as [string, string, string];
    await refused(verifier, `${h}.${p}.${s.slice(0, -4)}AAAA`, 'bad signature');
    await refused(verifier, 'not-a-jwt', 'garbage');

    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const forged = await new SignJWT({ access })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT' })
      .setIssuer('wharf-test')
      .setAudience('registry.test')
      .setSubject('alice')
      .setIssuedAt(clock.now() / 1000)
      .setExpirationTime(clock.now() / 1000 + 300)
      .sign(privateKey);
    await refused(verifier, forged, 'signed by another key');
    const unsigned = new UnsecuredJWT({ access }).setIssuer('wharf-test').setAudience('registry.test').setExpirationTime(clock.now() / 1000 + 300).encode();
    await refused(verifier, unsigned, 'alg none');

    const otherKey: SigningKey = await loadOrCreateSigningKey(join(dir, 'other'), silentLog);
    const wrongAud = new TokenIssuer(otherKey, { issuer: 'wharf-test', service: 'elsewhere', ttl: 300_000, refreshTtl: 0, now: clock.now });
    const trustsOther = new TokenVerifier([ownIssuer(otherKey, 'wharf-test', 'registry.test')], { now: clock.now });
    await refused(trustsOther, (await wrongAud.issue('alice', access)).token, 'audience of another service');
    const wrongIss = new TokenIssuer(otherKey, { issuer: 'someone-else', service: 'registry.test', ttl: 300_000, refreshTtl: 0, now: clock.now });
    await refused(trustsOther, (await wrongIss.issue('alice', access)).token, 'untrusted issuer');
  });
});

test('expiry and not-before, with 30 s of clock skew tolerated; the verification cache does not outlive expiry', async () => {
  await withTempDir(async (dir) => {
    const { issuer, verifier, clock } = await setup(dir);
    const token = (await issuer.issue('alice', access)).token;
    const issuedAt = clock.now();
    // A registry clock 20 s behind the issuer's still accepts it (nbf), 60 s behind does not.
    clock.set(issuedAt - 20_000);
    assert.equal((await verifier.verify(token)).subject, 'alice');
    const fresh = new TokenVerifier([ownIssuer((await setup(dir)).key, 'wharf-test', 'registry.test')], { now: clock.now });
    clock.set(issuedAt - 60_000);
    await refused(fresh, token, 'not yet valid');
    clock.set(issuedAt + 300_000 + 29_000);
    assert.equal((await verifier.verify(token)).subject, 'alice', 'within the skew after exp');
    clock.set(issuedAt + 300_000 + 31_000);
    await refused(verifier, token, 'expired, although verified (and cached) before');
    await refused(fresh, token, 'expired');
  });
});

test('refresh tokens are not access tokens, and access tokens are not refresh tokens', async () => {
  await withTempDir(async (dir) => {
    const { issuer, verifier } = await setup(dir);
    const refresh = await issuer.issueRefresh('alice', 'binding');
    assert.equal(decodeProtectedHeader(refresh).typ, 'wharf-refresh+jwt');
    await refused(verifier, refresh, 'refresh token presented to the registry');
    assert.deepEqual(await issuer.verifyRefresh(refresh), { subject: 'alice', binding: 'binding' });
    const accessToken = (await issuer.issue('alice', access)).token;
    await assert.rejects(issuer.verifyRefresh(accessToken), TokenError);
  });
});

test('with the default names (issuer = service = wharf) a refresh token is still no access token', async () => {
  await withTempDir(async (dir) => {
    const key = await loadOrCreateSigningKey(dir, silentLog);
    const issuer = new TokenIssuer(key, { issuer: 'wharf', service: 'wharf', ttl: 300_000, refreshTtl: 86_400_000 });
    const verifier = new TokenVerifier([ownIssuer(key, 'wharf', 'wharf')]);
    assert.equal((await verifier.verify((await issuer.issue('alice', access)).token)).subject, 'alice');
    await refused(verifier, await issuer.issueRefresh('alice', 'b'), 'only the typ header tells them apart');
    const otherService = new TokenIssuer(key, { issuer: 'wharf', service: 'other', ttl: 300_000, refreshTtl: 86_400_000 });
    await assert.rejects(issuer.verifyRefresh(await otherService.issueRefresh('alice', 'b')), TokenError, 'a refresh token is for one service');
  });
});

test('malformed access claims make the token invalid', async () => {
  await withTempDir(async (dir) => {
    const { key, verifier, clock } = await setup(dir);
    const sign = (claims: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: key.kid })
        .setIssuer('wharf-test')
        .setAudience('registry.test')
        .setSubject('alice')
        .setExpirationTime(clock.now() / 1000 + 60)
        .sign(key.privateKey);
    await refused(verifier, await sign({ access: 'everything' }), 'access not a list');
    await refused(verifier, await sign({ access: [{ type: 'repository', name: 'a', actions: 'pull' }] }), 'actions not a list');
    const classed = await verifier.verify(await sign({ access: [{ type: 'repository(plugin)', name: 'a', actions: ['pull'] }] }));
    assert.deepEqual(classed.access, [{ type: 'repository', name: 'a', actions: ['pull'] }]);
  });
});
