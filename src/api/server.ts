import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { attachCertificateSource, tlsServerOptions, type CertificateSource } from '../tls/certificates.js';
import { handleCors } from '../http/cors.js';
import { applySecurityHeaders } from '../http/security-headers.js';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { handleHealth } from '../health/endpoints.js';
import type { HealthMonitor } from '../health/monitor.js';
import type { Registry } from '../registry/registry.js';
import { openAccess, type AccessController } from '../auth/access.js';
import type { RequestInfo } from './context.js';
import { Router } from './router.js';
import { RegistryError } from './errors.js';
import { BodyRateGuard } from './body-rate.js';
import { ConnectionLimiter, effectiveConnectionLimits, openFileLimit } from './connection-limits.js';
import type { TokenHandler } from '../auth/types.js';
import type { WebApi } from './handlers/api-v1.js';

/** The web UI and its JSON API: takes the requests that are its own. */
export type WebUi = Pick<WebApi, 'handle'>;
import { clientAddress, normalizeAddress, TrustedProxies } from '../auth/client-address.js';
import { parseAuthorization } from '../auth/login.js';

export interface ApiServer {
  readonly server: Server;
  /** The request handler (the plain-HTTP listener uses it when tls.http.redirect is false). */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops accepting, lets requests in flight finish (up to the shutdown timeout), then closes every connection. */
  close(): Promise<void>;
}

function ignoreStreamError(): void {}

/**
 * The user a refused request's credentials name (Basic's user, a bearer token's subject), unverified: the access
 * line says so with `authenticated: false`. Null for anonymous requests.
 */
function claimedUser(header: string | undefined): string | null {
  const auth = parseAuthorization(header);
  let name: unknown = null;
  if (auth?.scheme === 'basic') name = auth.user;
  else if (auth?.scheme === 'bearer') {
    try {
      name = (JSON.parse(Buffer.from(auth.token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { sub?: unknown }).sub;
    } catch {
      name = null;
    }
  }
  return typeof name === 'string' && name !== '' ? name.slice(0, 255) : null;
}

export function createApiServer(
  registry: Registry,
  log: Logger,
  health: HealthMonitor,
  access: AccessController = openAccess,
  certificates: CertificateSource | null = null,
  tokenHandler?: TokenHandler,
  webUi: WebUi | null = null,
): ApiServer {
  const router = new Router(registry, access);
  const { metrics } = registry;
  const config = registry.config.server;
  let inFlight = 0;
  let drained: (() => void) | null = null;
  // Behind a reverse proxy the socket's peer is the proxy: logs, events and per-client caps name the client the
  // trusted proxies forwarded, by the same rule the login lockout uses.
  const trustedProxies = new TrustedProxies(registry.config.auth.lockout.trustedProxies);
  const bodyRate = new BodyRateGuard({ minBytesPerSecond: config.minRequestBodyRate, window: config.requestBodyRateWindow });

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    // A client that hangs up makes req emit 'error' ('aborted'), even after the handler stopped reading it; the
    // handler's own stream plumbing sees the failure, so an unheard event must not take the process down.
    req.on('error', ignoreStreamError);
    res.on('error', ignoreStreamError);
    const clientId = req.headers['x-request-id'];
    const requestId = typeof clientId === 'string' && /^[\w.-]{1,100}$/.test(clientId) ? clientId : randomUUID();
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.setHeader('X-Request-Id', requestId);
    applySecurityHeaders(res, { tls: (req.socket as TLSSocket).encrypted === true }, registry.config.securityHeaders);
    if (handleCors(req, res, registry.config.cors)) return;
    if (handleHealth(req, res, health, { details: false })) return;
    const reqLog = log.child({ requestId });
    bodyRate.watch(req, res, reqLog);
    const client = clientAddress(req, trustedProxies);
    // Distribution's host:port form for a direct peer; a forwarded client has no port we could know.
    const direct = client === normalizeAddress(req.socket.remoteAddress ?? 'unknown');
    const info: RequestInfo = { requestId, clientAddr: client, remoteAddr: direct ? `${client}:${req.socket.remotePort ?? ''}` : client };
    inFlight++;
    res.once('close', () => {
      inFlight--;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = info.route ?? 'unmatched';
      const bytesIn = Number(req.headers['content-length'] ?? 0);
      const bytesOut = Number(res.getHeader('content-length') ?? 0);
      metrics.httpRequests.inc({ route, method: req.method, status: res.statusCode });
      metrics.httpDuration.observe({ route, method: req.method }, seconds);
      if (bytesIn > 0) metrics.bytesReceived.inc({ route }, bytesIn);
      if (bytesOut > 0 && req.method !== 'HEAD') metrics.bytesSent.inc({ route }, bytesOut);
      reqLog.info(
        {
          method: req.method,
          path: req.url?.split('?')[0]?.slice(0, 300),
          route,
          status: res.statusCode,
          durationMs: Math.round(seconds * 1e6) / 1e3,
          bytesIn,
          bytesOut,
          repository: info.repository,
          action: info.action,
          // Refused requests (401, 403) carry the name the credentials claimed: who is being refused matters most.
          user: info.principal?.name ?? claimedUser(req.headers.authorization),
          // The token endpoint checks credentials itself: its line names the user, without this verdict.
          authenticated: info.route === 'token' ? undefined : Boolean(info.principal?.name),
          remoteAddr: info.remoteAddr,
        },
        'request',
      );
      if (inFlight === 0 && drained) drained();
    });
    if (tokenHandler && /^\/auth\/token(?:\?|$)/.test(req.url ?? '')) {
      info.route = 'token';
      tokenHandler(req, res).catch((err: unknown) => {
        reqLog.error({ err }, 'token endpoint failed');
        res.destroy();
      });
      return;
    }
    if (webUi?.handle(req, res, reqLog, info)) return;
    router.handle(req, res, reqLog, info).catch((err: unknown) => {
      reqLog.error({ err }, 'request handler failed');
      res.destroy();
    });
  };

  const options = { headersTimeout: config.headersTimeout, requestTimeout: 0, keepAliveTimeout: config.keepAliveTimeout };
  let server: Server;
  if (certificates) {
    const { minVersion } = registry.config.tls;
    const httpsServer = createHttpsServer({ ...options, ...tlsServerOptions(certificates, minVersion) }, onRequest);
    attachCertificateSource(httpsServer, certificates, minVersion);
    httpsServer.on('tlsClientError', (err: NodeJS.ErrnoException) => log.debug({ code: err.code, err: err.message }, 'TLS handshake failed'));
    server = httpsServer;
  } else {
    server = createServer(options, onRequest);
  }
  const fdLimit = openFileLimit();
  const limits = effectiveConnectionLimits(config, fdLimit);
  if (limits.maxConnections < config.maxConnections) {
    log.warn({ configured: config.maxConnections, ...limits, openFileLimit: fdLimit }, 'connection caps lowered to what the open-file limit allows');
  }
  new ConnectionLimiter({ ...limits, pressureIdleTimeout: config.pressureIdleTimeout }, log).attach(server);
  // Stalled clients: a socket idle this long in either direction is destroyed.
  server.setTimeout(config.idleTimeout, (socket: Socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    log.debug({ code: err.code }, 'malformed request');
    if (socket.writable && !socket.destroyed) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      // Clients get the same error JSON here as from the router, even for a request too broken to route.
      const error = err.code === 'HPE_HEADER_OVERFLOW'
        ? new RegistryError('SIZE_INVALID', 'request headers too large')
        : new RegistryError('UNSUPPORTED', status === '400 Bad Request' ? 'malformed HTTP request' : 'request timed out');
      const body = JSON.stringify(error.toJSON());
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    }
    socket.destroy();
  });

  return {
    server,
    handler: onRequest,
    listen(host, port) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const addr = server.address();
          resolve(typeof addr === 'object' && addr ? { host: addr.address, port: addr.port } : { host, port });
        });
      });
    },
    async close() {
      bodyRate.stop();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        const finished = new Promise<void>((resolve) => (drained = resolve));
        const timeout = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownTimeout).unref());
        await Promise.race([finished, timeout]);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
