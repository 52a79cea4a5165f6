import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Registry } from '../registry/registry.js';
import { openAccess, type AccessController } from './access.js';
import { Router } from './router.js';

export interface ApiServer {
  readonly server: Server;
  listen(host: string, port: number): Promise<{ host: string; port: number }>;
  /** Stops accepting, lets requests in flight finish (up to the shutdown timeout), then closes every connection. */
  close(): Promise<void>;
}

export function createApiServer(registry: Registry, log: Logger, access: AccessController = openAccess): ApiServer {
  const router = new Router(registry, access);
  const config = registry.config.server;
  let inFlight = 0;
  let drained: (() => void) | null = null;

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint();
    const requestId = (typeof req.headers['x-request-id'] === 'string' && /^[\w.-]{1,100}$/.test(req.headers['x-request-id'])
      ? req.headers['x-request-id']
      : randomUUID());
    res.setHeader('Docker-Distribution-API-Version', 'registry/2.0');
    res.setHeader('X-Request-Id', requestId);
    const reqLog = log.child({ requestId });
    const ctxOut: { repository?: string } = {};
    inFlight++;
    res.once('close', () => {
      inFlight--;
      reqLog.info(
        {
          method: req.method,
          path: req.url?.split('?')[0]?.slice(0, 300),
          status: res.statusCode,
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
          bytesIn: Number(req.headers['content-length'] ?? 0),
          bytesOut: Number(res.getHeader('content-length') ?? 0),
          repository: ctxOut.repository,
        },
        'request',
      );
      if (inFlight === 0 && drained) drained();
    });
    void router.handle(req, res, reqLog, ctxOut);
  };

  const server = createServer({ headersTimeout: config.headersTimeout, requestTimeout: 0, keepAliveTimeout: config.keepAliveTimeout }, onRequest);
  // Stalled clients: a socket idle this long in either direction is destroyed.
  server.setTimeout(config.idleTimeout, (socket: Socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    log.debug({ code: err.code }, 'malformed request');
    if (socket.writable && !socket.destroyed) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    }
    socket.destroy();
  });

  return {
    server,
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
