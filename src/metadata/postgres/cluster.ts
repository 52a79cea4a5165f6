// What several Wharf nodes on one database need beyond the content's own locks: a claim on each webhook queue head
// a dispatcher is delivering, and leases on the cluster-wide background jobs. Both expire by the database's clock,
// so nodes whose clocks disagree still agree on when a claim or a lease is over.
import { toDelivery, type DeliveryRow } from '../rows.js';
import type { Delivery, JobLeaseStore } from '../store.js';
import { statements, type Db } from './db.js';
import { queueHead } from './outbox.js';

const clock = '(extract(epoch FROM clock_timestamp()) * 1000)::bigint';

const sql = statements('cluster', {
  // SKIP LOCKED: a head another dispatcher is claiming right now is left to it, not waited for. A head claimed
  // and committed meanwhile is re-checked on its new version (claimed_until), so it is not claimed twice.
  claim: `WITH heads AS (
      SELECT d.endpoint, d.event_id FROM deliveries d
      WHERE d.endpoint = $1 AND d.next_attempt_at <= $2 AND d.claimed_until <= ${clock} AND ${queueHead}
      ORDER BY d.event_id LIMIT $3
      FOR UPDATE OF d SKIP LOCKED
    ), claimed AS (
      UPDATE deliveries d SET claimed_by = $4, claimed_until = ${clock} + $5
      FROM heads WHERE d.endpoint = heads.endpoint AND d.event_id = heads.event_id
      RETURNING d.event_id, d.endpoint, d.repository, d.attempts, d.last_error
    )
    SELECT c.event_id, c.endpoint, c.repository, e.payload, c.attempts, c.last_error, e.created_at
    FROM claimed c JOIN events e ON e.id = c.event_id ORDER BY c.event_id`,
  acquire: `INSERT INTO job_leases (job, holder, expires_at) VALUES ($1, $2, ${clock} + $3)
    ON CONFLICT (job) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
    WHERE job_leases.expires_at <= ${clock} OR job_leases.holder = excluded.holder`,
  renew: `UPDATE job_leases SET expires_at = ${clock} + $3 WHERE job = $1 AND holder = $2`,
  release: 'DELETE FROM job_leases WHERE job = $1 AND holder = $2',
});

export class PostgresCluster implements JobLeaseStore {
  constructor(private readonly db: Db) {}

  async claimDueDeliveries(endpoint: string, holder: string, now: number, limit: number, leaseMs: number): Promise<Delivery[]> {
    return (await this.db.rows<DeliveryRow>(sql.claim, [endpoint, now, limit, holder, leaseMs])).map(toDelivery);
  }

  async tryAcquireJobLease(job: string, holder: string, ttlMs: number): Promise<boolean> {
    return ((await this.db.query(sql.acquire, [job, holder, ttlMs])).rowCount ?? 0) > 0;
  }

  async renewJobLease(job: string, holder: string, ttlMs: number): Promise<boolean> {
    return ((await this.db.query(sql.renew, [job, holder, ttlMs])).rowCount ?? 0) > 0;
  }

  async releaseJobLease(job: string, holder: string): Promise<void> {
    await this.db.query(sql.release, [job, holder]);
  }
}
