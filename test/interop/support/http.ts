// Raw HTTP against a registry with undici's fetch, one connection pool per server incarnation (so that sockets
// of a killed server are never reused after the restart).
import { Agent, fetch } from 'undici';

export const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export interface HttpResult {
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

export interface HttpOptions {
  headers?: Record<string, string>;
  body?: Buffer;
  timeoutMs?: number;
}

export function describeResult(res: HttpResult): string {
  const text = res.body.length > 400 ? `${res.body.subarray(0, 400).toString('utf8')}… (${res.body.length} bytes)` : res.body.toString('utf8');
  const hdrs: string[] = [];
  res.headers.forEach((v, k) => hdrs.push(`${k}: ${v}`));
  return `${res.method} ${res.path} -> ${res.status} [${hdrs.join('; ')}] ${text}`;
}

export class RegistryHttp {
  private readonly agent: Agent;

  constructor(readonly base: string) {
    this.agent = new Agent({ connections: 128, keepAliveTimeout: 10_000 });
  }

  /** Path and query of a Location header (absolute or relative), resolved against this registry. */
  pathOf(location: string): string {
    const u = new URL(location, this.base);
    return `${u.pathname}${u.search}`;
  }

  async req(method: string, path: string, opts: HttpOptions = {}): Promise<HttpResult> {
    const res = await fetch(new URL(path, this.base), {
      method,
      headers: opts.headers,
      body: opts.body,
      redirect: 'follow',
      dispatcher: this.agent,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000),
    });
    // The status line is what acknowledges an operation: the caller sees it even if the body is cut off.
    let body: Buffer;
    try {
      body = Buffer.from(await res.arrayBuffer());
    } catch {
      body = Buffer.alloc(0);
    }
    return { method, path, status: res.status, headers: res.headers as unknown as Headers, body };
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }
}

/** Runs fn over items with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(runners);
}
