import type { MetadataStore } from '../metadata/store.js';
import { matchesAny, repositoryGlob } from '../oci/glob.js';
import { DomainError } from '../oci/errors.js';
import type { QuotaRule } from './config.js';

export interface QuotaStatus {
  readonly limit: number | null;
  /** Bytes of the blobs the repository holds plus the bytes its open upload sessions have staged. */
  readonly used: number;
}

/**
 * What one repository holds while requests that add to it are in flight: `used` is loaded from the store once
 * (committed plus staged bytes) and then moved by those requests themselves, so a check never waits on a query and
 * concurrent pushes see each other's bytes the moment they arrive. It is dropped when the last request ends, and
 * the next one reads the store again (which also picks up deletions and GC).
 */
interface Ledger {
  used: number;
  inFlight: number;
  holders: number;
  readonly ready: Promise<void>;
}

/**
 * The bytes one request adds to a repository, counted as they arrive; any byte that would take the repository
 * over its quota fails the request with QuotaExceeded.
 */
export class QuotaReservation {
  private held = 0; // bytes counted in ledger.inFlight for this request
  private arrived = 0;
  private free = 0;
  private released = false;

  constructor(
    private readonly repository: string,
    private readonly limit: number,
    private readonly ledger: Ledger | null,
    private readonly drop: () => void,
  ) {}

  /** Refuses before any data is read when the repository is full, or the declared size would not fit. */
  expect(bytes: number): void {
    if (!this.ledger) return;
    if (bytes === 0 && this.ledger.used + this.ledger.inFlight >= this.limit) throw this.denied(0);
    this.grow(bytes - this.held);
  }

  /**
   * The first `bytes` to arrive cost nothing: re-pushing a blob the repository already holds. Only bytes beyond
   * its size (a body that will fail its digest check) count, so such a push cannot stream unbounded data either.
   */
  allow(bytes: number): void {
    this.free = bytes;
  }

  /** Bytes have arrived: throws QuotaExceeded when they take the repository over its quota. */
  arrive(bytes: number): void {
    const free = Math.min(this.free, bytes);
    this.free -= free;
    if (bytes === free) return;
    this.arrived += bytes - free;
    if (this.arrived > this.held) this.grow(this.arrived - this.held);
  }

  private grow(bytes: number): void {
    if (!this.ledger || bytes <= 0) return;
    if (this.ledger.used + this.ledger.inFlight + bytes > this.limit) throw this.denied(bytes);
    this.ledger.inFlight += bytes;
    this.held += bytes;
  }

  private denied(incoming: number): DomainError<'QuotaExceeded'> {
    // Bytes held by the repository and by other pushes in flight; this request's own bytes are what did not fit.
    const used = this.ledger ? this.ledger.used + this.ledger.inFlight - this.held : 0;
    return new DomainError('QuotaExceeded', `repository ${this.repository} would exceed its storage quota of ${this.limit} bytes (${used} used)`, {
      repository: this.repository,
      quota: this.limit,
      used,
      incoming,
    });
  }

  /** The bytes (by default those that arrived) stay in the repository (staged in a session, or a new blob): they move from in flight to used. */
  keep(bytes = this.arrived): void {
    if (this.ledger) this.ledger.used += bytes;
  }

  /** Bytes counted as used before this request (staged by earlier chunks) that the repository no longer holds. */
  forget(bytes: number): void {
    if (this.ledger) this.ledger.used = Math.max(0, this.ledger.used - bytes);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (!this.ledger) return;
    this.ledger.inFlight -= this.held;
    this.held = 0;
    this.drop();
  }
}

/** Per-repository storage quotas, enforced on bytes as they arrive (see QuotaReservation). */
export class Quotas {
  private readonly rules: readonly { globs: RegExp[]; maxBytes: number }[];
  private readonly ledgers = new Map<string, Ledger>();

  constructor(
    rules: readonly QuotaRule[],
    private readonly metadata: MetadataStore,
  ) {
    this.rules = rules.map((r) => ({ globs: r.repositories.map(repositoryGlob), maxBytes: r.maxBytes }));
  }

  limitFor(repository: string): number | null {
    return this.rules.find((r) => matchesAny(r.globs, repository))?.maxBytes ?? null;
  }

  private async stored(repository: string): Promise<number> {
    const [blobs, staged] = await Promise.all([this.metadata.repositoryUsage(repository), this.metadata.uploadUsage(repository)]);
    return (blobs?.bytes ?? 0) + staged.bytes;
  }

  async status(repository: string): Promise<QuotaStatus> {
    const limit = this.limitFor(repository);
    return { limit, used: await this.stored(repository) };
  }

  /** Opens the accounting for one request's bytes; release() it when the request ends, however it ends. */
  async reserve(repository: string): Promise<QuotaReservation> {
    const limit = this.limitFor(repository);
    if (limit === null) return new QuotaReservation(repository, Infinity, null, () => undefined);
    let ledger = this.ledgers.get(repository);
    if (!ledger) {
      const fresh: Ledger = {
        used: 0,
        inFlight: 0,
        holders: 0,
        ready: this.stored(repository).then((used) => {
          fresh.used += used;
        }),
      };
      ledger = fresh;
      this.ledgers.set(repository, ledger);
    }
    ledger.holders++;
    const held = ledger;
    const drop = () => {
      if (--held.holders === 0 && this.ledgers.get(repository) === held) this.ledgers.delete(repository);
    };
    try {
      await held.ready;
    } catch (err) {
      this.ledgers.delete(repository);
      drop();
      throw err;
    }
    return new QuotaReservation(repository, limit, held, drop);
  }
}
