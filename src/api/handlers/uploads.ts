import type { IncomingMessage } from 'node:http';
import { isDigestAlgorithm, requireDigest } from '../../oci/digest.js';
import { DomainError, unknownUpload } from '../../oci/errors.js';
import { refusedMidStream } from '../../registry/quota-scope.js';
import type { Chunk, ChunkRange, MountSource, UploadStatus } from '../../registry/services.js';
import { RegistryError } from '../errors.js';
import { hasBody } from '../body.js';
import { eventOrigin, send, type Handler, type RequestContext } from '../context.js';
import { parseChunkRange, stagedRange } from '../range.js';
import { locationFor } from '../urls.js';

const uploadIdPattern = /^[0-9a-f-]{36}$/;

function uploadId(ctx: RequestContext): string {
  const id = ctx.params.uuid!;
  if (!uploadIdPattern.test(id)) throw unknownUpload(id);
  return id;
}

function sendUploadStatus(ctx: RequestContext, status: number, upload: UploadStatus): void {
  const name = ctx.params.name!;
  const headers: Record<string, string | number> = {
    Location: locationFor(ctx.req, ctx.config.server, `/v2/${name}/blobs/uploads/${upload.id}`),
    'Docker-Upload-UUID': upload.id,
    Range: stagedRange(upload.size),
  };
  const minChunk = ctx.config.registry.uploadChunkMinLength;
  if (minChunk > 0) headers['OCI-Chunk-Min-Length'] = minChunk;
  send(ctx.res, status, headers);
}

function sendBlobCreated(ctx: RequestContext, digest: string): void {
  send(ctx.res, 201, {
    Location: locationFor(ctx.req, ctx.config.server, `/v2/${ctx.params.name}/blobs/${digest}`),
    'Docker-Content-Digest': digest,
  });
}

/** The chunk's declared range must agree with its length, or the offsets we answer with would lie. */
function chunkRange(req: IncomingMessage): ChunkRange | undefined {
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

/** Runs a service step on the request's body; a refusal first reads what the client is still sending. */
async function refusing<T>(req: IncomingMessage, step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (err) {
    if (refusedMidStream(err)) await discardRest(req);
    throw err;
  }
}

function chunk(req: IncomingMessage, range?: ChunkRange): Chunk {
  return { body: req, range, declaredLength: declaredLength(req) };
}

/** A mount must name a source the caller may pull; without auth, one without a source takes the blob from anywhere. */
function mountSource(ctx: RequestContext, from: string | null): MountSource {
  const principal = ctx.info.principal ?? { name: null };
  return {
    from,
    mayRead: (repository) => (repository === null ? ctx.config.auth.mode === 'none' : ctx.access.allowed(principal, repository, 'pull')),
  };
}

export const startUpload: Handler = async (ctx) => {
  const { query, services, req } = ctx;
  const name = ctx.params.name!;
  const mount = query.get('mount');
  if (mount !== null && (await refusing(req, services.blobs.mount(name, mount, mountSource(ctx, query.get('from')), eventOrigin(ctx))))) {
    sendBlobCreated(ctx, mount);
    return;
  }
  const digest = query.get('digest');
  if (digest !== null) {
    const blob = await refusing(req, services.uploads.monolithic(name, requireDigest(digest), chunk(req)));
    sendBlobCreated(ctx, blob.digest);
    return;
  }
  const algorithm = query.get('digest-algorithm') ?? 'sha256';
  if (!isDigestAlgorithm(algorithm)) {
    throw new DomainError('DigestInvalid', `unsupported digest algorithm ${algorithm.slice(0, 50)}; use sha256 or sha512`, undefined);
  }
  const upload = await refusing(req, services.uploads.start(name, algorithm));
  sendUploadStatus(ctx, 202, upload);
};

export const uploadStatus: Handler = async (ctx) => {
  const upload = await ctx.services.uploads.status(ctx.params.name!, uploadId(ctx));
  sendUploadStatus(ctx, 204, upload);
};

export const patchUpload: Handler = async (ctx) => {
  const id = uploadId(ctx);
  const range = chunkRange(ctx.req);
  const upload = await refusing(ctx.req, ctx.services.uploads.append(ctx.params.name!, id, chunk(ctx.req, range)));
  sendUploadStatus(ctx, 202, upload);
};

export const finishUpload: Handler = async (ctx) => {
  const id = uploadId(ctx);
  const digest = requireDigest(ctx.query.get('digest'));
  const range = chunkRange(ctx.req);
  const body = hasBody(ctx.req) ? chunk(ctx.req, range) : null;
  const blob = await refusing(ctx.req, ctx.services.uploads.finish(ctx.params.name!, id, digest, body));
  sendBlobCreated(ctx, blob.digest);
};

export const cancelUpload: Handler = async (ctx) => {
  await ctx.services.uploads.cancel(ctx.params.name!, uploadId(ctx));
  send(ctx.res, 204, {});
};
