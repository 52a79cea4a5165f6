import type Database from 'better-sqlite3';
import type { Delivery, DeliveryStats, OutboxEvent, OutboxStore } from './store.js';
import { toDelivery, type DeliveryRow } from './rows.js';

/** `d` (a delivery) is pending and the oldest pending one of its repository for its endpoint: its queue's head. */
export const queueHead = `d.status = 'pending' AND d.event_id = (SELECT min(h.event_id) FROM deliveries h
  WHERE h.endpoint = d.endpoint AND h.status = 'pending' AND h.repository = d.repository)`;

/** The outbox in SQLite. `record` runs inside the caller's transaction, so an event commits with its change. */
export class SqliteOutbox implements Omit<OutboxStore, 'claimDueDeliveries'> {
  private readonly stmt;

  constructor(private readonly db: Database.Database) {
    this.stmt = {
      insertEvent: db.prepare<[string, string, number], { id: number }>(
        'INSERT INTO events (repository, payload, created_at) VALUES (?, ?, ?) RETURNING id',
      ),
      insertDelivery: db.prepare(
        "INSERT INTO deliveries (endpoint, event_id, repository, status, next_attempt_at) VALUES (?, ?, ?, 'pending', ?)",
      ),
      dueDeliveries: db.prepare<[string, number, number], DeliveryRow>(
        `SELECT d.event_id, d.endpoint, d.repository, e.payload, d.attempts, d.last_error, e.created_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.endpoint = ? AND d.next_attempt_at <= ? AND ${queueHead}
         ORDER BY d.event_id LIMIT ?`,
      ),
      deleteDelivery: db.prepare('DELETE FROM deliveries WHERE endpoint = ? AND event_id = ?'),
      deleteEventIfDone: db.prepare('DELETE FROM events WHERE id = ? AND NOT EXISTS (SELECT 1 FROM deliveries WHERE event_id = ?)'),
      failDelivery: db.prepare(
        `UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?, status = ?, claimed_by = NULL, claimed_until = 0
         WHERE endpoint = ? AND event_id = ?`,
      ),
      deliveryStats: db.prepare<[], { endpoint: string; pending: number; dead: number }>(
        `SELECT endpoint, sum(status = 'pending') AS pending, sum(status = 'dead') AS dead FROM deliveries GROUP BY endpoint ORDER BY endpoint`,
      ),
      deadDeliveries: db.prepare<[string | null, string | null, number], DeliveryRow>(
        `SELECT d.event_id, d.endpoint, d.repository, e.payload, d.attempts, d.last_error, e.created_at
         FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.status = 'dead' AND (? IS NULL OR d.endpoint = ?) ORDER BY d.event_id LIMIT ?`,
      ),
      requeueDead: db.prepare(
        "UPDATE deliveries SET status = 'pending', attempts = 0, next_attempt_at = ? WHERE status = 'dead' AND (? IS NULL OR endpoint = ?)",
      ),
    };
  }

  record(events: readonly OutboxEvent[] | undefined, now: number): void {
    for (const event of events ?? []) {
      if (event.endpoints.length === 0) continue;
      const { id } = this.stmt.insertEvent.get(event.repository, event.payload, now)!;
      for (const endpoint of event.endpoints) this.stmt.insertDelivery.run(endpoint, id, event.repository, now);
    }
  }

  async appendEvents(events: readonly OutboxEvent[]): Promise<void> {
    this.db.transaction(() => this.record(events, Date.now()))();
  }

  async dueDeliveries(endpoint: string, now: number, limit: number): Promise<Delivery[]> {
    return this.stmt.dueDeliveries.all(endpoint, now, limit).map(toDelivery);
  }

  async markDelivered(endpoint: string, eventId: number): Promise<void> {
    this.db.transaction(() => {
      this.stmt.deleteDelivery.run(endpoint, eventId);
      this.stmt.deleteEventIfDone.run(eventId, eventId);
    })();
  }

  async markFailed(endpoint: string, eventId: number, error: string, nextAttemptAt: number | null): Promise<void> {
    this.stmt.failDelivery.run(error.slice(0, 1000), nextAttemptAt ?? 0, nextAttemptAt === null ? 'dead' : 'pending', endpoint, eventId);
  }

  async deliveryStats(): Promise<DeliveryStats[]> {
    return this.stmt.deliveryStats.all();
  }

  async listDeadDeliveries(endpoint: string | null, limit: number): Promise<Delivery[]> {
    return this.stmt.deadDeliveries.all(endpoint, endpoint, limit).map(toDelivery);
  }

  async requeueDead(endpoint: string | null): Promise<number> {
    return this.stmt.requeueDead.run(Date.now(), endpoint, endpoint).changes;
  }
}
