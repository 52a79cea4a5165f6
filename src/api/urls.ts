import type { IncomingMessage } from 'node:http';

const hostPattern = /^[A-Za-z0-9.\-_[\]:]+$/;

/**
 * Location headers. Absolute URLs are what Distribution sends and what old clients expect; behind a TLS proxy
 * they must carry the proxy's scheme and host, which the proxy passes in X-Forwarded-Proto/-Host.
 */
/** The part of the server section Location headers depend on. */
export interface LocationOptions {
  readonly relativeUrls: boolean;
  readonly trustProxyHeaders: boolean;
}

export function locationFor(req: IncomingMessage, config: LocationOptions, path: string): string {
  if (config.relativeUrls) return path;
  const forwardedHost = config.trustProxyHeaders ? firstValue(req.headers['x-forwarded-host']) : undefined;
  const host = forwardedHost ?? req.headers.host;
  if (!host || !hostPattern.test(host)) return path;
  const forwardedProto = config.trustProxyHeaders ? firstValue(req.headers['x-forwarded-proto'])?.toLowerCase() : undefined;
  const encrypted = (req.socket as { encrypted?: boolean }).encrypted === true;
  const proto = forwardedProto === 'https' || forwardedProto === 'http' ? forwardedProto : encrypted ? 'https' : 'http';
  return `${proto}://${host}${path}`;
}

function firstValue(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  return value?.split(',')[0]?.trim() || undefined;
}
