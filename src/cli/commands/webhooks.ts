import { parseArgs } from 'node:util';
import { dataOptions, loadExistingRegistry } from '../config-options.js';
import { createMetadataStore } from '../../registry/registry.js';

export const webhooksUsage = `wharf webhooks status|dead|retry [--config FILE] [--data-dir DIR] [--endpoint NAME]
                                 Outbox backlog per endpoint; list or re-queue dead-lettered events`;

/** Reads the outbox of the (possibly running) registry: SQLite in WAL mode lets a second process read and write. */
export async function webhooksCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...dataOptions, endpoint: { type: 'string' }, limit: { type: 'string' } },
  });
  const sub = positionals[0];
  if (sub !== 'status' && sub !== 'dead' && sub !== 'retry') {
    process.stderr.write(`usage: ${webhooksUsage}\n`);
    return 2;
  }
  const config = await loadExistingRegistry('webhooks', values);
  const metadata = createMetadataStore(config);
  const endpoint = values.endpoint ?? null;
  try {
    if (sub === 'status') {
      const stats = await metadata.deliveryStats();
      const configured = new Set(config.webhooks.endpoints.map((e) => e.name));
      const names = [...new Set([...configured, ...stats.map((s) => s.endpoint)])].sort();
      process.stdout.write('endpoint\tpending\tdead\n');
      for (const name of names) {
        const row = stats.find((s) => s.endpoint === name);
        process.stdout.write(`${name}${configured.has(name) ? '' : ' (not configured)'}\t${row?.pending ?? 0}\t${row?.dead ?? 0}\n`);
      }
    } else if (sub === 'dead') {
      const dead = await metadata.listDeadDeliveries(endpoint, Number(values.limit ?? 100));
      for (const d of dead) {
        const event = JSON.parse(d.payload) as { action: string; target: { digest: string; tag?: string } };
        process.stdout.write(
          `${JSON.stringify({ endpoint: d.endpoint, eventId: d.eventId, repository: d.repository, action: event.action, digest: event.target.digest, tag: event.target.tag, attempts: d.attempts, lastError: d.lastError, createdAt: new Date(d.createdAt).toISOString() })}\n`,
        );
      }
    } else {
      process.stdout.write(`re-queued ${await metadata.requeueDead(endpoint)} dead-lettered deliveries\n`);
    }
    return 0;
  } finally {
    await metadata.close();
  }
}
