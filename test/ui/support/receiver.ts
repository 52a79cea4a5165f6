// A webhook receiver for the UI's tests: a real local HTTP server that answers whatever status it is told to
// (500 makes deliveries fail until they are dead-lettered) and keeps the events it accepted.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HookReceiver {
  readonly url: string;
  /** What the next requests get. */
  status: number;
  /** Requests answered, accepted or not. */
  readonly hits: { status: number }[];
  /** Events of the requests answered 2xx: action, repository, tag. */
  readonly accepted: { action: string; repository: string; tag?: string }[];
  close(): Promise<void>;
}

export async function startReceiver(status: number): Promise<HookReceiver> {
  const receiver = { status, hits: [] as { status: number }[], accepted: [] as HookReceiver['accepted'] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const answer = receiver.status;
      receiver.hits.push({ status: answer });
      if (answer < 300) {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { events: { action: string; target: { repository: string; tag?: string } }[] };
        for (const e of body.events) receiver.accepted.push({ action: e.action, repository: e.target.repository, ...(e.target.tag ? { tag: e.target.tag } : {}) });
      }
      res.writeHead(answer).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(receiver, {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}

/** Webhook settings that dead-letter a failing delivery within a fraction of a second. */
export function fastWebhooks(url: string, repositories: string[]): Record<string, unknown> {
  return {
    webhooks: {
      endpoints: [{ name: 'ci', url, actions: ['push'], repositories }],
      maxAttempts: 2,
      initialBackoff: '50ms',
      maxBackoff: '100ms',
      pollInterval: '100ms',
    },
  };
}
