// HTTP primitives of the registry API, over one keep-alive undici Pool per registry so the client stays cheap.
// Every call checks status codes, Location/Range/digest headers and, for downloads, the bytes themselves:
// a server that answers fast but wrong must fail the benchmark, not win it.
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { matchesAt, type BlobData } from './content.js';
import { NoContentLength, rawGet } from './raw-get.js';
import { MANIFEST_ACCEPT, OCI_MANIFEST } from './oci.js';

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export interface ClientOptions {
  /** Upper bound on sockets; the highest concurrency any scenario uses. */
  readonly connections: number;
  /** Sent preemptively as Basic auth on every request, like docker does after its first 401. */
  readonly credentials?: Credentials;
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT';

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Blobs from this size up are pulled over a dedicated raw socket (see raw-get.ts). */
const RAW_PULL_MIN = 1024 * 1024;

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Small bodies go as one buffer; large ones as a stream of zero-copy views (never concatenated). */
function bodyOf(segments: Buffer[], size: number): Buffer | Readable {
  if (segments.length === 1 && segments[0]) return segments[0];
  return size <= 1024 * 1024 ? Buffer.concat(segments, size) : Readable.from(segments);
}

export class RegistryClient {
  private readonly pool: Pool;
  private readonly base: URL;
  private readonly authHeader: Record<string, string>;
  private readonly manifestHeaders: Record<string, string>;

  constructor(baseUrl: string, opts: ClientOptions) {
    this.base = new URL(baseUrl);
    // Generous timeouts: a slow server should be measured as slow, not cut off; a hung one still ends the run.
    this.pool = new Pool(this.base.origin, { connections: opts.connections, headersTimeout: 300_000, bodyTimeout: 300_000 });
    const c = opts.credentials;
    this.authHeader = c ? { authorization: `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}` } : {};
    this.manifestHeaders = { ...this.authHeader, accept: MANIFEST_ACCEPT };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Location headers may be absolute or relative; both must point back at this registry. */
  private pathOf(location: string): string {
    const u = new URL(location, this.base);
    if (u.origin !== this.base.origin) throw new RegistryError(`Location ${location} points away from ${this.base.origin}; uploads elsewhere are not supported`);
    return u.pathname + u.search;
  }

  private async send(method: Method, path: string, expect: number, headers: Record<string, string> = {}, body?: Buffer | Readable): Promise<Reply> {
    const res = await this.pool.request({ method, path, headers: { ...this.authHeader, ...headers }, body: body ?? null });
    const chunks: Buffer[] = [];
    for await (const chunk of res.body) chunks.push(chunk as Buffer);
    const reply = { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
    if (reply.status !== expect) {
      throw new RegistryError(`${method} ${path}: expected ${expect}, got ${reply.status}: ${reply.body.toString('utf8', 0, 300)}`);
    }
    return reply;
  }

  private static location(reply: Reply, what: string): string {
    const loc = header(reply.headers, 'location');
    if (!loc) throw new RegistryError(`${what}: no Location header`);
    return loc;
  }

  /** POST /v2/<repo>/blobs/uploads/ → the upload's path. */
  async startUpload(repo: string): Promise<string> {
    const reply = await this.send('POST', `/v2/${repo}/blobs/uploads/`, 202, { 'content-length': '0' });
    return this.pathOf(RegistryClient.location(reply, `POST upload in ${repo}`));
  }

  /** PATCH bytes [start, end) of the blob into the upload; returns the next upload path. */
  async patch(upload: string, blob: BlobData, start: number, end: number): Promise<string> {
    const reply = await this.send(
      'PATCH',
      upload,
      202,
      { 'content-type': 'application/octet-stream', 'content-range': `${start}-${end - 1}`, 'content-length': String(end - start) },
      bodyOf(blob.segments(start, end), end - start),
    );
    const range = header(reply.headers, 'range');
    if (range !== undefined && range !== `0-${end - 1}`) throw new RegistryError(`PATCH ${upload}: Range ${range}, expected 0-${end - 1}`);
    return this.pathOf(RegistryClient.location(reply, `PATCH ${upload}`));
  }

  /** PUT ?digest= to close the upload, optionally carrying the whole blob (monolithic upload). */
  async finish(upload: string, blob: BlobData, withBody: boolean): Promise<void> {
    const digest = blob.digest();
    const path = `${upload}${upload.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    const headers: Record<string, string> = { 'content-length': String(withBody ? blob.size : 0) };
    if (withBody) headers['content-type'] = 'application/octet-stream';
    const reply = await this.send('PUT', path, 201, headers, withBody ? bodyOf(blob.segments(0, blob.size), blob.size) : undefined);
    const got = header(reply.headers, 'docker-content-digest');
    if (got !== undefined && got !== digest) throw new RegistryError(`PUT ${upload}: Docker-Content-Digest ${got}, expected ${digest}`);
  }

  /** The way docker pushes a layer: POST, one PATCH with the whole blob, PUT ?digest. */
  async pushStreamed(repo: string, blob: BlobData): Promise<void> {
    const upload = await this.startUpload(repo);
    await this.finish(await this.patch(upload, blob, 0, blob.size), blob, false);
  }

  /** Chunked upload: POST, one PATCH per chunk with Content-Range, PUT ?digest. */
  async pushChunked(repo: string, blob: BlobData, chunkSize: number): Promise<void> {
    let upload = await this.startUpload(repo);
    for (let start = 0; start < blob.size; start += chunkSize) {
      upload = await this.patch(upload, blob, start, Math.min(start + chunkSize, blob.size));
    }
    await this.finish(upload, blob, false);
  }

  /** Monolithic upload: POST, then PUT ?digest carrying the bytes. */
  async pushMonolithic(repo: string, blob: BlobData): Promise<void> {
    await this.finish(await this.startUpload(repo), blob, true);
  }

  /** GET the blob, comparing every received byte with the expected content; returns the byte count. */
  async pullBlob(repo: string, blob: BlobData): Promise<number> {
    const path = `/v2/${repo}/blobs/${blob.digest()}`;
    // Small blobs reuse the pool's keep-alive connections; a socket per 4 KiB blob would only churn ports.
    if (blob.size < RAW_PULL_MIN) return this.pullBlobPooled(path, blob);
    let res;
    try {
      res = await rawGet(this.base, path, this.authHeader, (view, offset) => matchesAt(blob, offset, view));
    } catch (err) {
      if (err instanceof NoContentLength) return this.pullBlobPooled(path, blob);
      throw new RegistryError(`GET ${path}: ${(err as Error).message}`);
    }
    if (res.status !== 200) throw new RegistryError(`GET ${path}: expected 200, got ${res.status}: ${res.errorText}`);
    if (res.bodyBytes !== blob.size) throw new RegistryError(`GET ${path}: got ${res.bodyBytes} bytes, expected ${blob.size}`);
    return res.bodyBytes;
  }

  /** The same through undici: for small blobs, and for servers that send no Content-Length (costlier per byte). */
  private async pullBlobPooled(path: string, blob: BlobData): Promise<number> {
    const res = await this.pool.request({ method: 'GET', path, headers: this.authHeader });
    if (res.statusCode !== 200) {
      const text = await res.body.text();
      throw new RegistryError(`GET ${path}: expected 200, got ${res.statusCode}: ${text.slice(0, 300)}`);
    }
    let offset = 0;
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      if (!matchesAt(blob, offset, buf)) throw new RegistryError(`GET ${path}: wrong bytes at offset ${offset}`);
      offset += buf.length;
    }
    if (offset !== blob.size) throw new RegistryError(`GET ${path}: got ${offset} bytes, expected ${blob.size}`);
    return offset;
  }

  /** HEAD the blob; true when present with the right size (and digest header, if sent). */
  async hasBlob(repo: string, blob: BlobData): Promise<boolean> {
    const path = `/v2/${repo}/blobs/${blob.digest()}`;
    const res = await this.pool.request({ method: 'HEAD', path, headers: this.authHeader });
    await res.body.dump();
    if (res.statusCode === 404) return false;
    if (res.statusCode !== 200) throw new RegistryError(`HEAD ${path}: expected 200 or 404, got ${res.statusCode}`);
    const length = header(res.headers, 'content-length');
    const digest = header(res.headers, 'docker-content-digest');
    if (Number(length) !== blob.size) throw new RegistryError(`HEAD ${path}: Content-Length ${length}, expected ${blob.size}`);
    if (digest !== undefined && digest !== blob.digest()) throw new RegistryError(`HEAD ${path}: Docker-Content-Digest ${digest}`);
    return true;
  }

  /**
   * Status of GET `path` sent without this client's credentials, or with `wrong` ones: how the auth scenarios
   * make sure auth is really on, so a registry that ignores credentials cannot post an auth figure.
   */
  async statusWithout(path: string, wrong?: Credentials): Promise<number> {
    const headers = wrong ? { authorization: `Basic ${Buffer.from(`${wrong.username}:${wrong.password}`).toString('base64')}` } : {};
    const res = await this.pool.request({ method: 'GET', path, headers });
    await res.body.dump();
    return res.statusCode;
  }

  /** PUT an OCI image manifest under a tag; checks the digest the registry reports. */
  async putManifest(repo: string, tag: string, manifest: Buffer): Promise<void> {
    const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`;
    const reply = await this.send('PUT', `/v2/${repo}/manifests/${tag}`, 201, { 'content-type': OCI_MANIFEST, 'content-length': String(manifest.length) }, manifest);
    const got = header(reply.headers, 'docker-content-digest');
    if (got !== undefined && got !== digest) throw new RegistryError(`PUT manifest ${repo}:${tag}: Docker-Content-Digest ${got}, expected ${digest}`);
  }

  /**
   * GET a manifest by tag and require exactly the bytes that were pushed. This is the hot loop of the GET
   * scenario, so it uses undici's dispatch API: no response stream or promise chain per request (measured
   * ~17 µs of client CPU per request against ~30 µs for request()).
   */
  getManifest(repo: string, tag: string, expected: Buffer): Promise<void> {
    const path = `/v2/${repo}/manifests/${tag}`;
    return new Promise((resolve, reject) => {
      let status = 0;
      const chunks: Buffer[] = [];
      this.pool.dispatch(
        { method: 'GET', path, headers: this.manifestHeaders },
        {
          onRequestStart() {},
          onResponseStart(_c, statusCode) {
            status = statusCode;
          },
          onResponseData(_c, chunk) {
            chunks.push(chunk);
          },
          onResponseEnd() {
            const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
            if (status !== 200) reject(new RegistryError(`GET ${path}: expected 200, got ${status}: ${body.toString('utf8', 0, 300)}`));
            else if (!body.equals(expected)) reject(new RegistryError(`GET ${path}: manifest bytes differ from what was pushed`));
            else resolve();
          },
          onResponseError(_c, err) {
            reject(new RegistryError(`GET ${path}: ${err.message}`));
          },
        },
      );
    });
  }
}
