// Plain-fetch pushes and pulls for process and load tests (GC stress, backup under traffic): small images, one
// layer shared by all.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

export const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export interface PushedImage {
  readonly digest: string;
  /** config, then layers */
  readonly blobs: readonly string[];
}

/** A monolithic blob push; with skipExisting, a HEAD first, as real clients skip what the registry already has. */
export async function pushBlob(url: string, repo: string, data: Buffer, skipExisting = false): Promise<string> {
  const digest = sha256(data);
  if (skipExisting) {
    const head = await fetch(`${url}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
    if (head.status === 200) return digest;
  }
  const res = await fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: new Uint8Array(data),
    headers: { 'Content-Type': 'application/octet-stream' },
  });
  await res.arrayBuffer();
  if (res.status !== 201) throw new Error(`blob push answered ${res.status}`);
  return digest;
}

/**
 * An image of a unique config, the shared layer and one random layer (minLayer + up to extraLayer bytes), tagged.
 * null when the registry did not acknowledge the manifest (e.g. GC took a blob between the HEAD and the PUT): the
 * client would retry, and nothing was promised.
 */
export async function pushImage(
  url: string,
  repo: string,
  tag: string,
  shared: Buffer,
  options: { minLayer: number; extraLayer: number; skipExisting?: boolean },
): Promise<PushedImage | null> {
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const layers = [shared, randomBytes(options.minLayer + Math.floor(Math.random() * options.extraLayer))];
  const push = (data: Buffer) => pushBlob(url, repo, data, options.skipExisting);
  const blobs = [await push(config), ...(await Promise.all(layers.map(push)))];
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: blobs[0], size: config.length },
      layers: layers.map((l, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: blobs[i + 1], size: l.length })),
    }),
  );
  const res = await fetch(`${url}/v2/${repo}/manifests/${tag}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': OCI_MANIFEST } });
  await res.arrayBuffer();
  if (res.status !== 201) return null;
  return { digest: sha256(body), blobs };
}

/** Pulls repo:ref; returns the manifest digest and checks that it and every blob it names hash right. */
export async function pullImage(url: string, repo: string, ref: string): Promise<{ digest: string; blobs: string[] }> {
  const res = await fetch(`${url}/v2/${repo}/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
  const body = Buffer.from(await res.arrayBuffer());
  assert.equal(res.status, 200, `GET ${repo}:${ref} answered ${res.status}: ${body.toString().slice(0, 300)}`);
  const digest = sha256(body);
  assert.equal(res.headers.get('docker-content-digest'), digest);
  const doc = JSON.parse(body.toString()) as { config: { digest: string }; layers: { digest: string }[] };
  const blobs = [doc.config.digest, ...doc.layers.map((l) => l.digest)];
  for (const b of blobs) {
    const blob = await fetch(`${url}/v2/${repo}/blobs/${b}`);
    const bytes = Buffer.from(await blob.arrayBuffer());
    assert.equal(blob.status, 200, `blob ${b} of ${repo}:${ref} answered ${blob.status}`);
    assert.equal(sha256(bytes), b, `blob ${b} of ${repo}:${ref} pulls corrupt`);
  }
  return { digest, blobs };
}
