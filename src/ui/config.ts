// The `ui` section: the built-in web UI and its JSON API (/api/v1/), served on the registry's own origin.
import { z } from 'zod';
import { duration, section } from '../config-fields/fields.js';

export const uiConfigSchema = section({
  enabled: z.boolean().default(true).describe('Serve the web UI and its JSON API (`/api/v1/`).'),
  path: z
    .string()
    .regex(/^\/(?:[A-Za-z0-9._~-]+\/)*$/, 'an absolute path ending in /, e.g. / or /ui/')
    .refine((p) => !/^\/(?:v2|api|admin|auth|healthz|readyz)\//.test(p), { message: 'must not be under a path the registry serves (/v2/, /api/, /admin/, /auth/)' })
    .default('/')
    .describe('Where the UI is served (a path ending in /).'),
  title: z.string().min(1).max(100).default('Wharf').describe('Title shown in the UI header and the browser tab.'),
  publicHost: z
    .string()
    .regex(/^[A-Za-z0-9.-]+(?::\d{1,5})?$/, 'HOST or HOST:PORT, e.g. registry.example.com')
    .optional()
    .describe('Host name in the pull commands the UI shows; default the Host the browser used.'),
  sessionTtl: duration('12h').describe('A UI session ends after this long without a request (log in again).'),
  sessionMaxAge: duration('7d').describe('A UI session ends this long after login, however active.'),
}).describe('Built-in web UI.');

export type UiConfig = z.output<typeof uiConfigSchema>;
