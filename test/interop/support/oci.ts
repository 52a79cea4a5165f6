// Builds and reads OCI image layouts on disk (umoci for images, hand-written image indexes).
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile, access } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runOk } from './exec.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const DOCKER_MANIFEST_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface ImageManifest {
  schemaVersion: number;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
}

export interface ImageIndex {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export async function sha256File(path: string): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) {
    const b = chunk as Buffer;
    size += b.length;
    hash.update(b);
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

export function hexOf(digest: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(digest);
  if (!m?.[1]) throw new Error(`not a sha256 digest: ${digest}`);
  return m[1];
}

export function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', hexOf(digest));
}

export async function readBlob(layout: string, digest: string): Promise<Buffer> {
  return readFile(blobPath(layout, digest));
}

export async function readIndex(layout: string): Promise<ImageIndex> {
  return JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as ImageIndex;
}

/** The top-level descriptor of index.json tagged `ref`. */
export async function resolveRef(layout: string, ref: string): Promise<Descriptor> {
  const index = await readIndex(layout);
  const found = index.manifests.filter((d) => d.annotations?.[REF_NAME] === ref);
  if (found.length !== 1 || !found[0]) {
    throw new Error(`${layout}: expected exactly one descriptor named ${ref}, found ${found.length}: ${JSON.stringify(index.manifests)}`);
  }
  return found[0];
}

// ---------------------------------------------------------------- building with umoci

/** A file placed in the image: `size` random (incompressible) bytes, or fixed `content`. */
export type FileSpec = { path: string; size: number } | { path: string; content: string | Buffer };

/** One layer: the files added between two `umoci repack` runs. */
export interface LayerSpec {
  files: FileSpec[];
}

export interface BuiltImage {
  layout: string;
  tag: string;
  descriptor: Descriptor;
  manifestDigest: string;
  manifestBytes: Buffer;
  manifest: ImageManifest;
  configDigest: string;
  layerDigests: string[];
  /** Exact contents of every file written, by path inside the rootfs. */
  files: Map<string, Buffer>;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

export async function initLayout(layout: string): Promise<void> {
  if (await exists(join(layout, 'index.json'))) return;
  await mkdir(dirname(layout), { recursive: true });
  await runOk('umoci', ['init', '--layout', layout]);
}

/**
 * Builds image `layout:tag` with one layer per LayerSpec (umoci new, unpack, write files, repack per layer).
 * Random file contents make every layer digest unique.
 */
export async function buildImage(
  layout: string,
  tag: string,
  layers: LayerSpec[],
  opts: { architecture?: string; os?: string; workDir?: string } = {},
): Promise<BuiltImage> {
  await initLayout(layout);
  const image = `${layout}:${tag}`;
  await runOk('umoci', ['new', '--image', image]);
  if (opts.architecture || opts.os) {
    const args = ['config', '--image', image, '--no-history'];
    if (opts.architecture) args.push('--architecture', opts.architecture);
    if (opts.os) args.push('--os', opts.os);
    await runOk('umoci', args);
  }
  const bundle = join(opts.workDir ?? dirname(layout), `bundle-${tag}-${randomBytes(4).toString('hex')}`);
  await runOk('umoci', ['unpack', '--rootless', '--image', image, bundle]);
  const files = new Map<string, Buffer>();
  try {
    for (const [i, layer] of layers.entries()) {
      for (const f of layer.files) {
        const data = 'size' in f ? randomBytes(f.size) : Buffer.from(f.content);
        const target = join(bundle, 'rootfs', f.path);
        await mkdir(dirname(target), { recursive: true });
        await writeFile(target, data);
        files.set(f.path, data);
      }
      await runOk('umoci', ['repack', '--refresh-bundle', '--image', image, '--history.created_by', `wharf interop layer ${i}`, bundle], { timeoutMs: 180_000 });
    }
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
  const descriptor = await resolveRef(layout, tag);
  const manifestBytes = await readBlob(layout, descriptor.digest);
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  if (manifest.layers.length !== layers.length) {
    throw new Error(`umoci built ${manifest.layers.length} layers for ${image}, expected ${layers.length}`);
  }
  return {
    layout,
    tag,
    descriptor,
    manifestDigest: descriptor.digest,
    manifestBytes,
    manifest,
    configDigest: manifest.config.digest,
    layerDigests: manifest.layers.map((l) => l.digest),
    files,
  };
}

export interface BuiltIndex {
  layout: string;
  tag: string;
  digest: string;
  bytes: Buffer;
  index: ImageIndex;
  children: BuiltImage[];
}

/**
 * Writes a multi-platform image index (OCI image index) pointing at `children` (images already in `layout`)
 * and names it `tag` in index.json.
 */
export async function writeImageIndex(layout: string, tag: string, children: { image: BuiltImage; platform: Platform }[]): Promise<BuiltIndex> {
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: children.map(({ image, platform }) => ({
      mediaType: OCI_MANIFEST,
      digest: image.manifestDigest,
      size: image.manifestBytes.length,
      platform,
    })),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  const digest = sha256(bytes);
  await writeFile(blobPath(layout, digest), bytes);
  const top = await readIndex(layout);
  top.manifests = top.manifests.filter((d) => d.annotations?.[REF_NAME] !== tag);
  top.manifests.push({ mediaType: OCI_INDEX, digest, size: bytes.length, annotations: { [REF_NAME]: tag } });
  await writeFile(join(layout, 'index.json'), JSON.stringify(top));
  return { layout, tag, digest, bytes, index, children: children.map((c) => c.image) };
}

// ---------------------------------------------------------------- verifying layouts and dir: copies

/**
 * Checks that every file under blobs/sha256 hashes to its own name and returns the digests found.
 * Throws listing every mismatch.
 */
export async function verifyLayoutBlobs(layout: string): Promise<Map<string, number>> {
  const dir = join(layout, 'blobs', 'sha256');
  const found = new Map<string, number>();
  const bad: string[] = [];
  for (const name of await readdir(dir)) {
    const { digest, size } = await sha256File(join(dir, name));
    if (digest !== `sha256:${name}`) bad.push(`${name} hashes to ${digest}`);
    found.set(`sha256:${name}`, size);
  }
  if (bad.length) throw new Error(`${layout}: corrupt blobs:\n${bad.join('\n')}`);
  return found;
}

export interface LoadedImage {
  descriptor: Descriptor;
  manifestBytes: Buffer;
  manifest: ImageManifest;
}

/** Reads the image manifest `ref` points to in a layout (and checks its size against the descriptor). */
export async function loadImage(layout: string, ref: string): Promise<LoadedImage> {
  const descriptor = await resolveRef(layout, ref);
  const manifestBytes = await readBlob(layout, descriptor.digest);
  if (manifestBytes.length !== descriptor.size) throw new Error(`${layout}:${ref}: manifest size ${manifestBytes.length} != descriptor ${descriptor.size}`);
  return { descriptor, manifestBytes, manifest: JSON.parse(manifestBytes.toString('utf8')) as ImageManifest };
}

/**
 * Checks a `skopeo copy ... dir:D` directory: every blob file (named by hex digest) hashes to its name,
 * and returns the manifest bytes and the blob digests present.
 */
export async function verifyDirCopy(dir: string): Promise<{ manifestBytes: Buffer; blobs: Set<string> }> {
  const manifestBytes = await readFile(join(dir, 'manifest.json'));
  const blobs = new Set<string>();
  const bad: string[] = [];
  for (const name of await readdir(dir)) {
    if (!/^[0-9a-f]{64}$/.test(name)) continue;
    const { digest } = await sha256File(join(dir, name));
    if (digest !== `sha256:${name}`) bad.push(`${name} hashes to ${digest}`);
    blobs.add(`sha256:${name}`);
  }
  if (bad.length) throw new Error(`${dir}: corrupt blobs:\n${bad.join('\n')}`);
  return { manifestBytes, blobs };
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
