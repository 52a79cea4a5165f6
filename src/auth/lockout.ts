// Brute-force protection: failed logins are counted per client address and per user name within a sliding
// window; reaching maxFailures locks that address or user out for `duration` (429 with Retry-After). Each tracker
// is bounded (maxTracked entries, least recently touched forgotten first), so a flood of addresses or invented
// user names cannot exhaust memory.
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { silentObserver, type AuthObserver } from './types.js';

export interface LockoutOptions {
  readonly maxFailures: number;
  /** ms */
  readonly window: number;
  /** ms */
  readonly duration: number;
  readonly maxTracked: number;
  readonly now?: () => number;
}

interface Entry {
  /** Times of the failures within the window, oldest first; never longer than maxFailures. */
  failures: number[];
  lockedUntil: number;
}

/** Failure counts for one kind of key (addresses, or users). */
export class FailureTracker {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: LockoutOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  /** ms until the key's lockout ends; 0 when it is not locked out. */
  lockedFor(key: string): number {
    const entry = this.entries.get(key);
    if (!entry) return 0;
    const now = this.now();
    if (entry.lockedUntil > now) return entry.lockedUntil - now;
    entry.lockedUntil = 0;
    const last = entry.failures.at(-1);
    if (last === undefined || last <= now - this.options.window) this.entries.delete(key);
    return 0;
  }

  /** Records a failure; returns the lockout's length in ms if this failure started one, else 0. */
  fail(key: string): number {
    const now = this.now();
    const entry = this.entries.get(key) ?? { failures: [], lockedUntil: 0 };
    this.entries.delete(key); // re-inserted below: Map order is least recently touched first
    const since = now - this.options.window;
    entry.failures = entry.failures.filter((t) => t > since);
    entry.failures.push(now);
    let started = 0;
    if (entry.failures.length >= this.options.maxFailures) {
      entry.lockedUntil = now + this.options.duration;
      entry.failures = [];
      started = this.options.duration;
    }
    this.entries.set(key, entry);
    while (this.entries.size > this.options.maxTracked) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return started;
  }

  /** Forgets the key's failures (a successful login); an active lockout stays. */
  reset(key: string): void {
    const entry = this.entries.get(key);
    if (entry && entry.lockedUntil <= this.now()) this.entries.delete(key);
    else if (entry) entry.failures = [];
  }
}

/** The client's address: the socket's, or the last X-Forwarded-For entry when a trusted proxy sets it. */
export function clientAddress(req: IncomingMessage, trustForwardedFor: boolean): string {
  if (trustForwardedFor) {
    const header = req.headers['x-forwarded-for'];
    const value = Array.isArray(header) ? header.join(',') : header;
    const last = value
      ?.split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .pop();
    if (last) return normalizeAddress(last);
  }
  return normalizeAddress(req.socket.remoteAddress ?? 'unknown');
}

function normalizeAddress(addr: string): string {
  return addr.startsWith('::ffff:') && addr.includes('.') ? addr.slice(7) : addr.toLowerCase();
}

export type LoginCheck = { readonly locked: false } | { readonly locked: true; readonly retryAfterSeconds: number };

/** User names as tracked and logged: long ones (up to a header's size) are shortened so entries stay small. */
function userKey(user: string): string {
  return user.length <= 128 ? user : `${user.slice(0, 64)}…sha256:${createHash('sha256').update(user).digest('hex').slice(0, 16)}`;
}

/** Both trackers and the security log: what the Basic controller and the token endpoint consult around a login. */
export class LoginGuard {
  private readonly byAddress: FailureTracker;
  private readonly byUser: FailureTracker;

  constructor(
    options: LockoutOptions,
    private readonly log: Logger,
    private readonly observer: AuthObserver = silentObserver,
  ) {
    this.byAddress = new FailureTracker(options);
    this.byUser = new FailureTracker(options);
  }

  /** Before verifying a password: is the address or the user locked out? */
  check(address: string, user: string): LoginCheck {
    const ms = Math.max(this.byAddress.lockedFor(address), this.byUser.lockedFor(userKey(user)));
    return ms > 0 ? { locked: true, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) } : { locked: false };
  }

  failure(address: string, name: string): void {
    const user = userKey(name);
    this.log.info({ event: 'auth.failure', user, remoteAddr: address }, 'failed login');
    const addressLock = this.byAddress.fail(address);
    const userLock = this.byUser.fail(user);
    if (addressLock > 0 || userLock > 0) this.observer.lockout();
    if (addressLock > 0) {
      this.log.warn({ event: 'auth.lockout', lockedOut: 'address', user, remoteAddr: address, seconds: addressLock / 1000 }, 'too many failed logins from one address; locked out');
    }
    if (userLock > 0) {
      this.log.warn({ event: 'auth.lockout', lockedOut: 'user', user, remoteAddr: address, seconds: userLock / 1000 }, 'too many failed logins for one user; locked out');
    }
  }

  success(user: string): void {
    this.byUser.reset(userKey(user));
  }

  /** Tracked entries (addresses, users), for tests. */
  get tracked(): { addresses: number; users: number } {
    return { addresses: this.byAddress.size, users: this.byUser.size };
  }
}
