import { requireDigest } from '../../oci/digest.js';
import { RegistryError } from '../../oci/errors.js';
import { NotFoundError } from '../../storage/driver.js';
import { blobKey } from '../../storage/paths.js';
import { eventOrigin, send, type Handler } from '../context.js';
import { parseRange } from '../range.js';

function blobUnknown(digest: string): RegistryError {
  return new RegistryError('BLOB_UNKNOWN', 'blob unknown to registry', { digest });
}

export const getBlob: Handler = async ({ req, res, registry, params, log }) => {
  const digest = params.digest!;
  const parsed = requireDigest(digest);
  const blob = await registry.metadata.getRepositoryBlob(params.name!, digest);
  if (!blob) throw blobUnknown(digest);
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': digest,
    ETag: `"${digest}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
  if (req.headers['if-none-match'] === `"${digest}"`) {
    send(res, 304, headers);
    return;
  }
  const range = parseRange(req.headers.range, blob.size);
  if (range.kind === 'unsatisfiable') {
    // No spec code fits a range past the end; SIZE_INVALID is the nearest, and the body is the usual error JSON.
    throw new RegistryError('SIZE_INVALID', 'requested range is not satisfiable', { size: blob.size }, {
      status: 416,
      headers: { 'Content-Range': `bytes */${blob.size}`, 'Docker-Content-Digest': digest },
    });
  }
  if (req.method === 'HEAD') {
    send(res, 200, { ...headers, 'Content-Length': blob.size });
    return;
  }
  const partial = range.kind === 'partial' ? range.range : undefined;
  const writeHead = (): void => {
    if (partial) {
      const { start, end } = partial;
      res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${blob.size}` });
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': blob.size });
    }
  };
  try {
    await registry.driver.send(blobKey(parsed), partial, res, writeHead);
  } catch (err) {
    if (!(err instanceof NotFoundError) || res.headersSent) throw err;
    log.error({ digest }, 'blob recorded in metadata but missing from storage');
    throw blobUnknown(digest);
  }
};

export const deleteBlob: Handler = async (ctx) => {
  const { res, registry, params } = ctx;
  const digest = params.digest!;
  requireDigest(digest);
  const events = registry.events.events('delete', { repository: params.name!, digest, mediaType: 'application/octet-stream' }, eventOrigin(ctx));
  if (!(await registry.metadata.unlinkBlob(params.name!, digest, events))) throw blobUnknown(digest);
  send(res, 202, { 'Docker-Content-Digest': digest });
};
