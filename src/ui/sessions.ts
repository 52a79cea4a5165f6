// Web UI sessions: a random id in an HttpOnly cookie, kept in this process's memory (a restart logs everyone out),
// each with its own CSRF token that every state-changing call must echo in a header. Every browser gets a session,
// anonymous ones too, so login itself is CSRF-protected; a login replaces the session (no fixation).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const sessionCookie = 'wharf_session';
export const csrfHeader = 'x-csrf-token';

export interface Session {
  readonly id: string;
  /** null: anonymous. */
  readonly user: string | null;
  /** The user's password entry at login (see WebAccess.credential): the session ends when it changes. */
  readonly credential: string | null;
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeen: number;
}

export interface SessionOptions {
  /** Idle time after which a session ends. */
  readonly ttl: number;
  /** Time after login after which a session ends, however active. */
  readonly maxAge: number;
  readonly now?: () => number;
}

/** Sessions kept at most; the oldest idle ones go first (anonymous browsers must not grow memory without bound). */
const maxSessions = 50_000;

function token(): string {
  return randomBytes(32).toString('base64url');
}

function cookieValue(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;

  constructor(private readonly options: SessionOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The request's live session, refreshed; null when it has none or it expired. */
  find(req: IncomingMessage): Session | null {
    const id = cookieValue(req, sessionCookie);
    if (id === null) return null;
    const session = this.sessions.get(id);
    if (!session) return null;
    const now = this.now();
    if (now - session.lastSeen > this.options.ttl || now - session.createdAt > this.options.maxAge) {
      this.sessions.delete(id);
      return null;
    }
    session.lastSeen = now;
    // Map order is the eviction order: most recently seen last.
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  create(user: string | null, credential: string | null = null): Session {
    const now = this.now();
    const session: Session = { id: token(), user, credential, csrfToken: token(), createdAt: now, lastSeen: now };
    this.sessions.set(session.id, session);
    while (this.sessions.size > maxSessions) this.sessions.delete(this.sessions.keys().next().value!);
    return session;
  }

  end(session: Session): void {
    this.sessions.delete(session.id);
  }

  /** Sets the session cookie: HttpOnly, SameSite=Strict, Secure when the browser came over TLS. */
  setCookie(res: ServerResponse, session: Session | null, options: { secure: boolean; path: string }): void {
    const attributes = [`Path=${options.path}`, 'HttpOnly', 'SameSite=Strict', ...(options.secure ? ['Secure'] : [])];
    const value = session === null ? `${sessionCookie}=; Max-Age=0` : `${sessionCookie}=${session.id}; Max-Age=${Math.floor(this.options.maxAge / 1000)}`;
    res.setHeader('Set-Cookie', [value, ...attributes].join('; '));
  }
}
