// The plain-HTTP listener run beside the HTTPS one (tls.http): ACME challenges, redirects, or the API in clear.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import { createPlainHttpHandler, type PlainHttpOptions } from './redirect.js';

export interface PlainHttpListener {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on host:port with createPlainHttpHandler(options). Start it before the certificate source: ACME validates
 * HTTP-01 challenges through it. With redirects the requests are tiny, so they get short timeouts; when the API is
 * served here too (redirect: false) its uploads may take long, as on the main listener.
 */
export async function startPlainHttpListener(host: string, port: number, options: PlainHttpOptions, log: Logger): Promise<PlainHttpListener> {
  const handler = createPlainHttpHandler(options);
  const server = createServer({ headersTimeout: 20_000, requestTimeout: options.redirect ? 30_000 : 0, keepAliveTimeout: 5_000 }, handler);
  if (options.redirect) server.setTimeout(60_000, (socket: Socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    log.debug({ code: err.code }, 'malformed request on the plain-HTTP listener');
    if (socket.writable && !socket.destroyed) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  log.info({ addr: `${bound.address}:${bound.port}`, redirect: options.redirect, acme: options.challenges !== null }, 'plain-HTTP listener up');
  return {
    server,
    host: bound.address,
    port: bound.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
