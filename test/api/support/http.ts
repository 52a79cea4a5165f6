// HTTP plumbing for the API tests: a fetch-based client that records every exchange, a node:http client for the
// requests fetch cannot make (custom Host, chunked bodies), and a raw-socket exchange for malformed HTTP.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

export interface Res {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  readonly headers: Headers;
  readonly body: Buffer;
}

export interface ReqOptions {
  readonly headers?: Record<string, string>;
  readonly body?: Uint8Array | string;
}

/** One line describing an exchange, for assertion messages. */
export function show(res: Res): string {
  const hdrs: string[] = [];
  res.headers.forEach((v, k) => hdrs.push(`${k}: ${v}`));
  const body = res.body.length > 600 ? `${res.body.subarray(0, 600).toString('utf8')}…(${res.body.length} bytes)` : res.body.toString('utf8');
  return `${res.method} ${res.url} → ${res.status}\n  ${hdrs.join('\n  ')}\n  body: ${body}`;
}

export function noServerError(res: Res): void {
  assert.ok(res.status < 500, `server error: ${show(res)}`);
}

export function expectStatus(res: Res, status: number | readonly number[]): void {
  const allowed = typeof status === 'number' ? [status] : status;
  assert.ok(allowed.includes(res.status), `expected status ${allowed.join(' or ')}, got ${show(res)}`);
}

export function header(res: Res, name: string): string | null {
  return res.headers.get(name);
}

export function requireHeader(res: Res, name: string): string {
  const v = res.headers.get(name);
  assert.ok(v !== null && v !== '', `missing header ${name}: ${show(res)}`);
  return v;
}

export function json<T>(res: Res): T {
  try {
    return JSON.parse(res.body.toString('utf8')) as T;
  } catch {
    assert.fail(`body is not JSON: ${show(res)}`);
  }
}

/** A request the registry does not answer within this long counts as a hang. */
export const REQUEST_TIMEOUT_MS = 10_000;

export class Client {
  constructor(readonly base: string) {}

  url(pathOrUrl: string): string {
    return new URL(pathOrUrl, this.base).toString();
  }

  async req(method: string, pathOrUrl: string, opts: ReqOptions = {}): Promise<Res> {
    const url = this.url(pathOrUrl);
    const init: RequestInit = { method, redirect: 'manual', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) };
    if (opts.headers) init.headers = opts.headers;
    if (opts.body !== undefined) init.body = typeof opts.body === 'string' ? opts.body : new Uint8Array(opts.body);
    let r: Response;
    let body: Buffer;
    try {
      r = await fetch(url, init);
      body = Buffer.from(await r.arrayBuffer());
    } catch (e) {
      const why = e instanceof Error && e.name === 'TimeoutError' ? `no response within ${REQUEST_TIMEOUT_MS} ms` : String(e);
      const cause = e instanceof Error && e.cause !== undefined ? ` (${String(e.cause)})` : '';
      assert.fail(`${method} ${url}: ${why}${cause}`);
    }
    const res: Res = { method, url, status: r.status, headers: r.headers, body };
    noServerError(res);
    return res;
  }

  get(p: string, headers?: Record<string, string>): Promise<Res> {
    return this.req('GET', p, headers ? { headers } : {});
  }
  head(p: string, headers?: Record<string, string>): Promise<Res> {
    return this.req('HEAD', p, headers ? { headers } : {});
  }
  delete(p: string, headers?: Record<string, string>): Promise<Res> {
    return this.req('DELETE', p, headers ? { headers } : {});
  }
  post(p: string, opts: ReqOptions = {}): Promise<Res> {
    return this.req('POST', p, opts);
  }
  put(p: string, opts: ReqOptions = {}): Promise<Res> {
    return this.req('PUT', p, opts);
  }
  patch(p: string, opts: ReqOptions = {}): Promise<Res> {
    return this.req('PATCH', p, opts);
  }
}

export interface NodeReqOptions {
  readonly headers?: Record<string, string | string[]>;
  /** A single buffer is sent with Content-Length; an array of buffers is sent chunked (no Content-Length). */
  readonly body?: Uint8Array | readonly Uint8Array[];
}

/** A request through node:http, which lets us set Host and stream chunked bodies. */
export function nodeRequest(base: string, method: string, path: string, opts: NodeReqOptions = {}): Promise<Res> {
  const u = new URL(base);
  return new Promise<Res>((resolve, reject) => {
    const headers: Record<string, string | string[]> = { ...(opts.headers ?? {}) };
    const single = opts.body !== undefined && !Array.isArray(opts.body) ? (opts.body as Uint8Array) : undefined;
    if (single && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) {
      headers['Content-Length'] = String(single.length);
    }
    const req = httpRequest({ host: u.hostname, port: Number(u.port), method, path, headers, agent: false }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('error', reject);
      r.on('end', () => {
        const h = new Headers();
        for (const [k, v] of Object.entries(r.headers)) {
          if (v === undefined) continue;
          for (const one of Array.isArray(v) ? v : [v]) h.append(k, one);
        }
        const res: Res = { method, url: `${base}${path}`, status: r.statusCode ?? 0, headers: h, body: Buffer.concat(chunks) };
        resolve(res);
      });
    });
    let answered = false;
    req.on('response', () => {
      answered = true;
    });
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (single) req.end(single);
    else if (Array.isArray(opts.body)) {
      for (const c of opts.body as readonly Uint8Array[]) req.write(c);
      req.end();
    } else req.end();
  });
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Map<string, string>;
  readonly body: Buffer;
}

export interface RawResult {
  /** Everything the server sent. */
  readonly raw: Buffer;
  /** Responses parsed from raw, in order (a trailing incomplete one is dropped). */
  readonly responses: readonly RawResponse[];
  /** True when the server closed (or reset) the connection before the timeout. */
  readonly closed: boolean;
}

export interface RawOptions {
  /** Half-close our side after sending (default false: keep it open, send `Connection: close` to get a full answer). */
  readonly end?: boolean;
  /** Give up waiting for the server after this long (default 3000 ms); the socket is then destroyed. */
  readonly timeoutMs?: number;
  /** Pause between the pieces (ms). */
  readonly gapMs?: number;
  /** Responses to HEAD requests carry no body; list the index of such responses. */
  readonly headIndexes?: readonly number[];
}

/** Sends bytes on a fresh TCP connection and collects whatever comes back until the server closes or the timeout. */
export function rawExchange(base: string, pieces: readonly (string | Buffer)[], opts: RawOptions = {}): Promise<RawResult> {
  const u = new URL(base);
  return new Promise<RawResult>((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const sock = connect({ host: u.hostname, port: Number(u.port) });
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const raw = Buffer.concat(chunks);
      resolve({ raw, responses: parseResponses(raw, opts.headIndexes ?? []), closed });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 3000);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('connect', () => {
      void (async () => {
        for (const p of pieces) {
          if (done) return;
          sock.write(p);
          if (opts.gapMs) await new Promise((r) => setTimeout(r, opts.gapMs));
        }
        if (opts.end ?? false) sock.end();
      })();
    });
  });
}

function parseResponses(raw: Buffer, headIndexes: readonly number[]): RawResponse[] {
  const out: RawResponse[] = [];
  let pos = 0;
  while (pos < raw.length) {
    const headEnd = raw.indexOf('\r\n\r\n', pos);
    if (headEnd < 0) break;
    const lines = raw.subarray(pos, headEnd).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
    if (!m) break;
    const status = Number(m[1]);
    const headers = new Map<string, string>();
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) continue;
      const k = line.slice(0, i).trim().toLowerCase();
      const v = line.slice(i + 1).trim();
      headers.set(k, headers.has(k) ? `${headers.get(k)}, ${v}` : v);
    }
    let bodyStart = headEnd + 4;
    const noBody = headIndexes.includes(out.length) || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (status >= 100 && status < 200) {
      pos = bodyStart;
      continue;
    }
    let body: Buffer;
    if (noBody) {
      body = Buffer.alloc(0);
    } else if (headers.get('transfer-encoding')?.toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      let p = bodyStart;
      let complete = false;
      for (;;) {
        const le = raw.indexOf('\r\n', p);
        if (le < 0) break;
        const size = parseInt(raw.subarray(p, le).toString('latin1'), 16);
        if (!Number.isFinite(size)) break;
        if (size === 0) {
          const te = raw.indexOf('\r\n\r\n', le);
          p = te < 0 ? raw.length : te + 4;
          complete = te >= 0;
          break;
        }
        parts.push(raw.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
      body = Buffer.concat(parts);
      if (!complete) {
        out.push({ status, headers, body });
        break;
      }
      bodyStart = p;
    } else if (headers.has('content-length')) {
      const len = Number(headers.get('content-length'));
      body = raw.subarray(bodyStart, bodyStart + len);
      bodyStart += len;
    } else {
      body = raw.subarray(bodyStart);
      bodyStart = raw.length;
    }
    out.push({ status, headers, body });
    pos = bodyStart;
  }
  return out;
}

/** The raw-socket verdict the robustness tests need: some 4xx answer, or a closed connection; never a 5xx. */
export function expectRejectedOrClosed(r: RawResult, what: string): void {
  for (const res of r.responses) {
    assert.ok(res.status < 500, `${what}: server answered ${res.status}: ${r.raw.toString('latin1').slice(0, 800)}`);
  }
  const first = r.responses[0];
  if (first) {
    assert.ok(first.status >= 400 && first.status < 500, `${what}: expected a 4xx, got ${first.status}: ${r.raw.toString('latin1').slice(0, 800)}`);
  } else {
    assert.ok(r.closed, `${what}: the server neither answered nor closed the connection within the timeout`);
  }
}

export function hostOf(base: string): string {
  return new URL(base).host;
}

/**
 * The server runs in this process, so an exception it fails to handle surfaces here as 'uncaughtException'.
 * Call in beforeEach; the returned function (call in afterEach) fails the test if any escaped meanwhile.
 */
export function trapUncaught(): () => void {
  const seen: unknown[] = [];
  const onError = (err: unknown) => seen.push(err);
  process.on('uncaughtException', onError);
  return () => {
    process.off('uncaughtException', onError);
    if (seen.length > 0) {
      const first = seen[0];
      const text = first instanceof Error ? (first.stack ?? first.message) : String(first);
      assert.fail(`${seen.length} exception(s) escaped the server (a real process would have crashed):\n${text}`);
    }
  };
}
