// Tokens from an external issuer: keys from a JWKS served by a tiny HTTP server on 127.0.0.1, or from a PEM file.
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { calculateJwkThumbprint, SignJWT, type JWK } from 'jose';
import { createAccessController } from '../../../src/auth/controller.js';
import { certificateIssuer, loadPublicKeys, TokenError, TokenVerifier } from '../../../src/auth/tokens.js';
import { RegistryError } from '../../../src/api/errors.js';
import { authConfig, bearer, externalCertPem, externalKeyPem, fakeRequest, htpasswdText, silentLog, withTempDir } from './support.js';

const access = [{ type: 'repository', name: 'team-x/app', actions: ['pull', 'push'] }];

interface Signed {
  alg: 'RS256' | 'ES256';
  key: KeyObject;
  kid?: string;
  iss?: string;
  aud?: string;
  expiresIn?: number;
}

function sign({ alg, key, kid, iss = 'https://auth.example', aud = 'registry.test', expiresIn = 300 }: Signed): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ access })
    .setProtectedHeader({ alg, typ: 'JWT', ...(kid ? { kid } : {}) })
    .setIssuer(iss)
    .setAudience(aud)
    .setSubject('xavier')
    .setIssuedAt(now)
    .setNotBefore(now)
    .setExpirationTime(now + expiresIn)
    .sign(key);
}

async function withJwksServer(jwks: () => { keys: JWK[] }, fn: (url: string, hits: () => number) => Promise<void>): Promise<void> {
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    const body = JSON.stringify(jwks());
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn(`http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`, () => hits);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

async function publicJwk(key: KeyObject, alg: string): Promise<JWK> {
  const jwk = createPublicKey(key).export({ format: 'jwk' }) as JWK;
  return { ...jwk, alg, use: 'sig', kid: await calculateJwkThumbprint(jwk) };
}

test('JWKS URL: tokens of the external issuer are accepted; other keys, audiences and issuers are not', async () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const jwk = await publicJwk(rsa, 'RS256');
  await withJwksServer(
    () => ({ keys: [jwk] }),
    async (jwksUrl, hits) => {
      await withTempDir(async (dir) => {
        const service = await createAccessController(
          authConfig({
            mode: 'token',
            token: { realm: 'https://auth.example/token', service: 'registry.test', issue: false, external: { issuer: 'https://auth.example', jwksUrl } },
            rules: [{ users: ['xavier'], repositories: ['team-x/**'], actions: ['pull'] }],
          }),
          { log: silentLog, dataDir: dir },
        );
        try {
          assert.equal(service.tokenHandler, undefined, 'no own endpoint with token.issue false');
          const good = await sign({ alg: 'RS256', key: rsa, kid: jwk.kid! });
          const p = await service.access.authorize(fakeRequest(bearer(good)), { repository: 'team-x/app', action: 'push' });
          assert.equal(p.name, 'xavier');
          assert.equal(hits(), 1, 'the JWKS was fetched');
          assert.equal(service.access.allowed(p, 'team-x/app', 'push'), true, 'granted by the token');
          assert.equal(service.access.allowed(p, 'team-x/other', 'pull'), true, 'granted by a local rule naming the subject');
          assert.equal(service.access.allowed(p, 'team-y/app', 'pull'), false);

          const refusedWith = async (token: string, why: string) =>
            assert.rejects(
              service.access.authorize(fakeRequest(bearer(token)), { repository: 'team-x/app', action: 'pull' }),
              (e: unknown) => e instanceof RegistryError && e.status === 401 && /invalid_token/.test(e.headers['WWW-Authenticate']!),
              why,
            );
          await refusedWith(await sign({ alg: 'RS256', key: stranger, kid: jwk.kid! }), 'signed by a key not in the JWKS');
          await refusedWith(await sign({ alg: 'RS256', key: rsa, kid: jwk.kid!, aud: 'another-registry' }), 'wrong audience');
          await refusedWith(await sign({ alg: 'RS256', key: rsa, kid: jwk.kid!, iss: 'https://evil.example' }), 'wrong issuer');
          await refusedWith(await sign({ alg: 'RS256', key: rsa, kid: jwk.kid!, expiresIn: -120 }), 'expired');
        } finally {
          await service.close();
        }
      });
    },
  );
});

test('PEM certificate file: tokens signed with the certificate’s key are accepted', async () => {
  await withTempDir(async (dir) => {
    const certFile = join(dir, 'issuer.crt');
    await writeFile(certFile, externalCertPem);
    const trusted = await certificateIssuer('https://auth.example', 'registry.test', certFile);
    const verifier = new TokenVerifier([trusted]);
    const key = createPrivateKey(externalKeyPem);
    const verified = await verifier.verify(await sign({ alg: 'ES256', key }));
    assert.equal(verified.subject, 'xavier');
    assert.deepEqual(verified.access, access);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    await assert.rejects(verifier.verify(await sign({ alg: 'ES256', key: other })), TokenError);
    await assert.rejects(verifier.verify(await sign({ alg: 'ES256', key, aud: 'elsewhere' })), TokenError);
  });
});

test('PEM bundle with a public key and a certificate: each key is tried; a private key in the file is refused', async () => {
  await withTempDir(async (dir) => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const bundle = join(dir, 'bundle.pem');
    await writeFile(bundle, `${createPublicKey(rsa).export({ format: 'pem', type: 'spki' }) as string}${externalCertPem}`);
    assert.equal((await loadPublicKeys(bundle)).length, 2);
    const verifier = new TokenVerifier([await certificateIssuer('https://auth.example', 'registry.test', bundle)]);
    assert.equal((await verifier.verify(await sign({ alg: 'RS256', key: rsa }))).subject, 'xavier');
    assert.equal((await verifier.verify(await sign({ alg: 'ES256', key: createPrivateKey(externalKeyPem) }))).subject, 'xavier');
    const withPrivate = join(dir, 'private.pem');
    await writeFile(withPrivate, externalKeyPem);
    await assert.rejects(loadPublicKeys(withPrivate), /private key/);
    await writeFile(withPrivate, 'nothing here\n');
    await assert.rejects(loadPublicKeys(withPrivate), /no PEM/);
  });
});

test('own and external issuers side by side: each token is checked against its own issuer’s keys', async () => {
  await withTempDir(async (dir) => {
    const certFile = join(dir, 'issuer.crt');
    await writeFile(certFile, externalCertPem);
    const htpasswd = join(dir, 'htpasswd');
    await writeFile(htpasswd, htpasswdText('alice'));
    const service = await createAccessController(
      authConfig({
        mode: 'token',
        htpasswd: { path: htpasswd },
        token: { realm: 'https://registry.test/auth/token', service: 'registry.test', issuer: 'wharf', external: { issuer: 'https://auth.example', certificate: certFile } },
      }),
      { log: silentLog, dataDir: dir, htpasswdPollInterval: 0 },
    );
    try {
      assert.ok(service.tokenHandler);
      const external = await sign({ alg: 'ES256', key: createPrivateKey(externalKeyPem) });
      assert.equal((await service.access.authorize(fakeRequest(bearer(external)), { repository: 'team-x/app', action: 'pull' })).name, 'xavier');
      // The external key cannot mint tokens in Wharf's name.
      const impostor = await sign({ alg: 'ES256', key: createPrivateKey(externalKeyPem), iss: 'wharf' });
      await assert.rejects(service.access.authorize(fakeRequest(bearer(impostor)), { repository: 'team-x/app', action: 'pull' }), RegistryError);
    } finally {
      await service.close();
    }
  });
});
