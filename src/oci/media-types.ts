export const mediaTypes = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
} as const;

export const imageManifestTypes: ReadonlySet<string> = new Set([mediaTypes.ociManifest, mediaTypes.dockerManifest]);
export const indexManifestTypes: ReadonlySet<string> = new Set([mediaTypes.ociIndex, mediaTypes.dockerManifestList]);

export function isManifestMediaType(value: string): boolean {
  return imageManifestTypes.has(value) || indexManifestTypes.has(value);
}
