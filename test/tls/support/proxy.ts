// A minimal TLS-terminating proxy in front of a plain-HTTP Wharf, its certificate from a CertificateSource: lets real
// clients test the certificate handling before Wharf serves TLS itself. Streams both ways, keeps Host and every
// end-to-end header, adds X-Forwarded-Proto: https.
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { attachCertificateSource, tlsServerOptions, type CertificateSource } from '../../../src/tls/certificates.js';
import { close, listen } from '../../unit/tls/support.js';

const hopByHop = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** Raw header pairs without hop-by-hop headers (and without `drop`). */
function endToEnd(raw: readonly string[], drop: readonly string[] = []): string[] {
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    if (!hopByHop.has(name) && !drop.includes(name)) out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
}

export interface TlsProxy {
  readonly port: number;
  readonly server: HttpsServer;
  close(): Promise<void>;
}

export async function startTlsProxy(source: CertificateSource, upstreamPort: number): Promise<TlsProxy> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const headers = [...endToEnd(req.rawHeaders, ['x-forwarded-proto']), 'X-Forwarded-Proto', 'https'];
    const upstream = httpRequest({ host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers, agent }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, endToEnd(up.rawHeaders));
      up.pipe(res);
      up.on('error', () => res.destroy());
    });
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' }).end(`proxy: ${err.message}\n`);
      else res.destroy();
    });
    req.pipe(upstream);
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  };
  const server = createHttpsServer({ ...tlsServerOptions(source), requestTimeout: 0 }, forward);
  const detach = attachCertificateSource(server, source);
  const port = await listen(server);
  return {
    port,
    server,
    async close() {
      detach();
      await close(server);
      agent.destroy();
    },
  };
}
