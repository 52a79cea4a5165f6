import type { ServerResponse } from 'node:http';

export function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body?: Buffer | string): void {
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body;
  // A HEAD answer states the length of the body a GET would carry, so callers may set Content-Length themselves.
  res.writeHead(status, { 'Content-Length': payload?.length ?? 0, ...headers });
  res.end(payload);
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string | number> = {}): void {
  send(res, status, { 'Content-Type': 'application/json', ...headers }, JSON.stringify(value));
}
