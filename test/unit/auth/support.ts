// Fixtures and helpers for the auth unit tests (no tests here).
import type { IncomingMessage } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';
import { authConfigSchema, type AuthConfig, type AuthConfigInput } from '../../../src/auth/config.js';
import { bcryptVerify } from '../../../src/auth/credentials.js';

/**
 * Lines written by the real Apache htpasswd (apache2-utils 2.4), generated once and pasted here:
 *   htpasswd -B -C 5 -bn alice 's3cret pass'     htpasswd -B -C 4 -bn bob hunter2
 *   htpasswd -B -C 4 -bn carol 'pa:ss wörd'     htpasswd -B -C 5 -bn dave dave-pw
 *   htpasswd -B -C 4 -bn root rootpw            htpasswd -B -C 4 -bn eve evepw
 */
export const hashes = {
  alice: '$2y$05$sW47W7jGLu32JZ9Q9f9kpu0jAOYvJeR0JJckINawcxLx7KVi86b2e',
  bob: '$2y$04$U9G4NQV4u7wbFwXDUSytUeaOBYEpI0EnJ0fFItAy0lybuN9bUlANe',
  carol: '$2y$04$ebdkGa9qs8P/lRg0JlTgzeyIyQvbtoG0sH6e7AszOF.tHIzfJm6EK',
  dave: '$2y$05$QiVDOnQBAwCcdquM9dEy4e.9WVbZfyh8ttcFn8VYnOmueju1N2kE6',
  root: '$2y$04$jrPB4F69dqQfHMRMaJ8YQOXjMclhEJ9Lkf64EyZ1Mjhd5iuUokNfu',
  eve: '$2y$04$MtVPBYWzq8XvZMeMQARrVuN7dfDDsF4rN3Sz/3ewcaYg73mXXRe2q',
} as const;

export const passwords = {
  alice: 's3cret pass',
  bob: 'hunter2',
  carol: 'pa:ss wörd',
  dave: 'dave-pw',
  root: 'rootpw',
  eve: 'evepw',
} as const;

/** Other kinds htpasswd writes (-m, -s, -d, -p), for the refusal tests. */
export const otherHashes = {
  md5: '$apr1$F7xNVWpQ$UOjUMkpi6.uTtm8RfjT4y.',
  sha: '{SHA}ohgYgF2kkgMlRbH1HlEDczlOc+M=',
  crypt: '7oQ2rd69mekzM',
  plain: 's3cret pass',
} as const;

export function htpasswdText(...users: (keyof typeof hashes)[]): string {
  return users.map((u) => `${u}:${hashes[u]}\n`).join('');
}

/** An external issuer's EC P-256 key and self-signed certificate (openssl req -x509 -newkey ec), generated once. */
export const externalKeyPem = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgIeSdiJqa4wU33EOz
rrSFB1Ycd6YLz/U0sfoR6jZjt6KhRANCAASuiujBZNC8vVAliHH1RfqjEU9owxKi
bLS9LpHdZitsN2G6RRfbV6ZCzKODNcRw3q3RS7pLXxbMSEFrCCpfD5ud
-----END PRIVATE KEY-----
`;

export const externalCertPem = `-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUJKtnmh0lcoXEfheILPo7G2gTlaAwCgYIKoZIzj0EAwIw
HzEdMBsGA1UEAwwUZXh0ZXJuYWwtaXNzdWVyLnRlc3QwIBcNMjYxMTIyMDYyOTQ4
WhgPMjEyNjEwMjkwNjI5NDhaMB8xHTAbBgNVBAMMFGV4dGVybmFsLWlzc3Vlci50
ZXN0MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAErorowWTQvL1QJYhx9UX6oxFP
aMMSomy0vS6R3WYrbDdhukUX21emQsyjgzXEcN6t0Uu6S18WzEhBawgqXw+bnaNT
MFEwHQYDVR0OBBYEFMxUoC62nL+5skBn5b+5XjqBgSnOMB8GA1UdIwQYMBaAFMxU
oC62nL+5skBn5b+5XjqBgSnOMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SAAwRQIhAIumqL9/zVzEtop4IvqAY3ObyBMhjK3rhloyufHZRnMsAiBzJXePkbMK
3HElHmhHMWEt3YJvTStWEm5/EB4/on9+2A==
-----END CERTIFICATE-----
`;

export interface CapturedLog {
  readonly log: Logger;
  readonly lines: () => Record<string, unknown>[];
  readonly text: () => string;
}

/** A pino logger whose JSON lines are kept for assertions. */
export function captureLog(level: pino.Level = 'info'): CapturedLog {
  let buffer = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      buffer += chunk.toString();
      done();
    },
  });
  const log = pino({ level }, sink);
  return {
    log,
    text: () => buffer,
    lines: () =>
      buffer
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

export const silentLog: Logger = pino({ level: 'silent' });

/** A request as the controllers see it: headers and the socket's address. */
export function fakeRequest(headers: Record<string, string> = {}, remoteAddress = '192.0.2.10'): IncomingMessage {
  return { headers, socket: { remoteAddress } } as unknown as IncomingMessage;
}

export function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export function bearer(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}

export function authConfig(input: AuthConfigInput): AuthConfig {
  return authConfigSchema.parse(input);
}

export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-auth-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Polls `condition` until it holds, or fails after `timeoutMs`. */
export async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** A settable clock. */
export function manualClock(start = Date.UTC(2030, 0, 1)): { now: () => number; advance: (ms: number) => void; set: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

/** The real bcrypt check, counting its calls and the hashes it was given; hold() makes checks wait until release(). */
export class HeldVerify {
  calls = 0;
  readonly hashes: string[] = [];
  private gate: Promise<void> | null = null;
  private open: (() => void) | null = null;

  constructor(held = false) {
    if (held) this.hold();
  }

  hold(): void {
    this.gate = new Promise<void>((r) => (this.open = r));
  }

  release(): void {
    this.open?.();
    this.gate = null;
  }

  readonly verify = async (password: string, hash: string): Promise<boolean> => {
    this.calls++;
    this.hashes.push(hash);
    if (this.gate) await this.gate;
    return bcryptVerify(password, hash);
  };
}
