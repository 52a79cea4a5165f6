// Reading credentials off a request and checking them, with lockout: shared by the Basic controller and the token
// endpoint. Nothing here ever logs a password or token.
import type { IncomingMessage } from 'node:http';
import { clientAddress, type TrustedProxies } from './client-address.js';
import type { CredentialVerifier } from './credentials.js';
import { VerificationBusy } from './limiter.js';
import type { LoginGuard } from './lockout.js';
import { silentObserver, type AuthObserver } from './types.js';
import type { Policy } from './policy.js';
import type { AuthPrincipal } from './types.js';

export type Authorization =
  | { readonly scheme: 'basic'; readonly user: string; readonly password: string }
  | { readonly scheme: 'bearer'; readonly token: string }
  | { readonly scheme: 'other' }
  | { readonly scheme: 'malformed' };

const base64 = /^[A-Za-z0-9+/]+={0,2}$/;
const token68 = /^[A-Za-z0-9._~+/-]+=*$/;

/** The Authorization header, parsed; null when there is none (or it carries no user name). */
export function parseAuthorization(header: string | undefined): Authorization | null {
  if (header === undefined || header.trim() === '') return null;
  const trimmed = header.trim();
  const space = trimmed.indexOf(' ');
  const scheme = (space === -1 ? trimmed : trimmed.slice(0, space)).toLowerCase();
  const value = space === -1 ? '' : trimmed.slice(space + 1).trim();
  if (scheme === 'basic') {
    if (!base64.test(value) || value.length % 4 !== 0) return { scheme: 'malformed' };
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return { scheme: 'malformed' };
    // Clients without credentials may still answer a Basic challenge, with an empty user and password
    // (containers/image sends `Basic Og==`): that is an anonymous request, not a failed login.
    if (colon === 0) return null;
    return { scheme: 'basic', user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (scheme === 'bearer') return token68.test(value) ? { scheme: 'bearer', token: value } : { scheme: 'malformed' };
  return { scheme: 'other' };
}

export type LoginResult =
  | { readonly ok: true; readonly principal: AuthPrincipal }
  | { readonly ok: false; readonly reason: 'invalid' }
  | { readonly ok: false; readonly reason: 'locked' | 'busy'; readonly retryAfterSeconds: number };

export class Authenticator {
  constructor(
    private readonly verifier: CredentialVerifier,
    private readonly guard: LoginGuard,
    private readonly policy: Policy,
    private readonly trustedProxies: TrustedProxies,
    private readonly observer: AuthObserver = silentObserver,
  ) {}

  address(req: IncomingMessage): string {
    return clientAddress(req, this.trustedProxies);
  }

  /**
   * Checks a user name and password from `req`'s client: a check is reserved with the lockout first (refused when
   * the address or the pair is locked or its checks are used up), then the password is verified, then the
   * reservation becomes a failure or is released.
   */
  async login(req: IncomingMessage, user: string, password: string): Promise<LoginResult> {
    const address = this.address(req);
    // Not a new guess (a remembered success, or the same credentials already being checked): no reservation, so a
    // client's parallel requests never use up its own checks; a failure is counted once, by the check in flight.
    const known = this.verifier.peek(user, password);
    const check = known ? await this.guard.check(address, user) : await this.guard.begin(address, user);
    if (check.locked) {
      this.observer.failure('locked_out');
      return { ok: false, reason: 'locked', retryAfterSeconds: check.retryAfterSeconds };
    }
    let ok: boolean;
    try {
      ok = await (known ?? this.verifier.verify(user, password));
    } catch (err) {
      if (!known) await this.guard.abandon(address, user);
      if (!(err instanceof VerificationBusy)) throw err;
      this.observer.failure('busy');
      return { ok: false, reason: 'busy', retryAfterSeconds: 1 };
    }
    if (!ok) {
      this.observer.failure('bad_credentials');
      if (!known) await this.guard.failure(address, user);
      return { ok: false, reason: 'invalid' };
    }
    await (known ? this.guard.forgive(address, user) : this.guard.success(address, user));
    return { ok: true, principal: this.policy.principal(user) };
  }
}

/** What a 429 for a refused login says. */
export function tooManyMessage(reason: 'locked' | 'busy'): string {
  return reason === 'locked' ? 'too many failed logins; try again later' : 'too many logins being checked; try again shortly';
}
