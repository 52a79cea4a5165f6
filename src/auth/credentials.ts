// Password verification with a short-lived cache of successes, so a client that sends Basic credentials on every
// request pays bcrypt once per cacheTtl instead of on every request. The cache holds, per user, an HMAC (keyed by
// a random per-process key) of user NUL password and an expiry; it is compared in constant time and dropped
// whenever the user list changes. Failures are never cached.
//
// bcrypt is the native `bcrypt` package: its compare runs in libuv's thread pool, so the event loop keeps serving
// other requests while passwords are checked (bcryptjs computed on the event loop itself and stalled everything).
// Every check that does reach bcrypt (not a cache hit) goes through a VerificationLimiter.
import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcrypt';
import type { UserStore } from './htpasswd-file.js';
import { parseHtpasswd, type HtpasswdEntry } from './htpasswd.js';
import { VerificationLimiter } from './limiter.js';
import type { AuthObserver } from './types.js';

/** Checks a password against a bcrypt hash; injectable so tests can count the calls. */
export type PasswordVerify = (password: string, hash: string) => Promise<boolean>;

// The native library knows $2a$ and $2b$ only and answers false for Apache's $2y$, which is the same algorithm.
// A NUL would end the password early in the C library; no stored password contains one, so such input never matches.
export const bcryptVerify: PasswordVerify = async (password, hash) =>
  !password.includes('\0') && (await bcrypt.compare(password, hash.startsWith('$2y$') ? `$2b$${hash.slice(4)}` : hash));

export interface CredentialVerifierOptions {
  /** How long a success is remembered, in ms; 0 disables the cache. */
  readonly ttl: number;
  readonly verify?: PasswordVerify;
  readonly now?: () => number;
  readonly observer?: AuthObserver;
  /** Bounds the bcrypt checks running and waiting at once; default: unbounded (tests of other things). */
  readonly limiter?: VerificationLimiter;
}

interface CachedSuccess {
  readonly digest: Buffer;
  readonly expires: number;
}

const bcryptAlphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A well-formed bcrypt hash nobody knows the password of: unknown users cost as much time as known ones. */
function dummyHash(cost: number): string {
  let body = '';
  for (let i = 0; i < 53; i++) body += bcryptAlphabet[randomInt(bcryptAlphabet.length)];
  return `$2y$${String(cost).padStart(2, '0')}$${body}`;
}

export class CredentialVerifier {
  private readonly key = randomBytes(32);
  private readonly cache = new Map<string, CachedSuccess>();
  private readonly inflight = new Map<string, Promise<boolean>>();
  private cacheVersion: number;
  private dummy: { cost: number; hash: string } | null = null;
  private readonly verifyPassword: PasswordVerify;
  private readonly now: () => number;
  private readonly limiter: VerificationLimiter;

  constructor(
    private readonly store: UserStore,
    private readonly options: CredentialVerifierOptions,
  ) {
    this.verifyPassword = options.verify ?? bcryptVerify;
    this.now = options.now ?? Date.now;
    this.cacheVersion = store.version;
    this.limiter = options.limiter ?? new VerificationLimiter(Infinity, 0);
  }

  /** Whether the user exists in the current user list (for refresh tokens, which outlive a password change). */
  lookup(user: string): HtpasswdEntry | undefined {
    return this.store.lookup(user);
  }

  /** Entries currently cached (for tests and metrics). */
  get cached(): number {
    return this.cache.size;
  }

  /** Highest cost in the user list: what a check for an unknown user pays. */
  get dummyCost(): number {
    return this.store.maxCost;
  }

  /**
   * The answer when it needs no new bcrypt run: a remembered success, or the same credentials being checked right
   * now (a client sending several requests at once). Null when only verify() can tell.
   */
  peek(user: string, password: string): Promise<boolean> | null {
    this.syncVersion();
    if (!this.store.lookup(user)) return null;
    const digest = this.digestOf(user, password);
    if (this.cachedSuccess(user, digest)) {
      this.options.observer?.cacheLookup(true);
      return Promise.resolve(true);
    }
    return this.inflight.get(`${this.store.version}:${digest.toString('hex')}`) ?? null;
  }

  /** Throws VerificationBusy (without running bcrypt) when the limiter has no room for another check. */
  async verify(user: string, password: string): Promise<boolean> {
    this.syncVersion();
    const version = this.store.version;
    const entry = this.store.lookup(user);
    const digest = this.digestOf(user, password);
    if (!entry) {
      await this.limiter.run(() => this.verifyPassword(password, this.dummyHash()));
      return false;
    }
    if (this.cachedSuccess(user, digest)) {
      this.options.observer?.cacheLookup(true);
      return true;
    }
    this.options.observer?.cacheLookup(false);
    // Concurrent requests with the same credentials share one bcrypt run.
    const id = `${version}:${digest.toString('hex')}`;
    let pending = this.inflight.get(id);
    if (!pending) {
      pending = this.limiter.run(() => this.verifyPassword(password, entry.hash)).finally(() => this.inflight.delete(id));
      this.inflight.set(id, pending);
    }
    const ok = await pending;
    if (ok && this.options.ttl > 0 && this.store.version === version && this.cacheVersion === version) {
      this.cache.set(user, { digest, expires: this.now() + this.options.ttl });
    }
    return ok;
  }

  private digestOf(user: string, password: string): Buffer {
    return createHmac('sha256', this.key).update(user).update('\0').update(password).digest();
  }

  private cachedSuccess(user: string, digest: Buffer): boolean {
    const hit = this.cache.get(user);
    if (!hit) return false;
    if (hit.expires <= this.now()) {
      this.cache.delete(user);
      return false;
    }
    return timingSafeEqual(hit.digest, digest);
  }

  /** Forgets every cached success (the user list changed). */
  clear(): void {
    this.cache.clear();
  }

  private syncVersion(): void {
    if (this.store.version !== this.cacheVersion) {
      this.cache.clear();
      this.cacheVersion = this.store.version;
    }
  }

  private dummyHash(): string {
    const cost = this.store.maxCost;
    if (this.dummy?.cost !== cost) this.dummy = { cost, hash: dummyHash(cost) };
    return this.dummy.hash;
  }
}

/** A fixed user list from htpasswd text (tests, and anything that does not need reloading). */
export class StaticUserStore implements UserStore {
  private users: ReadonlyMap<string, HtpasswdEntry>;
  private cost: number;
  private currentVersion = 1;

  constructor(text: string, source = 'htpasswd') {
    const parsed = parseHtpasswd(text, source);
    this.users = parsed.users;
    this.cost = parsed.maxCost;
  }

  get version(): number {
    return this.currentVersion;
  }

  get maxCost(): number {
    return this.cost;
  }

  lookup(user: string): HtpasswdEntry | undefined {
    return this.users.get(user);
  }

  /** Replaces the contents, as a reload would. */
  replace(text: string): void {
    const parsed = parseHtpasswd(text, 'htpasswd');
    this.users = parsed.users;
    this.cost = parsed.maxCost;
    this.currentVersion++;
  }
}
