// Brute-force protection. Failed logins are counted per (user, address) pair and per client address within a
// sliding window; reaching the key's limit (maxFailures for a pair, maxAddressFailures for an address, which is
// higher so that colleagues behind one NAT mistyping their own passwords do not lock each other out) locks that key
// for `duration` (429 with Retry-After).
//
// A check is reserved before the password is verified: a key whose failures plus checks in flight already reach
// maxFailures gets no further check, so a burst of concurrent guesses gets exactly maxFailures verifications, not
// as many as arrive before the first one fails. There is deliberately no user-wide lock: it would let anyone lock
// any user (admin included) out from everywhere, and behind a proxy one attacker would lock out every client.
// Guessing one user's password from many addresses is bounded instead by each address's own limit and by the
// server-wide verification limit (auth.verification).
//
// The counts live behind LockoutStore, so several nodes can share one; MemoryLockoutStore keeps them in this
// process, bounded to maxTracked keys (least recently touched forgotten first).
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { lockoutAddress } from './client-address.js';
import { silentObserver, type AuthObserver } from './types.js';

export interface LockoutOptions {
  /** Per (user, address) pair. */
  readonly maxFailures: number;
  /** Per address, whichever users the logins name. */
  readonly maxAddressFailures: number;
  /** ms */
  readonly window: number;
  /** ms */
  readonly duration: number;
  readonly maxTracked: number;
  readonly now?: () => number;
}

/** A key failures count against: an address (user undefined), or one user from one address. */
export interface LockKey {
  readonly address: string;
  readonly user?: string;
}

/** A key that is locked out now. */
export interface LockInfo extends LockKey {
  /** ms since the epoch */
  readonly lockedUntil: number;
}

export type Reservation = { readonly ok: true } | { readonly ok: false; readonly retryAfterMs: number };

export interface UnlockFilter {
  readonly user?: string;
  readonly address?: string;
}

/** Lockout state, shared by every login of this server (and, with a shared implementation, of several). */
export interface LockoutStore {
  /** Atomically: unless a key is locked or its failures plus checks in flight reach its limit, counts one check in flight on every key. */
  reserve(keys: readonly LockKey[]): Promise<Reservation>;
  /** ms until the last of the keys' lockouts ends; 0 when none is locked (whatever their counts). */
  lockedFor(keys: readonly LockKey[]): Promise<number>;
  /** The reserved check failed: it becomes a failure. Returns the lockouts this started. */
  fail(keys: readonly LockKey[]): Promise<LockInfo[]>;
  /** The reserved check did not fail (it succeeded, or never ran); the `reset` keys forget their failures. */
  release(keys: readonly LockKey[], reset: readonly LockKey[]): Promise<void>;
  locks(): Promise<LockInfo[]>;
  /**
   * Lifts locks and forgets failures: `address` alone: the address and every pair at it; `user` alone: every pair
   * of the user; both: that one pair. Returns how many locks were lifted.
   */
  unlock(filter: UnlockFilter): Promise<number>;
}

interface Entry {
  readonly key: LockKey;
  /** Times of the failures within the window, oldest first. */
  failures: number[];
  /** Checks reserved and not yet resolved. */
  pending: number;
  lockedUntil: number;
}

const keyId = (k: LockKey) => (k.user === undefined ? k.address : `${k.address}\u0000${k.user}`);

/** Seconds in a Retry-After for a key whose checks in flight fill it: they resolve within moments. */
const fullRetryMs = 1000;

export class MemoryLockoutStore implements LockoutStore {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly options: LockoutOptions) {
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  async reserve(keys: readonly LockKey[]): Promise<Reservation> {
    const now = this.now();
    let refusedFor = 0;
    for (const key of keys) {
      const entry = this.current(key, now);
      if (!entry) continue;
      if (entry.lockedUntil > now) refusedFor = Math.max(refusedFor, entry.lockedUntil - now);
      else if (entry.failures.length + entry.pending >= this.limit(key)) refusedFor = Math.max(refusedFor, fullRetryMs);
    }
    if (refusedFor > 0) return { ok: false, retryAfterMs: refusedFor };
    for (const key of keys) this.touch(key).pending++;
    return { ok: true };
  }

  async lockedFor(keys: readonly LockKey[]): Promise<number> {
    const now = this.now();
    return Math.max(0, ...keys.map((k) => (this.current(k, now)?.lockedUntil ?? 0) - now));
  }

  async fail(keys: readonly LockKey[]): Promise<LockInfo[]> {
    const now = this.now();
    const started: LockInfo[] = [];
    for (const key of keys) {
      const entry = this.touch(key);
      entry.pending = Math.max(0, entry.pending - 1);
      entry.failures.push(now);
      if (entry.failures.length >= this.limit(key) && entry.lockedUntil <= now) {
        entry.lockedUntil = now + this.options.duration;
        entry.failures = [];
        started.push({ ...key, lockedUntil: entry.lockedUntil });
      }
    }
    return started;
  }

  async release(keys: readonly LockKey[], reset: readonly LockKey[]): Promise<void> {
    for (const key of keys) {
      const entry = this.entries.get(keyId(key));
      if (entry) entry.pending = Math.max(0, entry.pending - 1);
    }
    for (const key of reset) {
      const entry = this.entries.get(keyId(key));
      if (entry) entry.failures = [];
    }
  }

  async locks(): Promise<LockInfo[]> {
    const now = this.now();
    return [...this.entries.values()].filter((e) => e.lockedUntil > now).map((e) => ({ ...e.key, lockedUntil: e.lockedUntil }));
  }

  async unlock(filter: UnlockFilter): Promise<number> {
    const address = filter.address === undefined ? undefined : lockoutAddress(filter.address);
    const now = this.now();
    let lifted = 0;
    for (const [id, { key, lockedUntil }] of this.entries) {
      const matches =
        filter.user === undefined
          ? key.address === address
          : key.user === userKey(filter.user) && (address === undefined || key.address === address);
      if (matches) {
        this.entries.delete(id);
        if (lockedUntil > now) lifted++;
      }
    }
    return lifted;
  }

  private limit(key: LockKey): number {
    return key.user === undefined ? this.options.maxAddressFailures : this.options.maxFailures;
  }

  /** The key's entry with failures outside the window dropped; the entry goes once nothing is left in it. */
  private current(key: LockKey, now: number): Entry | undefined {
    const id = keyId(key);
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    const since = now - this.options.window;
    entry.failures = entry.failures.filter((t) => t > since);
    if (entry.lockedUntil <= now && entry.failures.length === 0 && entry.pending === 0) {
      this.entries.delete(id);
      return undefined;
    }
    return entry;
  }

  /** The key's entry, created if need be and moved to the most recently touched end; evicts beyond maxTracked. */
  private touch(key: LockKey): Entry {
    const id = keyId(key);
    const entry = this.current(key, this.now()) ?? { key, failures: [], pending: 0, lockedUntil: 0 };
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.options.maxTracked) this.entries.delete(this.entries.keys().next().value as string);
    return entry;
  }
}

/** User names as tracked and logged: long ones (up to a header's size) are shortened so entries stay small. */
export function userKey(user: string): string {
  return user.length <= 128 ? user : `${user.slice(0, 64)}…sha256:${createHash('sha256').update(user).digest('hex').slice(0, 16)}`;
}

export type LoginCheck = { readonly locked: false } | { readonly locked: true; readonly retryAfterSeconds: number };

const refusal = (ms: number): LoginCheck => ({ locked: true, retryAfterSeconds: Math.max(1, Math.ceil(ms / 1000)) });

/** The store and the security log, around one login: begin() before verifying, then exactly one of the others. */
export class LoginGuard {
  constructor(
    readonly store: LockoutStore,
    private readonly log: Logger,
    private readonly observer: AuthObserver = silentObserver,
  ) {}

  private keys(address: string, user: string): [LockKey, LockKey] {
    const a = lockoutAddress(address);
    return [{ address: a }, { address: a, user: userKey(user) }];
  }

  /** Reserves the check; locked when the address or the pair is locked out or its checks are used up. */
  async begin(address: string, user: string): Promise<LoginCheck> {
    const r = await this.store.reserve(this.keys(address, user));
    return r.ok ? { locked: false } : refusal(r.retryAfterMs);
  }

  /** For an answer that needs no check of its own (remembered, or the same one in flight): only a lockout refuses it. */
  async check(address: string, user: string): Promise<LoginCheck> {
    const ms = await this.store.lockedFor(this.keys(address, user));
    return ms > 0 ? refusal(ms) : { locked: false };
  }

  /** A success that took no reservation: the pair's failures are forgotten. */
  async forgive(address: string, user: string): Promise<void> {
    await this.store.release([], [this.keys(address, user)[1]]);
  }

  async failure(address: string, name: string): Promise<void> {
    const user = userKey(name);
    this.log.info({ event: 'auth.failure', user, remoteAddr: address }, 'failed login');
    const started = await this.store.fail(this.keys(address, name));
    for (const lock of started) {
      this.observer.lockout();
      const pair = lock.user !== undefined;
      this.log.warn(
        { event: 'auth.lockout', lockedOut: pair ? 'user at address' : 'address', user, remoteAddr: address, key: lock.address, until: new Date(lock.lockedUntil).toISOString() },
        pair ? 'too many failed logins for one user from one address; locked out' : 'too many failed logins from one address; locked out',
      );
    }
  }

  /** The password was right: the pair's failures are forgotten (the address's stay, so one valid account cannot launder guesses). */
  async success(address: string, user: string): Promise<void> {
    const keys = this.keys(address, user);
    await this.store.release(keys, [keys[1]]);
  }

  /** The check never ran (the server was too busy). */
  async abandon(address: string, user: string): Promise<void> {
    await this.store.release(this.keys(address, user), []);
  }
}
