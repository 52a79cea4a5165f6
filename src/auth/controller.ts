// The access controllers behind ./access.ts, and the one factory the server wiring calls.
//   none:  everyone may do everything (openAccess).
//   basic: HTTP Basic against the htpasswd file; 401 with a Basic challenge for missing or wrong credentials (and
//          for anonymous callers asking for what anonymous may not do), 403 DENIED for a known user who may not.
//   token: Docker bearer tokens (Wharf's own, and/or an external issuer's); 401 with a Bearer challenge naming the
//          scope needed; a valid token that lacks the scope gets error="insufficient_scope".
import type { IncomingMessage } from 'node:http';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { RegistryError } from '../http/oci-errors.js';
import type { AuthConfig } from './config.js';
import { CredentialVerifier, type PasswordVerify } from './credentials.js';
import { HtpasswdFile } from './htpasswd-file.js';
import { TrustedProxies } from './client-address.js';
import { VerificationLimiter } from './limiter.js';
import { LoginGuard, MemoryLockoutStore, type LockoutStore } from './lockout.js';
import type { Metrics } from '../metrics/metrics.js';
import { silentObserver, type AuthObserver } from './types.js';
import { Authenticator, parseAuthorization, tooManyMessage } from './login.js';
import { Policy } from './policy.js';
import { openWebAccess, type WebAccess } from './web.js';
import { basicChallenge, bearerChallenge, challengeScope } from './scope.js';
import { createTokenHandler } from './token-endpoint.js';
import {
  certificateIssuer,
  jwksIssuer,
  loadOrCreateSigningKey,
  ownIssuer,
  TokenError,
  TokenIssuer,
  TokenVerifier,
  type TrustedIssuer,
  type VerifiedToken,
} from './tokens.js';
import type { AccessRequest, Action, AuthAccessController, AuthPrincipal, LoginLocks, Principal, ResourceAccess, TokenHandler } from './types.js';

const anonymousPrincipal: AuthPrincipal = Object.freeze({ name: null, groups: Object.freeze([]) as readonly string[], admin: false });

/** Auth off. */
export const openAccessController: AuthAccessController = {
  async authorize() {
    return anonymousPrincipal;
  },
  allowed() {
    return true;
  },
};

function accessDetail(access: AccessRequest): unknown {
  if (access.action === 'base') return undefined;
  if (access.action === 'catalog') return [{ Type: 'registry', Name: 'catalog', Action: '*' }];
  if (access.action === 'admin') return undefined;
  return [{ Type: 'repository', Name: access.repository, Action: access.action }];
}

function tooMany(reason: 'locked' | 'busy', retryAfterSeconds: number): RegistryError {
  return new RegistryError('TOOMANYREQUESTS', tooManyMessage(reason), undefined, { headers: { 'Retry-After': String(retryAfterSeconds) } });
}

function locksOf(store: LockoutStore, now: () => number): LoginLocks {
  return {
    list: async () => (await store.locks()).map((l) => ({ ...l, retryAfterSeconds: Math.max(1, Math.ceil((l.lockedUntil - now()) / 1000)) })),
    unlock: (filter) => store.unlock(filter),
  };
}

export class BasicAccessController implements AuthAccessController {
  private readonly challenge: Record<string, string>;

  constructor(
    private readonly authenticator: Authenticator,
    private readonly policy: Policy,
    realm: string,
    readonly locks?: LoginLocks,
  ) {
    this.challenge = { 'WWW-Authenticate': basicChallenge(realm) };
  }

  async authorize(req: IncomingMessage, access: AccessRequest): Promise<AuthPrincipal> {
    const auth = parseAuthorization(req.headers.authorization);
    let principal = anonymousPrincipal;
    if (auth?.scheme === 'malformed') throw this.unauthorized('malformed Authorization header', access);
    if (auth?.scheme === 'basic') {
      const result = await this.authenticator.login(req, auth.user, auth.password);
      if (!result.ok) {
        if (result.reason !== 'invalid') throw tooMany(result.reason, result.retryAfterSeconds);
        throw this.unauthorized('invalid username or password', access);
      }
      principal = result.principal;
    }
    if (policyPermits(this.policy, principal, access)) return principal;
    if (principal.name === null) throw this.unauthorized('authentication required', access);
    throw new RegistryError('DENIED', 'requested access to the resource is denied', accessDetail(access));
  }

  allowed(principal: Principal, repository: string, action: Action): boolean {
    return this.policy.allows(principal.name, repository, action);
  }



  private unauthorized(message: string, access: AccessRequest): RegistryError {
    return new RegistryError('UNAUTHORIZED', message, accessDetail(access), { headers: this.challenge });
  }
}

function tokenPermits(access: readonly ResourceAccess[], type: string, name: string, action: string): boolean {
  return access.some((a) => a.type === type && a.name === name && (a.actions.includes(action) || a.actions.includes('*')));
}

/** What the policies allow a principal, whatever its credentials (Basic or a token). */
function policyPermits(policy: Policy, principal: AuthPrincipal, access: AccessRequest): boolean {
  switch (access.action) {
    case 'base':
      return principal.name !== null;
    case 'catalog':
      return policy.mayListCatalog(principal.name);
    case 'admin':
      return policy.isAdmin(principal.name);
    default:
      return access.repository !== null && policy.allows(principal.name, access.repository, access.action);
  }
}

export class TokenAccessController implements AuthAccessController {
  /** What each principal's token granted, for allowed() on the principal authorize() returned. */
  private readonly grants = new WeakMap<Principal, readonly ResourceAccess[]>();

  constructor(
    private readonly verifier: TokenVerifier,
    private readonly policy: Policy,
    private readonly realm: string,
    private readonly service: string,
    private readonly log: Logger,
    /** Wharf's own issuer, whose grants follow this policy exactly; null when only external tokens are trusted. */
    private readonly ownIssuer: string | null,
    readonly locks?: LoginLocks,
  ) {}

  async authorize(req: IncomingMessage, access: AccessRequest): Promise<AuthPrincipal> {
    const scope = challengeScope(access);
    const auth = parseAuthorization(req.headers.authorization);
    if (auth?.scheme !== 'bearer') {
      throw new RegistryError('UNAUTHORIZED', 'authentication required', accessDetail(access), {
        headers: { 'WWW-Authenticate': bearerChallenge(this.realm, this.service, scope, auth?.scheme === 'malformed' ? 'invalid_token' : undefined) },
      });
    }
    let token: VerifiedToken;
    try {
      token = await this.verifier.verify(auth.token);
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      // Why, for the operator (an unreachable JWKS shows up here); never the token itself.
      this.log.debug({ reason: err.message }, 'bearer token refused');
      throw new RegistryError('UNAUTHORIZED', 'invalid or expired token', accessDetail(access), {
        headers: { 'WWW-Authenticate': bearerChallenge(this.realm, this.service, scope, 'invalid_token') },
      });
    }
    const principal = this.policy.principal(token.subject);
    if (!this.covers(token.access, access, principal)) {
      // A known user whom the policy forbids this gets 403: no token Wharf would issue could allow it, so a
      // challenge would only send the client round in circles.
      if (principal.name !== null && token.issuer === this.ownIssuer && !policyPermits(this.policy, principal, access)) {
        throw new RegistryError('DENIED', 'requested access to the resource is denied', accessDetail(access));
      }
      // 401 with the scope needed, so a client holding a narrower token fetches a new one (Distribution does the
      // same); the body says DENIED for a logged-in subject, as a 403 would.
      throw new RegistryError(
        principal.name === null ? 'UNAUTHORIZED' : 'DENIED',
        principal.name === null ? 'authentication required' : 'requested access to the resource is denied',
        accessDetail(access),
        { status: 401, headers: { 'WWW-Authenticate': bearerChallenge(this.realm, this.service, scope, 'insufficient_scope') } },
      );
    }
    this.grants.set(principal, token.access);
    return principal;
  }

  allowed(principal: Principal, repository: string, action: Action): boolean {
    const granted = this.grants.get(principal);
    return (granted !== undefined && tokenPermits(granted, 'repository', repository, action)) || this.policy.allows(principal.name, repository, action);
  }

  private covers(granted: readonly ResourceAccess[], access: AccessRequest, principal: Principal): boolean {
    switch (access.action) {
      case 'base':
        return true;
      case 'admin':
        // The admin API takes no scope: the token's subject must be an admin.
        return this.policy.isAdmin(principal.name);
      case 'catalog':
        return tokenPermits(granted, 'registry', 'catalog', '*');
      default:
        return access.repository !== null && tokenPermits(granted, 'repository', access.repository, access.action);
    }
  }
}

export interface AuthDeps {
  readonly log: Logger;
  readonly metrics?: Metrics;
  /** storage.dataDir; the token signing key lives in <dataDir>/auth unless auth.token.keyDir says otherwise. */
  readonly dataDir: string;
  /** For tests: the clock, and the bcrypt check (to count calls). */
  readonly now?: () => number;
  readonly verifyPassword?: PasswordVerify;
  /** Where lockout counts live; default: this process's memory. */
  readonly lockoutStore?: LockoutStore;
  /** For tests: how often the htpasswd file is stat'ed besides fs.watch (ms; default 2000). */
  readonly htpasswdPollInterval?: number;
}

export interface AuthService {
  readonly access: AuthAccessController;
  /** Wharf's token endpoint, in token mode with token.issue; the lead mounts it at /auth/token. */
  readonly tokenHandler?: TokenHandler;
  /** The htpasswd file, when one is configured (for tests and diagnostics). */
  readonly users?: HtpasswdFile;
  /** The same users, lockout and policy, for the web UI's sessions. */
  readonly web: WebAccess;
  close(): Promise<void>;
}

function webAccess(policy: Policy, authenticator: Authenticator | null, users: HtpasswdFile | undefined): WebAccess {
  return {
    required: true,
    login: authenticator ? (req, user, password) => authenticator.login(req, user, password) : null,
    credential: (user) => users?.lookup(user)?.hash ?? null,
    principal: (name) => policy.principal(name),
    allows: (principal, repository, action) => policy.allows(principal.name, repository, action),
    mayBrowse: (principal) => policy.mayListCatalog(principal.name),
  };
}

/**
 * Builds the access controller `config` describes. Throws (so the server does not start) when the htpasswd file
 * cannot be loaded, the signing key cannot be read or created, or the external issuer's certificate is unusable.
 */
export async function createAccessController(config: AuthConfig, deps: AuthDeps): Promise<AuthService> {
  const log = deps.log.child({ component: 'auth' });
  if (config.mode === 'none') {
    if (config.htpasswd.path !== undefined || config.rules.length > 0 || config.anonymous.length > 0 || config.admins.length > 0) {
      log.warn('auth.mode is none: the registry is open to everyone and the other auth settings are ignored');
    }
    return { access: openAccessController, web: openWebAccess, async close() {} };
  }

  const policy = new Policy(config);
  const metrics = deps.metrics;
  const observer: AuthObserver = metrics
    ? {
        failure: (reason) => metrics.authFailures.inc({ reason }),
        lockout: () => metrics.authLockouts.inc(),
        cacheLookup: (hit) => metrics.cacheRequests.inc({ cache: 'credentials', result: hit ? 'hit' : 'miss' }),
      }
    : silentObserver;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c();
  };
  try {
    let authenticator: Authenticator | null = null;
    let verifier: CredentialVerifier | null = null;
    let locks: LoginLocks | undefined;
    let users: HtpasswdFile | undefined;
    if (config.htpasswd.path !== undefined) {
      users = await HtpasswdFile.open(config.htpasswd.path, log, deps.htpasswdPollInterval === undefined ? {} : { pollInterval: deps.htpasswdPollInterval });
      const file = users;
      closers.push(() => file.close());
      verifier = new CredentialVerifier(users, {
        ttl: config.htpasswd.cacheTtl,
        ...(deps.verifyPassword ? { verify: deps.verifyPassword } : {}),
        ...(deps.now ? { now: deps.now } : {}),
        observer,
        limiter: new VerificationLimiter(config.verification.maxConcurrent, config.verification.maxQueued),
      });
      const store = deps.lockoutStore ?? new MemoryLockoutStore({ ...config.lockout, ...(deps.now ? { now: deps.now } : {}) });
      locks = locksOf(store, deps.now ?? Date.now);
      const guard = new LoginGuard(store, log, observer);
      authenticator = new Authenticator(verifier, guard, policy, new TrustedProxies(config.lockout.trustedProxies), observer);
    }

    if (config.mode === 'basic') {
      if (!authenticator) throw new Error('auth.mode basic needs auth.htpasswd.path');
      log.info({ mode: 'basic', users: users?.size }, 'authentication on');
      return { access: new BasicAccessController(authenticator, policy, config.realm, locks), users: users!, web: webAccess(policy, authenticator, users), close };
    }

    const token = config.token;
    if (token.realm === undefined) throw new Error('auth.mode token needs auth.token.realm');
    const trusted: TrustedIssuer[] = [];
    let tokenHandler: TokenHandler | undefined;
    if (token.issue) {
      if (!authenticator || !verifier) throw new Error('auth.token.issue needs auth.htpasswd.path');
      const keyDir = resolve(token.keyDir ?? join(deps.dataDir, 'auth'));
      const key = await loadOrCreateSigningKey(keyDir, log);
      const issuer = new TokenIssuer(key, { issuer: token.issuer, service: token.service, ttl: token.ttl, refreshTtl: token.refreshTtl, ...(deps.now ? { now: deps.now } : {}) });
      trusted.push(ownIssuer(key, token.issuer, token.service));
      tokenHandler = createTokenHandler({ issuer, policy, authenticator, verifier, realm: config.realm, log });
    }
    const external = token.external;
    if (external) {
      const audience = external.audience ?? token.service;
      if (external.jwksUrl !== undefined) trusted.push(jwksIssuer(external.issuer, audience, external.jwksUrl));
      else trusted.push(await certificateIssuer(external.issuer, audience, resolve(external.certificate!)));
    }
    const verifierOfTokens = new TokenVerifier(trusted, deps.now ? { now: deps.now } : {});
    log.info({ mode: 'token', realm: token.realm, service: token.service, issuers: trusted.map((t) => t.issuer), users: users?.size }, 'authentication on');
    return {
      access: new TokenAccessController(verifierOfTokens, policy, token.realm, token.service, log, token.issue ? token.issuer : null, locks),
      ...(tokenHandler ? { tokenHandler } : {}),
      ...(users ? { users } : {}),
      web: webAccess(policy, authenticator, users),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
