// The `auth` section of Wharf's configuration: who may log in (htpasswd), how (Basic or Docker tokens), and what
// each caller may do (groups, rules, admins, anonymous access). The lead mounts it as `auth: authConfigSchema`.
import { z } from 'zod';
import { duration, positiveInt, section } from '../config-fields/fields.js';
import { parseProxyEntry } from './client-address.js';

export const authActions = ['pull', 'push', 'delete'] as const;

const name = z.string().min(1).max(255).regex(/^[^:\s]+$/, 'no colons or whitespace');
const glob = z.string().min(1).max(255);

const groupSchema = z.object({ name, members: z.array(name).default([]) }).strict();

const anonymousSchema = z
  .object({
    repositories: z.array(glob).min(1),
    actions: z.array(z.enum(authActions)).min(1),
  })
  .strict();

const ruleSchema = z
  .object({
    users: z.array(name).default([]),
    groups: z.array(name).default([]),
    repositories: z.array(glob).min(1),
    actions: z.array(z.enum(authActions)).min(1),
  })
  .strict()
  .refine((r) => r.users.length > 0 || r.groups.length > 0, {
    message: "a rule names at least one user or group (use users: ['*'] for every logged-in user)",
  });

const externalSchema = z
  .object({
    issuer: z.string().min(1).describe('`iss` of the external token server; tokens from any other issuer are refused.'),
    audience: z.string().min(1).optional().describe('`aud` its tokens carry; default `auth.token.service`.'),
    jwksUrl: z.url({ protocol: /^https?$/ }).optional().describe('JWKS URL of its signing keys (fetched and cached); give this or `certificate`.'),
    certificate: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file with its signing certificate(s) or public key(s) (the `rootcertbundle` of Distribution); give this or `jwksUrl`.'),
  })
  .strict()
  .refine((e) => (e.jwksUrl === undefined) !== (e.certificate === undefined), { message: 'give exactly one of jwksUrl and certificate' });

export const authConfigSchema = z
  .object({
    mode: z
      .enum(['none', 'basic', 'token'])
      .default('none')
      .describe('`none`: open registry, everyone may do everything; `basic`: HTTP Basic against the htpasswd file; `token`: Docker token authentication.'),
    realm: z.string().min(1).default('Wharf registry').describe('Realm named in Basic challenges (the registry in basic mode, the token endpoint in token mode).'),
    htpasswd: section({
      path: z.string().min(1).optional().describe('htpasswd file with bcrypt hashes (`htpasswd -B`, `wharf user add`); re-read when it changes.'),
      cacheTtl: duration('60s').describe('How long a verified user/password pair is remembered, so bcrypt is not paid on every request (0: never).'),
    }).describe('Users and passwords.'),
    token: section({
      realm: z
        .url({ protocol: /^https?$/ })
        .optional()
        .describe('Absolute URL of the token endpoint clients are sent to (Wharf serves its own at `/auth/token`); required in token mode.'),
      service: z.string().min(1).default('wharf').describe('Service name in challenges; the `aud` every accepted token must carry.'),
      issuer: z.string().min(1).default('wharf').describe('`iss` of the tokens Wharf issues.'),
      issue: z.boolean().default(true).describe('Serve Wharf’s own token endpoint (false: only tokens of `token.external` are accepted).'),
      ttl: duration('5m')
        .refine((ms) => ms >= 60_000, { message: 'tokens must live at least 60s (clients assume that)' })
        .describe('Lifetime of the access tokens Wharf issues.'),
      refreshTtl: duration('30d').describe('Lifetime of refresh tokens (OAuth2 password grant with access_type=offline); 0: no refresh tokens.'),
      keyDir: z.string().min(1).optional().describe('Directory for the token signing key (created on first start, mode 0600); default `<dataDir>/auth`.'),
      external: externalSchema.optional(),
    }).describe('Docker token authentication.'),
    groups: z
      .array(groupSchema)
      .default([])
      .describe('Groups for rules: a list of `{name, members: [user, …]}`.'),
    anonymous: z
      .array(anonymousSchema)
      .default([])
      .describe('What callers without credentials may do: a list of `{repositories: [glob, …], actions: [pull, push, delete]}`. Logged-in users may do this too.'),
    rules: z
      .array(ruleSchema)
      .default([])
      .describe(
        'Grants: a list of `{users: [name, …], groups: [name, …], repositories: [glob, …], actions: [pull, push, delete]}`; `users: ["*"]` is every logged-in user. Globs: `*` one path segment, `**` any depth (`team-a/**`, `library/*`, `**`). Whatever no rule grants is denied; `docker push` needs pull and push.',
      ),
    admins: z.array(name).default([]).describe('Users who may do everything, including the full catalog.'),
    adminGroups: z.array(name).default([]).describe('Groups whose members are admins.'),
    lockout: section({
      maxFailures: positiveInt(10).describe(
        'Failed logins for one user from one client address within `window` that lock that pair out; the user can still log in from elsewhere. At most this many passwords are checked per pair and window, however many arrive at once.',
      ),
      maxAddressFailures: positiveInt(50).describe(
        'Failed logins from one client address (an IPv6 client: its /64), whichever users they name, within `window` that lock the address out.',
      ),
      window: duration('5m').describe('Window in which failed logins are counted.'),
      duration: duration('15m').describe('How long a lockout lasts (429 TOOMANYREQUESTS with Retry-After); `wharf auth unlock` ends one early.'),
      trustedProxies: z
        .array(z.string().refine((e) => parseProxyEntry(e) !== null, { message: 'expected an IP address or CIDR such as 10.0.0.0/8' }))
        .default([])
        .describe(
          'Addresses or CIDRs of reverse proxies in front of Wharf. A request from one of them is counted against the right-most X-Forwarded-For entry that is not a trusted proxy; entries left of it are ignored (clients can write anything there). Empty: the socket address.',
        ),
      trustForwardedFor: z
        .boolean()
        .optional()
        .refine((v) => v !== true, {
          message: 'was replaced by auth.lockout.trustedProxies: list the addresses or CIDRs of your reverse proxies there (e.g. [127.0.0.1])',
        })
        .describe('Removed; `true` is an error (list the proxies in `trustedProxies`), `false` is the default and ignored.'),
      maxTracked: positiveInt(10_000).describe('Addresses and user/address pairs tracked at once (the least recently seen are forgotten first).'),
    }).describe('Brute-force protection.'),
    verification: section({
      maxConcurrent: positiveInt(2).describe(
        'bcrypt password checks run at once, each on a core of its own (in libuv’s thread pool, beside file I/O); about half the cores leaves the rest for serving. Successes remembered by `htpasswd.cacheTtl` need no check.',
      ),
      maxQueued: z
        .number()
        .int()
        .min(0)
        .default(32)
        .describe('Checks that may wait for a free slot; beyond that a login is answered 429 TOOMANYREQUESTS (Retry-After: 1) at once, without bcrypt.'),
    }).describe('Bounds on password-checking work.'),
  })
  .strict()
  .superRefine((auth, ctx) => {
    const known = new Set(auth.groups.map((g) => g.name));
    if (known.size !== auth.groups.length) ctx.addIssue({ code: 'custom', path: ['groups'], message: 'group names must be unique' });
    auth.rules.forEach((rule, i) => {
      for (const g of rule.groups) {
        if (!known.has(g)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'groups'], message: `unknown group ${JSON.stringify(g)} (define it under auth.groups)` });
      }
    });
    for (const g of auth.adminGroups) {
      if (!known.has(g)) ctx.addIssue({ code: 'custom', path: ['adminGroups'], message: `unknown group ${JSON.stringify(g)} (define it under auth.groups)` });
    }
    const needsUsers = auth.mode === 'basic' || (auth.mode === 'token' && auth.token.issue);
    if (needsUsers && auth.htpasswd.path === undefined) {
      ctx.addIssue({ code: 'custom', path: ['htpasswd', 'path'], message: `${auth.mode} mode needs an htpasswd file to log users in` });
    }
    if (auth.mode === 'token') {
      if (auth.token.realm === undefined) ctx.addIssue({ code: 'custom', path: ['token', 'realm'], message: 'token mode needs the URL of the token endpoint' });
      if (auth.token.issue && auth.token.external?.issuer === auth.token.issuer) {
        ctx.addIssue({ code: 'custom', path: ['token', 'external', 'issuer'], message: 'must differ from auth.token.issuer (Wharf’s own tokens)' });
      }
      if (!auth.token.issue && auth.token.external === undefined) {
        ctx.addIssue({ code: 'custom', path: ['token', 'external'], message: 'with token.issue false, configure the external token issuer to trust' });
      }
    }
  })
  .prefault({} as never)
  .describe('Authentication (htpasswd users; Basic or Docker token auth) and authorization policies. Off by default.');

export type AuthConfig = z.output<typeof authConfigSchema>;
export type AuthConfigInput = z.input<typeof authConfigSchema>;
export type AuthRule = AuthConfig['rules'][number];
export type AnonymousRule = AuthConfig['anonymous'][number];
