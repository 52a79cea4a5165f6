// Helpers for the access-control tests: htpasswd files, Authorization headers, WWW-Authenticate parsing, tokens from
// Wharf's token endpoint (GET with Basic, OAuth2 POST form), JWT decoding and tampering, and a Client that sends
// credentials on every request. No tests here.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hashPassword } from '../../../src/auth/htpasswd.js';
import { Client, show, type ReqOptions, type Res } from './http.js';
import { errorCodes, expectError } from './registry.js';

export type Action = 'pull' | 'push' | 'delete';

// ---------------------------------------------------------------------------------------------------------------
// Users

export interface HtpasswdUser {
  readonly name: string;
  readonly password: string;
  /** Write the hash with the `$2y$` prefix the real `htpasswd -B` uses (else the equivalent `$2b$`). */
  readonly y?: boolean;
}

/** bcrypt (cost 5) line for each user, written to `dir/htpasswd`; returns the path. */
export async function writeHtpasswd(dir: string, users: readonly HtpasswdUser[]): Promise<string> {
  const lines = await Promise.all(
    users.map(async (u) => {
      const hash = await hashPassword(u.password, 5);
      assert.match(hash, /^\$2y\$05\$/);
      return `${u.name}:${u.y ? hash : `$2b$${hash.slice(4)}`}\n`;
    }),
  );
  const path = join(dir, 'htpasswd');
  await writeFile(path, lines.join(''), { mode: 0o600 });
  return path;
}

export function basicAuthorization(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------------------------
// A client that authenticates every request

/** Sends `authorization` (when not null) on every request unless the request sets its own. */
export class AuthClient extends Client {
  constructor(
    base: string,
    readonly authorization: string | null,
  ) {
    super(base);
  }

  override req(method: string, pathOrUrl: string, opts: ReqOptions = {}): Promise<Res> {
    if (this.authorization === null) return super.req(method, pathOrUrl, opts);
    return super.req(method, pathOrUrl, { ...opts, headers: { Authorization: this.authorization, ...opts.headers } });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Challenges

export interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

/**
 * Parses one challenge of RFC 9110 (`Bearer realm="…",service="…",scope="repository:a/b:pull,push"`): auth-params
 * with token or quoted-string values; commas inside quoted strings (scopes) do not split.
 */
export function parseChallenge(value: string): Challenge {
  const m = /^\s*([A-Za-z][A-Za-z0-9._~+/-]*)\s*(.*)$/s.exec(value);
  assert.ok(m, `not a challenge: ${JSON.stringify(value)}`);
  const scheme = m[1]!;
  const rest = m[2]!;
  const params: Record<string, string> = {};
  let i = 0;
  const skip = (re: RegExp) => {
    while (i < rest.length && re.test(rest[i]!)) i++;
  };
  while (i < rest.length) {
    skip(/[\s,]/);
    if (i >= rest.length) break;
    const nameStart = i;
    while (i < rest.length && /[A-Za-z0-9._~+/-]/.test(rest[i]!)) i++;
    const name = rest.slice(nameStart, i).toLowerCase();
    assert.ok(name.length > 0, `malformed challenge (parameter name expected at ${i}): ${JSON.stringify(value)}`);
    skip(/\s/);
    assert.equal(rest[i], '=', `malformed challenge (= expected after ${name}): ${JSON.stringify(value)}`);
    i++;
    skip(/\s/);
    let v = '';
    if (rest[i] === '"') {
      i++;
      let closed = false;
      while (i < rest.length) {
        const c = rest[i]!;
        if (c === '\\') {
          v += rest[i + 1] ?? '';
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          v += c;
          i++;
        }
      }
      assert.ok(closed, `unterminated quoted string in challenge: ${JSON.stringify(value)}`);
    } else {
      const start = i;
      while (i < rest.length && rest[i] !== ',' && !/\s/.test(rest[i]!)) i++;
      v = rest.slice(start, i);
    }
    assert.ok(!(name in params), `parameter ${name} repeated in challenge: ${JSON.stringify(value)}`);
    params[name] = v;
  }
  return { scheme, params };
}

export function challengeOf(res: Res): Challenge {
  const value = res.headers.get('www-authenticate');
  assert.ok(value !== null && value !== '', `missing WWW-Authenticate: ${show(res)}`);
  return parseChallenge(value);
}

/** `Basic realm="<realm>"` and nothing else. */
export function expectBasicChallenge(res: Res, realm: string): void {
  const c = challengeOf(res);
  assert.equal(c.scheme.toLowerCase(), 'basic', `expected a Basic challenge: ${show(res)}`);
  assert.deepEqual(c.params, { realm }, `Basic challenge parameters: ${show(res)}`);
}

export interface BearerExpectation {
  readonly realm: string;
  readonly service: string;
  /** The scope the challenge must name; null: no scope parameter. */
  readonly scope: string | null;
  /** The `error` parameter; null: none. */
  readonly error: 'invalid_token' | 'insufficient_scope' | null;
}

/** `Bearer realm=…,service=…[,scope=…][,error=…]`, exactly these parameters. */
export function expectBearerChallenge(res: Res, want: BearerExpectation): void {
  const c = challengeOf(res);
  assert.equal(c.scheme, 'Bearer', `expected a Bearer challenge: ${show(res)}`);
  const expected: Record<string, string> = { realm: want.realm, service: want.service };
  if (want.scope !== null) expected.scope = want.scope;
  if (want.error !== null) expected.error = want.error;
  assert.deepEqual(c.params, expected, `Bearer challenge parameters: ${show(res)}`);
}

/** 401 UNAUTHORIZED with a Basic challenge for `realm`. */
export function expectBasicUnauthorized(res: Res, realm: string): void {
  expectError(res, 401, 'UNAUTHORIZED');
  expectBasicChallenge(res, realm);
}

/** 403 DENIED, without a challenge (new credentials would not help). */
export function expectForbidden(res: Res): void {
  expectError(res, 403, 'DENIED');
  assert.equal(res.headers.get('www-authenticate'), null, `a 403 should carry no challenge: ${show(res)}`);
}

/** 429 TOOMANYREQUESTS with Retry-After in whole seconds within [min, max]; returns the seconds. */
export function expectLockedOut(res: Res, min: number, max: number): number {
  assert.equal(res.status, 429, `expected 429 (locked out): ${show(res)}`);
  assert.ok(errorCodes(res).includes('TOOMANYREQUESTS'), `expected TOOMANYREQUESTS: ${show(res)}`);
  const ra = res.headers.get('retry-after');
  assert.ok(ra !== null && /^\d+$/.test(ra), `Retry-After must be delta-seconds: ${show(res)}`);
  const seconds = Number(ra);
  assert.ok(seconds >= min && seconds <= max, `Retry-After ${seconds} not within [${min}, ${max}]: ${show(res)}`);
  return seconds;
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

export interface TokenAccess {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

export interface TokenClaims {
  readonly iss?: unknown;
  readonly sub?: unknown;
  readonly aud?: unknown;
  readonly exp?: unknown;
  readonly nbf?: unknown;
  readonly iat?: unknown;
  readonly jti?: unknown;
  readonly access?: unknown;
  readonly [claim: string]: unknown;
}

export interface DecodedJwt {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: TokenClaims;
}

function b64json(part: string, what: string, token: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v));
    return v as Record<string, unknown>;
  } catch {
    assert.fail(`token ${what} is not base64url JSON: ${token.slice(0, 80)}…`);
  }
}

/** Header and payload of a compact JWS, unverified. */
export function decodeJwt(token: string): DecodedJwt {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `not a compact JWT (${parts.length} parts)`);
  return { header: b64json(parts[0]!, 'header', token), payload: b64json(parts[1]!, 'payload', token) };
}

/** The `access` claim of a token, as a plain list. */
export function accessOf(token: string): TokenAccess[] {
  const { payload } = decodeJwt(token);
  assert.ok(Array.isArray(payload.access), `token has no access list: ${JSON.stringify(payload)}`);
  return payload.access as TokenAccess[];
}

/** The same token with its payload rewritten and the original signature kept (which no longer matches). */
export function tamperPayload(token: string, mutate: (payload: Record<string, unknown>) => void): string {
  const [h, p, s] = token.split('.');
  assert.ok(h !== undefined && p !== undefined && s !== undefined, 'not a compact JWT');
  const payload = { ...b64json(p, 'payload', token) };
  mutate(payload);
  return `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
}

export interface TokenRequest {
  readonly service?: string;
  readonly scopes?: readonly string[];
  /** Basic credentials for the token endpoint; absent: anonymous. */
  readonly user?: string;
  readonly password?: string;
  readonly account?: string;
  readonly headers?: Record<string, string>;
}

/** GET /auth/token?service=…&scope=…; does not assert the status. */
export function tokenRequest(base: string, r: TokenRequest): Promise<Res> {
  const q = new URLSearchParams();
  if (r.service !== undefined) q.set('service', r.service);
  if (r.account !== undefined) q.set('account', r.account);
  for (const s of r.scopes ?? []) q.append('scope', s);
  const headers: Record<string, string> = { ...r.headers };
  if (r.user !== undefined) headers.Authorization = basicAuthorization(r.user, r.password ?? '');
  return new Client(base).get(`/auth/token?${q.toString()}`, headers);
}

export interface TokenBody {
  readonly token?: unknown;
  readonly access_token?: unknown;
  readonly expires_in?: unknown;
  readonly issued_at?: unknown;
  readonly refresh_token?: unknown;
  readonly scope?: unknown;
  readonly error?: unknown;
  readonly error_description?: unknown;
}

export function tokenBody(res: Res): TokenBody {
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, `token endpoint answers JSON: ${show(res)}`);
  return JSON.parse(res.body.toString('utf8')) as TokenBody;
}

/** GET a token and require 200 with `token` (= `access_token`); returns the token. */
export async function fetchToken(base: string, r: TokenRequest): Promise<string> {
  const res = await tokenRequest(base, r);
  assert.equal(res.status, 200, `token request failed: ${show(res)}`);
  const body = tokenBody(res);
  assert.equal(typeof body.token, 'string', `no token in ${show(res)}`);
  assert.equal(body.access_token, body.token, `access_token differs from token: ${show(res)}`);
  return body.token as string;
}

/** POST /auth/token with an OAuth2 form; does not assert the status. */
export function oauthRequest(base: string, form: Record<string, string | readonly string[]>, headers: Record<string, string> = {}): Promise<Res> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) {
    for (const one of typeof v === 'string' ? [v] : v) body.append(k, one);
  }
  return new Client(base).post('/auth/token', {
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: body.toString(),
  });
}

/** `repository:<name>:<actions>` */
export function repoScope(name: string, actions: readonly string[]): string {
  return `repository:${name}:${actions.join(',')}`;
}

export const CATALOG_SCOPE = 'registry:catalog:*';
