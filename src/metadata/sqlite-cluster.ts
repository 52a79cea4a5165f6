// What several Wharf nodes on one store need (the outbox's claimDueDeliveries, JobLeaseStore; see store.ts), on SQLite.
// SQLite serves one host, but the same database file may be opened by more than one process (the server and a
// one-shot command, or two connections in tests): claims and leases are written in IMMEDIATE transactions, which
// SQLite serialises, so the contract holds exactly as on PostgreSQL. The clock is the host's.
import type Database from 'better-sqlite3';
import { toDelivery, type DeliveryRow } from './rows.js';
import { queueHead } from './sqlite-outbox.js';
import type { Delivery, JobLeaseStore } from './store.js';

export class SqliteCluster implements JobLeaseStore {
  private readonly stmt;
  private readonly claimTx;

  constructor(db: Database.Database) {
    this.stmt = {
      claimable: db.prepare<[string, number, number, number], DeliveryRow>(
        `SELECT d.event_id, d.endpoint, d.repository, e.payload, d.attempts, d.last_error, e.created_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.endpoint = ? AND d.next_attempt_at <= ? AND d.claimed_until <= ? AND ${queueHead}
         ORDER BY d.event_id LIMIT ?`,
      ),
      claim: db.prepare('UPDATE deliveries SET claimed_by = ?, claimed_until = ? WHERE endpoint = ? AND event_id = ?'),
      acquire: db.prepare(
        `INSERT INTO job_leases (job, holder, expires_at) VALUES (?, ?, ?)
         ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE job_leases.expires_at <= ? OR job_leases.holder = excluded.holder`,
      ),
      renew: db.prepare('UPDATE job_leases SET expires_at = ? WHERE job = ? AND holder = ?'),
      release: db.prepare('DELETE FROM job_leases WHERE job = ? AND holder = ?'),
    };
    this.claimTx = db.transaction((endpoint: string, holder: string, now: number, limit: number, leaseMs: number): Delivery[] => {
      const clock = Date.now();
      const rows = this.stmt.claimable.all(endpoint, now, clock, limit);
      for (const row of rows) this.stmt.claim.run(holder, clock + leaseMs, endpoint, row.event_id);
      return rows.map(toDelivery);
    });
  }

  async claimDueDeliveries(endpoint: string, holder: string, now: number, limit: number, leaseMs: number): Promise<Delivery[]> {
    return this.claimTx.immediate(endpoint, holder, now, limit, leaseMs);
  }

  async tryAcquireJobLease(job: string, holder: string, ttlMs: number): Promise<boolean> {
    const clock = Date.now();
    return this.stmt.acquire.run(job, holder, clock + ttlMs, clock).changes > 0;
  }

  async renewJobLease(job: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.stmt.renew.run(Date.now() + ttlMs, job, holder).changes > 0;
  }

  async releaseJobLease(job: string, holder: string): Promise<void> {
    this.stmt.release.run(job, holder);
  }
}
