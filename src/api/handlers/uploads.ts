import type { IncomingMessage } from 'node:http';
import { isDigestAlgorithm, requireDigest, type DigestAlgorithm } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { requireName } from '../../oci/names.js';
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

/** Quota check before any data is accepted; a no-op (no queries) for repositories without a quota. */
async function enforceQuota(ctx: RequestContext, incoming: () => Promise<number | 'unknown'>): Promise<void> {
  const name = ctx.params.name!;
  if (ctx.registry.quotas.limitFor(name) === null) return;
  await ctx.registry.quotas.check(name, await incoming());
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
  if (!(await registry.metadata.getRepositoryBlob(ctx.params.name!, digest))) await enforceQuota(ctx, async () => blob.size);
  const events = registry.events.events('mount', { repository: ctx.params.name!, digest, mediaType: 'application/octet-stream' }, eventOrigin(ctx));
  return registry.metadata.linkBlob(ctx.params.name!, digest, events);
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
  await enforceQuota(ctx, async () => {
    if (digest === null || req.headers['content-length'] === undefined) return 'unknown';
    return (await registry.metadata.getRepositoryBlob(name, digest)) ? 0 : declaredLength(req); // already counted
  });
  if (digest !== null) {
    const blob = await registry.uploads.monolithic(name, requireDigest(digest), req);
    sendBlobCreated(ctx, blob.digest);
    return;
  }
  const algorithm = query.get('digest-algorithm') ?? 'sha256';
  if (!isDigestAlgorithm(algorithm)) {
    throw new RegistryError('DIGEST_INVALID', `unsupported digest algorithm ${algorithm.slice(0, 50)}; use sha256 or sha512`);
  }
  const upload = await registry.uploads.start(name, algorithm as DigestAlgorithm);
  sendUploadStatus(ctx, 202, upload);
};

export const uploadStatus: Handler = async (ctx) => {
  const upload = await ctx.registry.uploads.status(ctx.params.name!, uploadId(ctx));
  sendUploadStatus(ctx, 204, upload);
};

export const patchUpload: Handler = async (ctx) => {
  const id = uploadId(ctx);
  const range = chunkRange(ctx.req);
  await enforceQuota(ctx, async () => (await ctx.registry.uploads.status(ctx.params.name!, id)).size + declaredLength(ctx.req));
  const upload = await ctx.registry.uploads.append(ctx.params.name!, id, ctx.req, range);
  sendUploadStatus(ctx, 202, upload);
};

export const finishUpload: Handler = async (ctx) => {
  const id = uploadId(ctx);
  const digest = requireDigest(ctx.query.get('digest'));
  const range = chunkRange(ctx.req);
  const body = hasBody(ctx.req) ? ctx.req : null;
  await enforceQuota(ctx, async () => {
    const name = ctx.params.name!;
    const canonical = `${digest.algorithm}:${digest.hex}`;
    if (await ctx.registry.metadata.getRepositoryBlob(name, canonical)) return 0; // already counted
    return (await ctx.registry.uploads.status(name, id)).size + declaredLength(ctx.req);
  });
  const blob = await ctx.registry.uploads.finish(ctx.params.name!, id, digest, body, range);
  sendBlobCreated(ctx, blob.digest);
};

export const cancelUpload: Handler = async (ctx) => {
  await ctx.registry.uploads.cancel(ctx.params.name!, uploadId(ctx));
  send(ctx.res, 204, {});
};
