// A browser-like client of the UI's JSON API: keeps the session cookie and sends the CSRF token it was given.
import { basicAuthorization } from '../../api/support/auth.js';

export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly json: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class UiSession {
  cookie: string | null = null;
  csrf = '';

  constructor(readonly base: string) {}

  async call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
    const res = await fetch(`${this.base}/api/v1/${path}`, {
      method,
      headers: {
        ...(this.cookie ? { Cookie: this.cookie } : {}),
        ...(method !== 'GET' && this.csrf ? { 'X-CSRF-Token': this.csrf } : {}),
        ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const set = res.headers.get('set-cookie');
    if (set) {
      const value = set.split(';')[0]!;
      this.cookie = value.endsWith('=') ? null : value;
    }
    const text = await res.text();
    const json = text ? JSON.parse(text) : {};
    if (typeof json.csrfToken === 'string') this.csrf = json.csrfToken;
    return { status: res.status, headers: res.headers, json };
  }

  /** Opens an anonymous session (as the page does on load), then logs in. */
  async login(user: { name: string; password: string }): Promise<ApiAnswer> {
    await this.call('GET', 'session');
    return this.call('POST', 'session', { username: user.name, password: user.password });
  }
}

export { basicAuthorization };
