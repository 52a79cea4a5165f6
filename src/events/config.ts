import { z } from 'zod';
import { duration } from '../config/fields.js';

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
  .strict();

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
