import type { IncomingMessage } from 'node:http';
import { isDigestAlgorithm, requireDigest, type DigestAlgorithm } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { requireName } from '../../oci/names.js';
import type { QuotaReservation } from '../../quota/quotas.js';
import { StorageFullError } from '../../registry/storage-full.js';
import type { UploadStatus } from '../../registry/uploads.js';
import { hasBody } from '../body.js';
import { eventOrigin, send, type Handler, type RequestContext } from '../context.js';
import { parseChunkRange } from '../range.js';
import { locationFor } from '../urls.js';

const uploadIdPattern = /^[0-9a-f-]{36}$/;

function uploadId(ctx: RequestContext): string {
  const id = ctx.params.uuid!;
  if (!uploadIdPattern.test(id)) throw new RegistryError('BLOB_UPLOAD_UNKNOWN', 'upload session not found', { uuid: id.slice(0, 100) });
  return id;
}

function rangeHeader(size: number): string {
  return `0-${Math.max(size - 1, 0)}`;
}

function sendUploadStatus(ctx: RequestContext, status: number, upload: UploadStatus): void {
  const name = ctx.params.name!;
  const headers: Record<string, string | number> = {
    Location: locationFor(ctx.req, ctx.registry.config.server, `/v2/${name}/blobs/uploads/${upload.id}`),
    'Docker-Upload-UUID': upload.id,
    Range: rangeHeader(upload.size),
  };
  const minChunk = ctx.registry.config.registry.uploadChunkMinLength;
  if (minChunk > 0) headers['OCI-Chunk-Min-Length'] = minChunk;
  send(ctx.res, status, headers);
}

function sendBlobCreated(ctx: RequestContext, digest: string): void {
  send(ctx.res, 201, {
    Location: locationFor(ctx.req, ctx.registry.config.server, `/v2/${ctx.params.name}/blobs/${digest}`),
    'Docker-Content-Digest': digest,
  });
}

/** The chunk's declared range must agree with its length, or the offsets we answer with would lie. */
function chunkRange(req: IncomingMessage): { start: number; end: number } | undefined {
  const range = parseChunkRange(req.headers['content-range']);
  if (range === 'invalid') throw new RegistryError('BLOB_UPLOAD_INVALID', 'malformed Content-Range; expected <start>-<end>', undefined, { status: 416 });
  if (range === null) return undefined;
  const length = req.headers['content-length'];
  if (length !== undefined && Number(length) !== range.end - range.start + 1) {
    throw new RegistryError(
      'BLOB_UPLOAD_INVALID',
      'Content-Range does not match Content-Length',
      { contentRange: req.headers['content-range'], contentLength: length },
      { status: 416 },
    );
  }
  return range;
}

function declaredLength(req: IncomingMessage): number {
  const length = Number(req.headers['content-length'] ?? 0);
  return Number.isSafeInteger(length) && length > 0 ? length : 0;
}

/** Bytes of a refused body read and thrown away before answering; beyond them the connection is closed instead. */
const maxDiscardedBytes = 256 * 1024 * 1024;

/**
 * Refused mid-stream, the client is usually still sending. Answering now races its writes: Go clients (podman,
 * skopeo) then often report the failed write ("broken pipe") instead of our answer. Reading and discarding the
 * rest first makes the answer the first thing they see; a body far beyond that is cut off (the answer then goes
 * out with Connection: close).
 */
function discardRest(req: IncomingMessage): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let discarded = 0;
    const done = () => {
      req.off('data', count);
      resolve();
    };
    const count = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > maxDiscardedBytes) {
        req.pause();
        done();
      }
    };
    req.unpipe();
    req.on('data', count);
    req.once('end', done);
    req.once('close', done);
    req.resume();
  });
}

function refusedMidStream(err: unknown): boolean {
  return (err instanceof RegistryError && err.code === 'DENIED') || err instanceof StorageFullError;
}

/**
 * Runs an upload step with the repository's quota accounting (a no-op for repositories without a quota): the
 * request's bytes count toward usage as they arrive, and the reservation ends with the request.
 */
async function withQuota<T>(ctx: RequestContext, work: (quota: QuotaReservation) => Promise<T>): Promise<T> {
  const quota = await ctx.registry.quotas.reserve(ctx.params.name!);
  try {
    return await work(quota);
  } catch (err) {
    if (refusedMidStream(err)) await discardRest(ctx.req);
    throw err;
  } finally {
    quota.release();
  }
}

/** A refused or failed-for-space session is removed at once, so its staged bytes neither linger nor count. */
async function dropSession(ctx: RequestContext, id: string, quota: QuotaReservation, staged: number, err: unknown): Promise<never> {
  if (refusedMidStream(err)) {
    await ctx.registry.uploads.cancel(ctx.params.name!, id).catch(() => undefined);
    quota.forget(staged);
  }
  throw err;
}

async function tryMount(ctx: RequestContext, digest: string, from: string | null): Promise<boolean> {
  const { registry } = ctx;
  // With auth on, a mount must name a source the caller may pull; without one it is a plain upload.
  if (from === null && registry.config.auth.mode !== 'none') return false;
  if (from !== null) {
    requireName(from);
    if (!ctx.access.allowed(ctx.info.principal ?? { name: null }, from, 'pull')) return false;
    if (!(await registry.metadata.getRepositoryBlob(from, digest))) return false;
  }
  const blob = await registry.metadata.getBlob(digest);
  if (!blob) return false;
  const events = registry.events.events('mount', { repository: ctx.params.name!, digest, mediaType: 'application/octet-stream' }, eventOrigin(ctx));
  if (await registry.metadata.getRepositoryBlob(ctx.params.name!, digest)) return registry.metadata.linkBlob(ctx.params.name!, digest, events);
  return withQuota(ctx, async (quota) => {
    quota.expect(blob.size);
    const linked = await registry.metadata.linkBlob(ctx.params.name!, digest, events);
    if (linked) quota.keep(blob.size);
    return linked;
  });
}

export const startUpload: Handler = async (ctx) => {
  const { query, registry, req } = ctx;
  const name = ctx.params.name!;
  const mount = query.get('mount');
  if (mount !== null) {
    requireDigest(mount);
    if (await tryMount(ctx, mount, query.get('from'))) {
      sendBlobCreated(ctx, mount);
      return;
    }
  }
  const digest = query.get('digest');
  if (digest !== null) {
    const parsed = requireDigest(digest);
    const held = await registry.metadata.getRepositoryBlob(name, `${parsed.algorithm}:${parsed.hex}`);
    const blob = await withQuota(ctx, async (quota) => {
      if (held) quota.allow(held.size); // already counted
      else quota.expect(declaredLength(req));
      const stored = await registry.uploads.monolithic(name, parsed, req, (n) => quota.arrive(n));
      quota.keep();
      return stored;
    });
    sendBlobCreated(ctx, blob.digest);
    return;
  }
  const algorithm = query.get('digest-algorithm') ?? 'sha256';
  if (!isDigestAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm ${algorithm.slice(0, 50)}; use sha256 or sha512`);
  }
  const upload = await withQuota(ctx, async (quota) => {
    quota.expect(0); // a full repository gets no new session
    return registry.uploads.start(name, algorithm as DigestAlgorithm);
  });
  sendUploadStatus(ctx, 202, upload);
};

export const uploadStatus: Handler = async (ctx) => {
  const upload = await ctx.registry.uploads.status(ctx.params.name!, uploadId(ctx));
  sendUploadStatus(ctx, 204, upload);
};

export const patchUpload: Handler = async (ctx) => {
  const id = uploadId(ctx);
  const range = chunkRange(ctx.req);
  const name = ctx.params.name!;
  const upload = await withQuota(ctx, async (quota) => {
    const staged = (await ctx.registry.uploads.status(name, id)).size;
    try {
      quota.expect(declaredLength(ctx.req));
      const status = await ctx.registry.uploads.append(name, id, ctx.req, range, (n) => quota.arrive(n));
      quota.keep();
      return status;
    } catch (err) {
      return dropSession(ctx, id, quota, staged, err);
    }
  });
  sendUploadStatus(ctx, 202, upload);
};

export const finishUpload: Handler = async (ctx) => {
  const id = uploadId(ctx);
  const digest = requireDigest(ctx.query.get('digest'));
  const range = chunkRange(ctx.req);
  const body = hasBody(ctx.req) ? ctx.req : null;
  const name = ctx.params.name!;
  const blob = await withQuota(ctx, async (quota) => {
    const staged = (await ctx.registry.uploads.status(name, id)).size;
    const held = await ctx.registry.metadata.getRepositoryBlob(name, `${digest.algorithm}:${digest.hex}`);
    try {
      if (held) quota.allow(Math.max(0, held.size - staged)); // already counted
      else quota.expect(declaredLength(ctx.req));
      const stored = await ctx.registry.uploads.finish(name, id, digest, body, range, (n) => quota.arrive(n));
      if (held) quota.forget(staged); // the session's bytes were a copy of what the repository holds
      else quota.keep();
      return stored;
    } catch (err) {
      return dropSession(ctx, id, quota, staged, err);
    }
  });
  sendBlobCreated(ctx, blob.digest);
};

export const cancelUpload: Handler = async (ctx) => {
  await ctx.registry.uploads.cancel(ctx.params.name!, uploadId(ctx));
  send(ctx.res, 204, {});
};
