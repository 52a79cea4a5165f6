// Bearer tokens of the Docker token specification: short-lived JWTs with iss, sub, aud (the service), exp, nbf,
// iat, jti and `access` (the granted resource actions). Wharf signs its own with an ES256 key kept in keyDir, and
// can also trust an external issuer (JWKS URL, or PEM certificates/public keys).
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, createRemoteJWKSet, decodeJwt, jwtVerify, SignJWT, type JWK, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { Logger } from 'pino';
import type { ResourceAccess } from './types.js';

export class TokenError extends Error {}

export const signingKeyFile = 'token-signing-key.pem';
const refreshTyp = 'wharf-refresh+jwt';

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** RFC 7638 thumbprint of the public key; the `kid` header of every token. */
  readonly kid: string;
}

async function keyId(publicKey: KeyObject): Promise<string> {
  return calculateJwkThumbprint(publicKey.export({ format: 'jwk' }) as JWK);
}

async function fromPem(pem: string, file: string): Promise<SigningKey> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch (err) {
    throw new Error(`token signing key ${file} is not a PEM private key: ${(err as Error).message}`);
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`token signing key ${file} must be an EC P-256 key (ES256)`);
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, kid: await keyId(publicKey) };
}

/**
 * The ES256 signing key in `dir`: read if present, else generated and written with mode 0600. Creation is atomic and
 * never overwrites (temp file, then link), so two processes starting at once agree on one key.
 */
export async function loadOrCreateSigningKey(dir: string, log: Logger): Promise<SigningKey> {
  const file = join(dir, signingKeyFile);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    const pem = await readFile(file, 'utf8');
    const st = await stat(file);
    if ((st.mode & 0o077) !== 0) log.warn({ file, mode: (st.mode & 0o777).toString(8) }, 'token signing key is readable by other users; chmod 600 it');
    return await fromPem(pem, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const tmp = join(dir, `.${signingKeyFile}.${process.pid}.${randomBytes(6).toString('hex')}`);
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(pem);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await link(tmp, file);
    log.info({ file }, 'token signing key created');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return fromPem(await readFile(file, 'utf8'), file);
}

export interface IssuerOptions {
  readonly issuer: string;
  readonly service: string;
  /** ms */
  readonly ttl: number;
  /** ms; 0: no refresh tokens */
  readonly refreshTtl: number;
  readonly now?: () => number;
}

export interface IssuedToken {
  readonly token: string;
  /** seconds */
  readonly expiresIn: number;
  /** RFC 3339 */
  readonly issuedAt: string;
}

export class TokenIssuer {
  private readonly now: () => number;

  constructor(
    private readonly key: SigningKey,
    readonly options: IssuerOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  get kid(): string {
    return this.key.kid;
  }

  /** An access token for `subject` (null: anonymous) carrying exactly `access`. */
  async issue(subject: string | null, access: readonly ResourceAccess[]): Promise<IssuedToken> {
    const nowMs = this.now();
    const iat = Math.floor(nowMs / 1000);
    const expiresIn = Math.floor(this.options.ttl / 1000);
    const token = await new SignJWT({ access: access.map((a) => ({ type: a.type, name: a.name, actions: [...a.actions] })) })
      .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: this.key.kid })
      .setIssuer(this.options.issuer)
      .setSubject(subject ?? '')
      .setAudience(this.options.service)
      .setIssuedAt(iat)
      .setNotBefore(iat)
      .setExpirationTime(iat + expiresIn)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(this.key.privateKey);
    return { token, expiresIn, issuedAt: new Date(iat * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') };
  }

  /**
   * A refresh token for `subject`: only the token endpoint accepts it (its own `typ`), it names the service it was
   * issued for, and `binding` ties it to the user's current password hash, so changing the password revokes it.
   */
  async issueRefresh(subject: string, binding: string): Promise<string> {
    const iat = Math.floor(this.now() / 1000);
    return new SignJWT({ svc: this.options.service, bnd: binding })
      .setProtectedHeader({ alg: 'ES256', typ: refreshTyp, kid: this.key.kid })
      .setIssuer(this.options.issuer)
      .setSubject(subject)
      .setAudience(this.options.issuer)
      .setIssuedAt(iat)
      .setExpirationTime(iat + Math.floor(this.options.refreshTtl / 1000))
      .setJti(randomBytes(16).toString('base64url'))
      .sign(this.key.privateKey);
  }

  async verifyRefresh(token: string): Promise<{ subject: string; binding: string }> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.key.publicKey, {
        issuer: this.options.issuer,
        audience: this.options.issuer,
        typ: refreshTyp,
        algorithms: ['ES256'],
        currentDate: new Date(this.now()),
        clockTolerance: clockSkewSeconds,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      throw new TokenError(`invalid refresh token: ${(err as Error).message}`);
    }
    if (payload.svc !== this.options.service || typeof payload.bnd !== 'string' || !payload.sub) throw new TokenError('refresh token is for another service');
    return { subject: payload.sub, binding: payload.bnd };
  }
}

/** Binds a refresh token to a password hash without revealing anything usable about it. */
export function passwordBinding(hash: string): string {
  return createHash('sha256').update('wharf-refresh\0').update(hash).digest('base64url').slice(0, 22);
}

/** Tolerated clock difference between issuer and registry, in seconds. */
export const clockSkewSeconds = 30;

export interface VerifiedToken {
  readonly issuer: string;
  /** null: anonymous (empty or absent `sub`) */
  readonly subject: string | null;
  readonly access: readonly ResourceAccess[];
  /** ms since the epoch */
  readonly expires: number;
}

type KeySource = { readonly kind: 'keys'; readonly keys: readonly KeyObject[] } | { readonly kind: 'jwks'; readonly resolve: JWTVerifyGetKey };

export interface TrustedIssuer {
  readonly issuer: string;
  readonly audience: string;
  readonly keys: KeySource;
  /** Algorithms accepted; never 'none' or HMAC. */
  readonly algorithms: readonly string[];
  /** Required `typ` header (Wharf's own tokens: 'JWT', which also keeps refresh tokens out). */
  readonly typ?: string;
}

export const asymmetricAlgorithms = ['ES256', 'ES384', 'ES512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'EdDSA', 'Ed25519'];

export function ownIssuer(key: SigningKey, issuer: string, service: string): TrustedIssuer {
  return { issuer, audience: service, keys: { kind: 'keys', keys: [key.publicKey] }, algorithms: ['ES256'], typ: 'JWT' };
}

export function jwksIssuer(issuer: string, audience: string, url: string): TrustedIssuer {
  const jwks = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  return { issuer, audience, keys: { kind: 'jwks', resolve: jwks }, algorithms: asymmetricAlgorithms };
}

/** Public keys from a PEM file of certificates and/or public keys (a private key is refused: give the public half). */
export async function loadPublicKeys(file: string): Promise<KeyObject[]> {
  const text = await readFile(file, 'utf8');
  const blocks = text.match(/-----BEGIN ([A-Z0-9 ]+)-----[\s\S]+?-----END \1-----/g) ?? [];
  const keys: KeyObject[] = [];
  for (const block of blocks) {
    const label = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(block)![1]!;
    if (label === 'CERTIFICATE') keys.push(new X509Certificate(block).publicKey);
    else if (label.endsWith('PUBLIC KEY')) keys.push(createPublicKey(block));
    else if (label.includes('PRIVATE KEY')) throw new Error(`${file} holds a private key; give the issuer's certificate or public key`);
  }
  if (keys.length === 0) throw new Error(`${file} holds no PEM certificate or public key`);
  return keys;
}

export async function certificateIssuer(issuer: string, audience: string, file: string): Promise<TrustedIssuer> {
  return { issuer, audience, keys: { kind: 'keys', keys: await loadPublicKeys(file) }, algorithms: asymmetricAlgorithms };
}

function parseAccess(value: unknown): ResourceAccess[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TokenError('token access claim is not a list');
  return value.map((item: unknown) => {
    const a = item as { type?: unknown; name?: unknown; actions?: unknown };
    if (typeof a !== 'object' || a === null || typeof a.type !== 'string' || typeof a.name !== 'string') throw new TokenError('malformed token access entry');
    const actions = a.actions === undefined || a.actions === null ? [] : a.actions;
    if (!Array.isArray(actions) || actions.some((x) => typeof x !== 'string')) throw new TokenError('malformed token access actions');
    // The resource class (`repository(plugin)`) is deprecated and means the same as the plain type.
    return { type: a.type.replace(/\(.*\)$/, ''), name: a.name, actions: actions as string[] };
  });
}

export interface VerifierOptions {
  readonly now?: () => number;
  /** Verified tokens remembered (by SHA-256 of the token) so the signature is checked once per token; default 10000. */
  readonly cacheSize?: number;
}

export class TokenVerifier {
  private readonly byIssuer = new Map<string, TrustedIssuer>();
  private readonly cache = new Map<string, VerifiedToken>();
  private readonly now: () => number;
  private readonly cacheSize: number;

  constructor(trusted: readonly TrustedIssuer[], options: VerifierOptions = {}) {
    for (const t of trusted) this.byIssuer.set(t.issuer, t);
    this.now = options.now ?? Date.now;
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  async verify(token: string): Promise<VerifiedToken> {
    const id = createHash('sha256').update(token).digest('hex');
    const hit = this.cache.get(id);
    if (hit) {
      if (hit.expires + clockSkewSeconds * 1000 > this.now()) return hit;
      this.cache.delete(id);
    }
    let unverified: JWTPayload;
    try {
      unverified = decodeJwt(token);
    } catch {
      throw new TokenError('malformed token');
    }
    const trusted = typeof unverified.iss === 'string' ? this.byIssuer.get(unverified.iss) : undefined;
    if (!trusted) throw new TokenError('token from an untrusted issuer');
    const payload = await this.verifyWith(trusted, token);
    const verified: VerifiedToken = {
      issuer: trusted.issuer,
      subject: typeof payload.sub === 'string' && payload.sub !== '' ? payload.sub : null,
      access: parseAccess(payload.access),
      expires: payload.exp! * 1000,
    };
    this.cache.set(id, verified);
    while (this.cache.size > this.cacheSize) this.cache.delete(this.cache.keys().next().value as string);
    return verified;
  }

  private async verifyWith(trusted: TrustedIssuer, token: string): Promise<JWTPayload> {
    const options = {
      issuer: trusted.issuer,
      audience: trusted.audience,
      algorithms: [...trusted.algorithms],
      currentDate: new Date(this.now()),
      clockTolerance: clockSkewSeconds,
      requiredClaims: ['exp'],
      ...(trusted.typ === undefined ? {} : { typ: trusted.typ }),
    };
    try {
      if (trusted.keys.kind === 'jwks') return (await jwtVerify(token, trusted.keys.resolve, options)).payload;
      let last: unknown = null;
      for (const key of trusted.keys.keys) {
        try {
          return (await jwtVerify(token, key, options)).payload;
        } catch (err) {
          last = err;
          // A claim that fails (expired, wrong audience) fails with every key; a signature or key-type mismatch may
          // just mean the next key is the right one.
          if ((err as { code?: string }).code?.startsWith('ERR_JWT_')) break;
        }
      }
      throw last;
    } catch (err) {
      throw new TokenError(`invalid token: ${(err as Error).message}`);
    }
  }
}
