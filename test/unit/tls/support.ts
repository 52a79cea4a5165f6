// Helpers for the TLS tests: a log that can be waited on, TLS handshakes that report the peer certificate, HTTP calls.
import { request as httpRequest, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { connect, type PeerCertificate, type Server as TlsServer } from 'node:tls';
import type { AddressInfo } from 'node:net';
import pino, { type Logger } from 'pino';

export interface CapturedLog {
  readonly log: Logger;
  readonly lines: Record<string, unknown>[];
  /** Resolves when a line whose msg contains `text` has been logged (after `from` lines), rejects after timeoutMs. */
  waitFor(text: string, timeoutMs?: number, from?: number): Promise<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const lines: Record<string, unknown>[] = [];
  const waiters: { text: string; from: number; resolve: (l: Record<string, unknown>) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) {
      const hit = lines.slice(w.from).find((l) => String(l.msg).includes(w.text));
      if (hit) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(hit);
      }
    }
  };
  const log = pino(
    { level: 'debug' },
    {
      write(s: string) {
        lines.push(JSON.parse(s) as Record<string, unknown>);
        if (process.env.TLS_TEST_VERBOSE) process.stderr.write(s);
        check();
      },
    },
  );
  return {
    log,
    lines,
    waitFor(text, timeoutMs = 10_000, from = 0) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for log "${text}"; log:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`)), timeoutMs);
        waiters.push({
          text,
          from,
          resolve: (l) => {
            clearTimeout(timer);
            resolve(l);
          },
        });
        check();
      });
    },
  };
}

export interface Handshake {
  readonly authorized: boolean;
  readonly authorizationError: string | null;
  readonly peer: PeerCertificate;
}

/**
 * Opens a TLS connection to 127.0.0.1:port trusting only `ca`, with server name `servername` (undefined: no SNI,
 * as clients connecting by IP address do), and reports the certificate the server presented. Never rejects on an
 * untrusted certificate: look at `authorized` (chain and, with a server name, the name).
 */
export function handshake(port: number, ca: string | string[], servername?: string): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    // Without a server name there is no name to check either: `authorized` then reports the chain alone.
    const identity = servername ? { servername } : { checkServerIdentity: () => undefined };
    const socket = connect({ host: '127.0.0.1', port, ca, rejectUnauthorized: false, ...identity }, () => {
      const peer = socket.getPeerCertificate();
      resolve({ authorized: socket.authorized, authorizationError: socket.authorizationError ? String(socket.authorizationError) : null, peer });
      socket.end();
    });
    socket.once('error', reject);
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

export function listen(server: HttpServer | TlsServer, host = '127.0.0.1', port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export function close(server: HttpServer | TlsServer): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    if ('closeAllConnections' in server) (server as HttpServer).closeAllConnections();
  });
}

export interface SimpleResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One plain-HTTP request to 127.0.0.1:port with exactly the given headers (Host included when given). */
export function send(port: number, opts: { method?: string; path?: string; headers?: Record<string, string>; body?: string }): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers: opts.headers ?? {}, setHost: opts.headers?.host === undefined },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export function waitForEvent<T>(subscribe: (fn: (value: T) => void) => () => void, timeoutMs = 10_000, what = 'event'): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const unsubscribe = subscribe((value) => {
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

/** Polls `condition` every 20 ms until it holds; rejects after timeoutMs. */
export async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
