// Raw TCP connections from a chosen local address (every 127.x address is this machine), for connection caps,
// slow bodies and per-client upload shares. No tests here.
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

export class Conn {
  private received = '';
  private closedFlag = false;
  private readonly closedPromise: Promise<void>;
  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.received += d.toString('latin1');
      for (const w of this.waiters) w();
    });
    socket.on('error', () => undefined);
    this.closedPromise = new Promise((resolve) =>
      socket.once('close', () => {
        this.closedFlag = true;
        for (const w of this.waiters) w();
        resolve();
      }),
    );
  }

  /** Connects from `localAddress` (default 127.0.0.1) to the server at `base`. */
  static open(base: string, localAddress = '127.0.0.1'): Promise<Conn> {
    const u = new URL(base);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: u.hostname, port: Number(u.port), localAddress }, () => {
        socket.off('error', reject);
        resolve(new Conn(socket));
      });
      socket.once('error', reject);
    });
  }

  get text(): string {
    return this.received;
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves once the server closed the connection (or it failed). */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** Waits until `done()` holds for what was received, or the connection closed; the caller asserts on `text`. */
  private waitUntil(done: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (done() || this.closedFlag) {
          this.waiters.delete(check);
          resolve();
        }
      };
      this.waiters.add(check);
      check();
    });
  }

  until(pattern: RegExp): Promise<void> {
    return this.waitUntil(() => pattern.test(this.received));
  }

  /** At least `length` characters (bytes, latin1) received. */
  untilLength(length: number): Promise<void> {
    return this.waitUntil(() => this.received.length >= length);
  }

  /** Sends a bodiless request on this connection and waits for a complete response with a Content-Length body. */
  async get(path: string): Promise<{ status: number; body: string }> {
    const start = this.received.length;
    this.write(`GET ${path} HTTP/1.1\r\nHost: registry\r\n\r\n`);
    const complete = (): boolean => {
      const head = this.received.indexOf('\r\n\r\n', start);
      if (head === -1) return false;
      const length = /content-length: (\d+)/i.exec(this.received.slice(start, head));
      return length !== null && this.received.length >= head + 4 + Number(length[1]);
    };
    await this.waitUntil(complete);
    const answer = this.received.slice(start);
    const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
    return { status, body: answer.slice(answer.indexOf('\r\n\r\n') + 4) };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Opens an upload request whose body is not finished (first `sent` of `total` bytes), so it keeps its upload slot. */
export async function openPatch(base: string, location: string, total: number, sent: Buffer, localAddress?: string): Promise<Conn> {
  const u = new URL(location, base);
  const conn = await Conn.open(base, localAddress);
  conn.write(`PATCH ${u.pathname}${u.search} HTTP/1.1\r\nHost: registry\r\nContent-Type: application/octet-stream\r\nContent-Length: ${total}\r\n\r\n`);
  conn.write(sent);
  return conn;
}

/** One HTTP request from `localAddress` on a fresh connection; resolves with status, headers and body. */
export function requestFrom(
  base: string,
  localAddress: string,
  method: string,
  path: string,
  body?: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  const u = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: u.hostname, port: Number(u.port), method, path: `${u.pathname}${u.search}`, localAddress, agent: false, headers: { 'Content-Length': String(body?.length ?? 0), ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
