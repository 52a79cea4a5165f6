// Calls to the UI's JSON API: same origin, the session cookie, and the CSRF token on every change.
export interface Session {
  user: string | null;
  admin: boolean;
  csrfToken: string;
  title: string;
  publicHost: string;
  authRequired: boolean;
  canLogin: boolean;
  mayBrowse: boolean;
  deleteEnabled: boolean;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';

export function setCsrf(token: string): void {
  csrf = token;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`/api/v1/${path}`, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const json = text ? JSON.parse(text) : {};
  if (!res.ok) throw new ApiError(res.status, json?.errors?.[0]?.message ?? `HTTP ${res.status}`);
  return json as T;
}

export const enc = (name: string): string => name.split('/').map(encodeURIComponent).join('/');
