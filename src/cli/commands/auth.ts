// wharf auth locks|unlock: the login lockouts of a running server, through its admin API
// (/admin/v1/auth/locks), so the command sees what the server sees, whichever store holds the counts. Admin
// credentials come from WHARF_ADMIN_USER / WHARF_ADMIN_PASSWORD, else a prompt on a terminal (the password without
// echo) or the first line of stdin; never from the command line, where other users could read them in `ps`.
import { parseArgs } from 'node:util';
import { promptHidden, readStdinLine, type UserCommandIO } from './user.js';

export const authUsage = `wharf auth locks [--json] | unlock [--user USER] [--address ADDR]  [--url URL]
                                 List or lift login lockouts on a running server (admin credentials from
                                 WHARF_ADMIN_USER/WHARF_ADMIN_PASSWORD or a prompt)`;

export const authHelp = `usage:
  ${authUsage}

--url defaults to $WHARF_URL, else http://127.0.0.1:5000.
unlock --address A: the address and every user locked at it; --user U: U at every address; both: U at A.`;

const processIO = (): UserCommandIO => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });

export class Failure extends Error {}

export interface Lock {
  readonly address: string;
  readonly user?: string;
  readonly lockedUntil: string;
  readonly retryAfterSeconds: number;
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`;
}

async function credentials(io: UserCommandIO): Promise<string> {
  let user = io.env.WHARF_ADMIN_USER;
  let password = io.env.WHARF_ADMIN_PASSWORD;
  const tty = io.stdin.isTTY === true && io.stdin.setRawMode !== undefined;
  if (user === undefined || user === '') {
    if (!tty) throw new Failure('set WHARF_ADMIN_USER (and WHARF_ADMIN_PASSWORD, or give the password on stdin)');
    io.stderr.write('Admin user: ');
    user = await readStdinLine(io.stdin);
  }
  if (password === undefined) password = tty ? await promptHidden('Password: ', io) : await readStdinLine(io.stdin);
  return basic(user, password);
}

function challengeParam(challenge: string, name: string): string | undefined {
  return new RegExp(`${name}="([^"]*)"`).exec(challenge)?.[1];
}

/** Token mode: the admin API wants a bearer token, fetched from the realm its challenge names. */
async function bearerFor(challenge: string, authorization: string): Promise<string> {
  const realm = challengeParam(challenge, 'realm');
  if (!realm) throw new Failure('the server asked for a token but named no token endpoint');
  const url = new URL(realm);
  const service = challengeParam(challenge, 'service');
  if (service) url.searchParams.set('service', service);
  const res = await fetch(url, { headers: { Authorization: authorization } });
  const body = (await res.json().catch(() => ({}))) as { token?: string; errors?: { message?: string }[] };
  if (!res.ok || typeof body.token !== 'string') throw new Failure(`token request failed: ${res.status} ${body.errors?.[0]?.message ?? ''}`.trim());
  return `Bearer ${body.token}`;
}

/** One admin API request; a bearer challenge (token mode) is answered with a token from its realm. */
export async function call(base: string, method: string, path: string, authorization: string): Promise<unknown> {
  const url = new URL(path, base);
  const once = (auth: string) => fetch(url, { method, headers: { Authorization: auth } });
  let res = await once(authorization);
  const challenge = res.headers.get('www-authenticate') ?? '';
  if (res.status === 401 && /^bearer /i.test(challenge)) {
    await res.arrayBuffer();
    res = await once(await bearerFor(challenge, authorization));
  }
  const body = (await res.json().catch(() => null)) as { errors?: { code?: string; message?: string }[] } | null;
  if (!res.ok) {
    const error = body?.errors?.[0];
    throw new Failure(`${method} ${url.pathname}: ${res.status} ${error?.code ?? ''} ${error?.message ?? ''}`.trim());
  }
  return body;
}

export async function authCommand(args: string[], io: UserCommandIO = processIO()): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      user: { type: 'string' },
      address: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const [sub, ...extra] = positionals;
  if (values.help || extra.length > 0 || (sub !== 'locks' && sub !== 'unlock') || (sub === 'unlock' && values.user === undefined && values.address === undefined)) {
    (values.help ? io.stdout : io.stderr).write(`${authHelp}\n`);
    return values.help ? 0 : 2;
  }
  const base = values.url ?? io.env.WHARF_URL ?? 'http://127.0.0.1:5000';
  try {
    const authorization = await credentials(io);
    if (sub === 'locks') {
      const { locks } = (await call(base, 'GET', '/admin/v1/auth/locks', authorization)) as { locks: Lock[] };
      if (values.json) {
        io.stdout.write(`${JSON.stringify(locks)}\n`);
        return 0;
      }
      io.stdout.write('address\tuser\tlocked until\tseconds left\n');
      for (const l of locks) io.stdout.write(`${l.address}\t${l.user ?? '*'}\t${l.lockedUntil}\t${l.retryAfterSeconds}\n`);
      return 0;
    }
    const query = new URLSearchParams();
    if (values.user !== undefined) query.set('user', values.user);
    if (values.address !== undefined) query.set('address', values.address);
    const { unlocked } = (await call(base, 'DELETE', `/admin/v1/auth/locks?${query.toString()}`, authorization)) as { unlocked: number };
    io.stdout.write(`lifted ${unlocked} lock${unlocked === 1 ? '' : 's'}\n`);
    return 0;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    io.stderr.write(`wharf auth: ${cause ? `cannot reach ${base}: ${cause}` : (err as Error).message}\n`);
    return 1;
  }
}
