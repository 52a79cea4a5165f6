// A minimal HTTP/1.1 GET over a raw socket, for pulling large blobs.
//
// Why not undici here: its response path allocates a buffer per 64 KiB read and runs each through llhttp and
// a stream; measured on this machine it needs ~0.8 core to receive 1 GB/s, so on 2 shared cores the client,
// not the server, would set the pull figure. Reading into one reused buffer (net's `onread`) costs ~0.15 core
// per GB/s. The request is an ordinary GET; only Content-Length bodies are handled (the caller falls back to
// undici otherwise).
import { connect } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  /** Bytes of body delivered to onBody (status 200) or the start of the error body (other statuses). */
  readonly bodyBytes: number;
  readonly errorText: string;
}

export class NoContentLength extends Error {
  override readonly name = 'NoContentLength';
}

const READ_BUFFER = 1024 * 1024;
const HEAD_LIMIT = 64 * 1024;

function parseHead(head: string): { status: number; headers: Map<string, string> } {
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error(`bad status line: ${lines[0]}`);
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return { status: Number(m[1]), headers };
}

/**
 * GETs `path` from `origin`; for a 200 response, `onBody(view, offset)` sees every body byte in order. The view
 * is only valid during the call (the buffer is reused). Returning false from onBody aborts with an error.
 */
export function rawGet(origin: URL, path: string, headers: Record<string, string>, onBody: (view: Buffer, offset: number) => boolean): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let head: Buffer | null = Buffer.alloc(0);
    let status = 0;
    let parsed = new Map<string, string>();
    let length = -1;
    let received = 0;
    let errorText = '';
    let settled = false;

    const finish = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve({ status, headers: parsed, bodyBytes: received, errorText });
    };

    const body = (view: Buffer): void => {
      const take = view.subarray(0, length - received);
      if (status === 200) {
        if (!onBody(take, received)) return finish(new Error(`body bytes differ from the expected content at offset ${received}`));
      } else if (errorText.length < 300) {
        errorText += take.toString('utf8');
      }
      received += take.length;
      if (received === length) finish(null);
    };

    const socket = connect({
      host: origin.hostname,
      port: Number(origin.port || 80),
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (n: number, buf: Uint8Array): boolean => {
          const data = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (head === null) {
            body(data);
            return true;
          }
          head = Buffer.concat([head, data]); // the head is small; copying it out of the reused buffer is cheap
          const end = head.indexOf('\r\n\r\n');
          if (end < 0) {
            if (head.length > HEAD_LIMIT) finish(new Error('response head too large'));
            return true;
          }
          ({ status, headers: parsed } = parseHead(head.toString('latin1', 0, end)));
          const rest = head.subarray(end + 4);
          head = null;
          const cl = parsed.get('content-length');
          if (cl === undefined) {
            finish(new NoContentLength(`GET ${path}: response without Content-Length (${parsed.get('transfer-encoding') ?? 'no transfer-encoding'})`));
            return false;
          }
          length = Number(cl);
          if (length === 0) finish(null);
          else if (rest.length > 0) body(rest);
          return true;
        },
      },
    });
    socket.on('error', (err) => finish(err));
    socket.on('close', () => finish(new Error(`GET ${path}: connection closed after ${received} of ${length} body bytes`)));
    const lines = [`GET ${path} HTTP/1.1`, `Host: ${origin.host}`, 'Connection: close', ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''];
    socket.write(lines.join('\r\n'));
  });
}
