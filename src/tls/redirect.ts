// The plain-HTTP listener that sits beside the HTTPS one: ACME challenges first, then a redirect to HTTPS
// (or, with redirects off, the API itself).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http01ChallengeResponder } from './challenges.js';

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface PlainHttpOptions {
  /** Answers /.well-known/acme-challenge/<token> (mode acme); null when certificates come from files. */
  challenges: Http01ChallengeResponder | null;
  /** true: 308 to https://<host>[:httpsPort]<path>; false: hand the request to `fallback`. */
  redirect: boolean;
  /** The port clients reach HTTPS on; left out of the location when 443. */
  httpsPort: number;
  /** The API handler, used when `redirect` is false. Without one, such requests get 404. */
  fallback?: RequestHandler;
}

// A host name, IPv4 address or bracketed IPv6 address, optionally with a port: nothing that could turn the
// location into another URL (no '/', '@', '\', '?', '#').
const hostHeader = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)(:\d{1,5})?$/;

/** Host for the HTTPS location: the request's Host without its port, or null when it is missing or malformed. */
export function redirectHost(host: string | undefined): string | null {
  if (!host || host.length > 300) return null;
  const m = hostHeader.exec(host.trim());
  return m ? m[1]!.toLowerCase() : null;
}

/** Path and query of the request target, also when a client sends the absolute form (GET http://host/path). */
function pathAndQuery(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const u = new URL(target);
    return `${u.pathname}${u.search}`;
  } catch {
    return '/';
  }
}

export function httpsLocation(req: IncomingMessage, httpsPort: number): string | null {
  const host = redirectHost(req.headers.host);
  if (host === null) return null;
  const port = httpsPort === 443 || httpsPort === 0 ? '' : `:${httpsPort}`;
  return `https://${host}${port}${pathAndQuery(req.url ?? '/')}`;
}

export function createPlainHttpHandler(options: PlainHttpOptions): RequestHandler {
  return (req, res) => {
    if (options.challenges?.handle(req, res)) return;
    if (!options.redirect) {
      if (options.fallback) options.fallback(req, res);
      else res.writeHead(404, { 'Content-Length': '0' }).end();
      return;
    }
    const location = httpsLocation(req, options.httpsPort);
    if (location === null) {
      const body = 'a Host header is required: this listener redirects to HTTPS\n';
      res.writeHead(400, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close' });
      res.end(body);
      return;
    }
    // 308 keeps the method and body (a 301/302 turns a PUT into a GET in some clients). The request body, if any,
    // is not read: close the connection rather than drain it.
    const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
    const chunked = req.headers['transfer-encoding'] !== undefined;
    res.writeHead(308, {
      Location: location,
      'Content-Length': '0',
      'Cache-Control': 'no-store',
      ...(hasBody || chunked ? { Connection: 'close' } : {}),
    });
    res.end();
  };
}
