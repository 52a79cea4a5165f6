import { z } from 'zod';
import { duration } from '../config-fields/fields.js';

export const eventActions = ['push', 'pull', 'delete', 'mount'] as const;
export type EventAction = (typeof eventActions)[number];

export const webhookEndpointSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only'),
    url: z.url({ protocol: /^https?$/ }),
    headers: z.record(z.string(), z.string()).default({}),
    timeout: duration('5s'),
    actions: z.array(z.enum(eventActions)).default(['push', 'delete']),
    repositories: z.array(z.string().min(1)).default(['**']),
    format: z.enum(['distribution', 'cloudevents']).default('distribution'),
  })
  .strict()
  .superRefine((endpoint, ctx) => {
    const url = new URL(endpoint.url);
    try {
      decodeURIComponent(url.username + url.password);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'malformed percent-encoding in the URL credentials' });
    }
    if ((url.username || url.password) && Object.keys(endpoint.headers).some((h) => h.toLowerCase() === 'authorization')) {
      // Two sources of credentials: which one the receiver should see would be a guess.
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'credentials in the URL and an Authorization header: keep one' });
    }
  });

export type WebhookEndpoint = z.output<typeof webhookEndpointSchema>;

export const webhooksConfigSchema = z
  .object({
    endpoints: z
      .array(webhookEndpointSchema)
      .default([])
      .refine((list) => new Set(list.map((e) => e.name)).size === list.length, 'endpoint names must be unique')
      .describe(
        'Receivers: `name`, `url`, `headers` (map), `timeout` (5s), `actions` (push, pull, delete, mount; default push+delete), `repositories` (globs, default `**`), `format` (`distribution` or `cloudevents`).',
      ),
    maxAttempts: z.number().int().positive().default(12).describe('Attempts before a delivery is dead-lettered.'),
    initialBackoff: duration('1s').describe('Wait after the first failed attempt; doubles on each failure.'),
    maxBackoff: duration('5m').describe('Longest wait between attempts.'),
    pollInterval: duration('1s').describe('How often the outbox is checked for due deliveries.'),
  })
  .strict()
  .prefault({} as never);

/**
 * What a delivery sends to: `user:pass@` in the URL (ntfy, Gotify and most hook receivers document it) becomes an
 * `Authorization: Basic` header, because fetch() refuses URLs with credentials. The URL returned carries no
 * credentials, so whatever logs or prints it cannot leak the password.
 */
export function webhookTarget(endpoint: WebhookEndpoint): { url: string; headers: Record<string, string> } {
  const url = new URL(endpoint.url);
  if (!url.username && !url.password) return { url: endpoint.url, headers: endpoint.headers };
  const credentials = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
  url.username = '';
  url.password = '';
  return { url: url.href, headers: { ...endpoint.headers, Authorization: `Basic ${Buffer.from(credentials, 'utf8').toString('base64')}` } };
}
