// Who the client is, for lockout: the socket's address, or, when the socket belongs to a trusted reverse proxy, the
// right-most X-Forwarded-For entry that is not itself a trusted proxy. Entries left of that one were written by
// the client and are ignored: anyone can send `X-Forwarded-For: 1.2.3.4`.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';

/** An address or CIDR as auth.lockout.trustedProxies takes it; null when it is neither. */
export function parseProxyEntry(entry: string): { address: string; prefix: number | null; family: 'ipv4' | 'ipv6' } | null {
  const slash = entry.indexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return null;
  const family = version === 4 ? 'ipv4' : 'ipv6';
  if (slash === -1) return { address, prefix: null, family };
  const text = entry.slice(slash + 1);
  const prefix = Number(text);
  if (!/^\d{1,3}$/.test(text) || prefix > (version === 4 ? 32 : 128)) return null;
  return { address, prefix, family };
}

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(entries: readonly string[]) {
    for (const e of entries) {
      const parsed = parseProxyEntry(e);
      if (!parsed) throw new Error(`not an address or CIDR: ${JSON.stringify(e)}`);
      if (parsed.prefix === null) this.list.addAddress(parsed.address, parsed.family);
      else this.list.addSubnet(parsed.address, parsed.prefix, parsed.family);
    }
    this.empty = entries.length === 0;
  }

  has(address: string): boolean {
    const version = isIP(address);
    return version !== 0 && this.list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  }
}

/** IPv4-mapped IPv6 (::ffff:1.2.3.4) as plain IPv4; IPv6 lower-cased; a bracketed [v6] unwrapped. */
export function normalizeAddress(addr: string): string {
  const bare = addr.startsWith('[') && addr.endsWith(']') ? addr.slice(1, -1) : addr;
  const lower = bare.toLowerCase();
  return lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4 ? lower.slice(7) : lower;
}

/** The client's address (normalized), by the rule at the top of this file. */
export function clientAddress(req: IncomingMessage, trusted: TrustedProxies): string {
  let address = normalizeAddress(req.socket.remoteAddress ?? 'unknown');
  if (trusted.empty || !trusted.has(address)) return address;
  const header = req.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((s) => normalizeAddress(s.trim()))
    .filter((s) => s !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    // A trusted proxy writes addresses; anything else means the chain cannot be followed further, so the last
    // trusted hop stands for the client.
    if (isIP(hop) === 0) return address;
    address = hop;
    if (!trusted.has(hop)) return hop;
  }
  return address;
}

function expandIpv6(address: string): string[] | null {
  const halves = address.split('::');
  if (halves.length > 2) return null;
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (tail.some((g) => g.includes('.')) || head.some((g) => g.includes('.'))) return null;
  const missing = 8 - head.length - tail.length;
  if (missing < 0 || (halves.length === 1 && missing !== 0)) return null;
  return [...head, ...Array<string>(missing).fill('0'), ...tail].map((g) => g.padStart(4, '0'));
}

/**
 * What lockout counts against: an IPv4 address, or the /64 an IPv6 address belongs to (one subscriber usually holds
 * a whole /64, so counting single IPv6 addresses would give an attacker 2^64 fresh starts).
 */
export function lockoutAddress(address: string): string {
  if (isIP(address) !== 6) return address;
  const groups = expandIpv6(address);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : address;
}
