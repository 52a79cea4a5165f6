import type { IncomingMessage } from 'node:http';
import { RegistryError } from '../errors.js';
import { isManifestMediaType } from '../../oci/media-types.js';
import { parseReference } from '../../registry/manifests.js';
import { readLimitedBody } from '../body.js';
import { eventOrigin, send, type Handler } from '../context.js';
import { locationFor } from '../urls.js';

/**
 * Accept negotiation as Distribution does it: a client that lists manifest types but not the stored one (and no
 * wildcard) cannot parse it, so it gets MANIFEST_UNKNOWN rather than bytes it would misread.
 */
function acceptable(req: IncomingMessage, mediaType: string): boolean {
  const header = req.headers.accept;
  if (!header) return true;
  const listed = header.split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  if (listed.some((t) => t === '*/*' || t === 'application/*' || t === 'application/json')) return true;
  const manifestTypes = listed.filter(isManifestMediaType);
  return manifestTypes.length === 0 || manifestTypes.includes(mediaType);
}

export const getManifest: Handler = async (ctx) => {
  const { req, res, services, params, log } = ctx;
  const reference = parseReference(params.reference!);
  const manifest = await services.manifests.get(params.name!, reference);
  if (!acceptable(req, manifest.mediaType)) {
    throw new RegistryError('MANIFEST_UNKNOWN', `manifest is ${manifest.mediaType}, which the Accept header does not list`, {
      mediaType: manifest.mediaType,
    });
  }
  const headers: Record<string, string | number> = {
    'Content-Type': manifest.mediaType,
    'Docker-Content-Digest': manifest.digest,
    ETag: `"${manifest.digest}"`,
    'Content-Length': manifest.size,
  };
  if (manifest.subject) headers['OCI-Subject'] = manifest.subject;
  if (req.method === 'HEAD') {
    send(res, 200, headers);
    return;
  }
  if (req.headers['if-none-match'] === `"${manifest.digest}"`) {
    send(res, 304, headers);
    return;
  }
  send(res, 200, headers, manifest.body);
  // After the response: recording a pull must never slow down or fail the pull itself.
  services.manifests.recordPull(manifest, reference, eventOrigin(ctx)).catch((err: unknown) => log.warn({ err }, 'could not record pull event'));
};

export const putManifest: Handler = async (ctx) => {
  const { req, res, services, config, params, query } = ctx;
  const name = params.name!;
  const reference = parseReference(params.reference!);
  const body = await readLimitedBody(req, config.registry.maxManifestSize);
  const pushed = await services.manifests.push(name, reference, body, req.headers['content-type'], query.getAll('tag'), eventOrigin(ctx));
  const headers: Record<string, string> = {
    Location: locationFor(req, config.server, `/v2/${name}/manifests/${pushed.digest}`),
    'Docker-Content-Digest': pushed.digest,
  };
  if (pushed.subject) headers['OCI-Subject'] = pushed.subject;
  if (pushed.tags.length > 0) headers['OCI-Tag'] = pushed.tags.join(', ');
  send(res, 201, headers);
};

export const deleteManifest: Handler = async (ctx) => {
  const { res, services, params } = ctx;
  await services.manifests.delete(params.name!, parseReference(params.reference!), eventOrigin(ctx));
  send(res, 202, {});
};
