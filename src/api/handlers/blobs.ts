import { DomainError } from '../../oci/errors.js';
import { eventOrigin, send, type Handler } from '../context.js';
import { parseRange } from '../range.js';

export const getBlob: Handler = async ({ req, res, services, params }) => {
  const name = params.name!;
  const digest = params.digest!;
  const blob = await services.blobs.stat(name, digest);
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
  if (range.kind === 'unsatisfiable') throw new DomainError('RangeNotSatisfiable', 'requested range is not satisfiable', { digest, size: blob.size });
  if (req.method === 'HEAD') {
    send(res, 200, { ...headers, 'Content-Length': blob.size });
    return;
  }
  const location = await services.blobs.redirect?.(blob);
  if (location) {
    // The client fetches the bytes (and its Range) from the bucket; the digest headers still come from here.
    send(res, 307, { 'Docker-Content-Digest': digest, Location: location });
    return;
  }
  const partial = range.kind === 'partial' ? range.range : undefined;
  await services.blobs.serve(name, blob, partial, res, () => {
    if (partial) {
      const { start, end } = partial;
      res.writeHead(206, { ...headers, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${blob.size}` });
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': blob.size });
    }
  });
};

export const deleteBlob: Handler = async (ctx) => {
  const digest = ctx.params.digest!;
  await ctx.services.blobs.delete(ctx.params.name!, digest, eventOrigin(ctx));
  send(ctx.res, 202, { 'Docker-Content-Digest': digest });
};
