// The few OCI documents the benchmark pushes: a real image config and an image manifest referencing pushed blobs.
import type { BlobData } from './content.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';

/** Distribution answers 404 for an OCI manifest unless Accept names OCI types, so list what real clients list. */
export const MANIFEST_ACCEPT = [
  OCI_MANIFEST,
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

/**
 * An image config whose diff_ids are the (uncompressed) layers' digests, padded with a comment to exactly `size`
 * bytes so config blobs count as the same small blobs as the layers.
 */
export function imageConfig(layers: readonly BlobData[], nonce: string, size: number): Buffer {
  const doc = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: [`WHARF_BENCH=${nonce}`] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest()) },
    comment: '',
  };
  const pad = size - Buffer.byteLength(JSON.stringify(doc));
  if (pad < 0) throw new Error(`image config needs ${size - pad} bytes, more than ${size}`);
  doc.comment = 'x'.repeat(pad);
  return Buffer.from(JSON.stringify(doc));
}

export function imageManifest(config: BlobData, layers: readonly BlobData[]): Buffer {
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest(), size: config.size },
      layers: layers.map((l) => ({ mediaType: OCI_LAYER, digest: l.digest(), size: l.size })),
    }),
  );
}
