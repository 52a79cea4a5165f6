import { requireDigest } from '../../oci/digest.js';
import { mediaTypes } from '../../oci/media-types.js';
import { sendJson, type Handler } from '../context.js';

export const listReferrers: Handler = async ({ res, services, query, params }) => {
  requireDigest(params.digest);
  const artifactType = query.get('artifactType') ?? undefined;
  const index = await services.manifests.referrers(params.name!, params.digest!, artifactType);
  sendJson(res, 200, index, {
    'Content-Type': mediaTypes.ociIndex,
    ...(artifactType !== undefined ? { 'OCI-Filters-Applied': 'artifactType' } : {}),
  });
};
