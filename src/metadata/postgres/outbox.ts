import type pg from 'pg';
import { toDelivery, type DeliveryRow } from '../rows.js';
import type { Delivery, DeliveryStats, OutboxEvent, OutboxStore } from '../store.js';
import { run, statements, type Db } from './db.js';

/** `d` (a delivery) is pending and the oldest pending one of its repository for its endpoint: its queue's head. */
export const queueHead = `d.status = 'pending' AND d.event_id = (SELECT min(h.event_id) FROM deliveries h
  WHERE h.endpoint = d.endpoint AND h.status = 'pending' AND h.repository = d.repository)`;

const sql = statements('outbox', {
  // One lock per repository, held to the commit: the event ids a repository's queue is ordered by are then handed
  // out in commit order (an identity value is drawn at insert, not at commit).
  lockQueues: `SELECT pg_advisory_xact_lock(hashtextextended('wharf-outbox/' || r, 0))
    FROM (SELECT DISTINCT r FROM unnest($1::text[]) AS r ORDER BY r) sorted`,
  insertEvent: 'INSERT INTO events (repository, payload, created_at) VALUES ($1, $2, $3) RETURNING id',
  insertDeliveries: `INSERT INTO deliveries (endpoint, event_id, repository, status, next_attempt_at)
    SELECT unnest($1::text[]), $2, $3, 'pending', $4`,
  dueDeliveries: `SELECT d.event_id, d.endpoint, d.repository, e.payload, d.attempts, d.last_error, e.created_at
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.endpoint = $1 AND d.next_attempt_at <= $2 AND ${queueHead}
    ORDER BY d.event_id LIMIT $3`,
  deleteDelivery: 'DELETE FROM deliveries WHERE endpoint = $1 AND event_id = $2',
  deleteEventIfDone: 'DELETE FROM events WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = $1)',
  failDelivery: `UPDATE deliveries SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2, status = $3,
      claimed_by = NULL, claimed_until = 0
    WHERE endpoint = $4 AND event_id = $5`,
  deliveryStats: `SELECT endpoint, count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'dead') AS dead
    FROM deliveries GROUP BY endpoint ORDER BY endpoint`,
  deadDeliveries: `SELECT d.event_id, d.endpoint, d.repository, e.payload, d.attempts, d.last_error, e.created_at
    FROM deliveries d JOIN events e ON e.id = d.event_id
    WHERE d.status = 'dead' AND ($1::text IS NULL OR d.endpoint = $1) ORDER BY d.event_id LIMIT $2`,
  requeueDead: `UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = $1
    WHERE status = 'dead' AND ($2::text IS NULL OR endpoint = $2)`,
});

/**
 * The outbox in PostgreSQL. `record` runs inside the caller's transaction, last, so an event commits with its
 * change, and events of one repository get ids in the order their transactions commit, whichever node runs them.
 */
export class PostgresOutbox implements Omit<OutboxStore, 'claimDueDeliveries'> {
  constructor(private readonly db: Db) {}

  async record(client: pg.ClientBase, events: readonly OutboxEvent[] | undefined, now: number): Promise<void> {
    const wanted = (events ?? []).filter((e) => e.endpoints.length > 0);
    if (wanted.length === 0) return;
    await run(client, sql.lockQueues, [[...new Set(wanted.map((e) => e.repository))]]);
    for (const event of wanted) {
      const { rows } = await run<{ id: number }>(client, sql.insertEvent, [event.repository, event.payload, now]);
      await run(client, sql.insertDeliveries, [[...new Set(event.endpoints)], rows[0]!.id, event.repository, now]);
    }
  }

  async appendEvents(events: readonly OutboxEvent[]): Promise<void> {
    await this.db.tx((client) => this.record(client, events, Date.now()));
  }

  async dueDeliveries(endpoint: string, now: number, limit: number): Promise<Delivery[]> {
    return (await this.db.rows<DeliveryRow>(sql.dueDeliveries, [endpoint, now, limit])).map(toDelivery);
  }

  async markDelivered(endpoint: string, eventId: number): Promise<void> {
    await this.db.tx(async (client) => {
      await run(client, sql.deleteDelivery, [endpoint, eventId]);
      await run(client, sql.deleteEventIfDone, [eventId]);
    });
  }

  async markFailed(endpoint: string, eventId: number, error: string, nextAttemptAt: number | null): Promise<void> {
    await this.db.query(sql.failDelivery, [error.slice(0, 1000), nextAttemptAt ?? 0, nextAttemptAt === null ? 'dead' : 'pending', endpoint, eventId]);
  }

  async deliveryStats(): Promise<DeliveryStats[]> {
    return this.db.rows<{ endpoint: string; pending: number; dead: number }>(sql.deliveryStats);
  }

  async listDeadDeliveries(endpoint: string | null, limit: number): Promise<Delivery[]> {
    return (await this.db.rows<DeliveryRow>(sql.deadDeliveries, [endpoint, limit])).map(toDelivery);
  }

  async requeueDead(endpoint: string | null): Promise<number> {
    return (await this.db.query(sql.requeueDead, [Date.now(), endpoint])).rowCount ?? 0;
  }
}
