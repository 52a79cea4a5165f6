// Caps on open connections, in total and per client address, enforced right at accept: a socket over a cap is
// destroyed before a byte of it is parsed, so idle connections from one address cannot use up file descriptors.
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

export interface ConnectionLimitOptions {
  readonly maxConnections: number;
  /** 0: no per-address cap. */
  readonly maxConnectionsPerAddress: number;
  /** Under pressure, connections with no request in flight for this long are closed. */
  readonly pressureIdleTimeout: number;
}

/** Above this share of maxConnections, idle connections are closed after pressureIdleTimeout instead of the usual timeouts. */
export const pressureShare = 0.8;

/** The soft RLIMIT_NOFILE of this process (Node raises it to the hard limit at start), or null off Linux. */
export function openFileLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number | null {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(read());
    return m && m[1] !== 'unlimited' ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The caps the process can honour: a connection may hold a second descriptor (the blob file it reads or writes),
 * and SQLite, logs and the metrics listener need some, so at most half of what is left after a reserve. A lowered
 * total lowers the per-address cap in proportion, so one address keeps the same share of the whole.
 */
export function effectiveConnectionLimits(
  configured: { maxConnections: number; maxConnectionsPerAddress: number },
  fdLimit: number | null,
): { maxConnections: number; maxConnectionsPerAddress: number } {
  if (fdLimit === null) return { ...configured };
  const maxConnections = Math.min(configured.maxConnections, Math.max(16, Math.floor((fdLimit - 128) / 2)));
  const perAddress = configured.maxConnectionsPerAddress;
  const scaled = perAddress === 0 ? 0 : Math.max(1, Math.floor((perAddress * maxConnections) / configured.maxConnections));
  return { maxConnections, maxConnectionsPerAddress: Math.min(perAddress, scaled) };
}

/** The socket a request arrived on, as 'connection' saw it: for TLS that is the TCP socket under the TLS one. */
function transportOf(socket: Socket): Socket {
  // _parent is how Node's TLSSocket keeps the net.Socket it wraps; plain HTTP sockets have none.
  return (socket as Socket & { _parent?: Socket })._parent ?? socket;
}

export class ConnectionLimiter {
  private open = 0;
  private readonly perAddress = new Map<string, number>();
  /** Open sockets with no request in flight, with the time they became idle. */
  private readonly idleSince = new Map<Socket, number>();
  private readonly busy = new Map<Socket, number>();
  private lastSweep = 0;
  private refusedSinceLog = 0;
  private lastRefusalLog = 0;

  constructor(
    private readonly options: ConnectionLimitOptions,
    private readonly log: Logger,
  ) {}

  get openConnections(): number {
    return this.open;
  }

  attach(server: Server): void {
    // prependListener: ours runs before the HTTP parser is wired to the socket.
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.track(req, res));
  }

  private admit(socket: Socket): void {
    const address = socket.remoteAddress ?? '';
    if (this.open >= this.options.maxConnections * pressureShare) this.sweepIdle();
    const fromAddress = this.perAddress.get(address) ?? 0;
    const perAddressCap = this.options.maxConnectionsPerAddress;
    if (this.open >= this.options.maxConnections || (perAddressCap > 0 && fromAddress >= perAddressCap)) {
      this.refuse(socket, address, this.open >= this.options.maxConnections ? 'total' : 'address');
      return;
    }
    this.open++;
    this.perAddress.set(address, fromAddress + 1);
    this.idleSince.set(socket, Date.now());
    socket.once('close', () => {
      this.open--;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.perAddress.set(address, left);
      else this.perAddress.delete(address);
      this.idleSince.delete(socket);
      this.busy.delete(socket);
    });
  }

  private refuse(socket: Socket, address: string, cap: 'total' | 'address'): void {
    socket.destroy();
    this.refusedSinceLog++;
    const now = Date.now();
    // One line per burst, not per socket: a flood of refusals must not become a flood of log lines.
    if (now - this.lastRefusalLog >= 10_000) {
      this.log.warn({ cap, remoteAddr: address, refused: this.refusedSinceLog, open: this.open }, 'connection refused: connection limit reached');
      this.refusedSinceLog = 0;
      this.lastRefusalLog = now;
    }
  }

  private track(req: IncomingMessage, res: ServerResponse): void {
    const socket = transportOf(req.socket);
    if (!this.idleSince.has(socket) && !this.busy.has(socket)) return; // not a socket this limiter admitted
    this.idleSince.delete(socket);
    this.busy.set(socket, (this.busy.get(socket) ?? 0) + 1);
    res.once('close', () => {
      const left = (this.busy.get(socket) ?? 1) - 1;
      if (socket.destroyed) return;
      if (left > 0) {
        this.busy.set(socket, left);
        return;
      }
      this.busy.delete(socket);
      this.idleSince.set(socket, Date.now());
    });
  }

  /** Closes connections idle for pressureIdleTimeout; at most a few passes a second, however fast sockets arrive. */
  private sweepIdle(): void {
    const now = Date.now();
    if (now - this.lastSweep < Math.min(250, this.options.pressureIdleTimeout)) return;
    this.lastSweep = now;
    let closed = 0;
    for (const [socket, since] of this.idleSince) {
      if (now - since < this.options.pressureIdleTimeout) continue;
      socket.destroy();
      closed++;
    }
    if (closed > 0) this.log.info({ closed, open: this.open }, 'closed idle connections: near the connection limit');
  }
}
