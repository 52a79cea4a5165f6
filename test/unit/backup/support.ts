// Registries on temp dirs for the backup tests: push content through the services, and describe everything a
// registry serves (catalog, tags, manifests, blob bytes) so that two registries can be compared.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { resolvePaths, validateConfig } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { parseDigest } from '../../../src/oci/digest.js';
import { openRegistry, type Registry } from '../../../src/registry/registry.js';
import { blobKey } from '../../../src/storage/paths.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `wharf-${prefix}-`));
}

export function configFor(dataDir: string): Config {
  return resolvePaths(validateConfig({ storage: { dataDir }, gc: { enabled: false }, log: { level: 'silent' } }, 'test'));
}

export function open(dataDir: string): { config: Config; reg: Registry } {
  const config = configFor(dataDir);
  return { config, reg: openRegistry(config, pino({ level: 'silent' })) };
}

export function blobFile(dataDir: string, digest: string): string {
  return join(dataDir, 'storage', blobKey(parseDigest(digest)!));
}

export async function pushBlob(reg: Registry, repo: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(data);
  await reg.uploads.monolithic(repo, parseDigest(digest)!, Readable.from([data]));
  return { digest, size: data.length };
}

export interface Image {
  readonly digest: string;
  readonly size: number;
  readonly config: string;
  readonly layers: readonly string[];
}

export async function pushImage(reg: Registry, repo: string, tag: string | null, layers: Buffer[] = [randomBytes(2000)]): Promise<Image> {
  const config = await pushBlob(reg, repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: randomBytes(6).toString('hex') })));
  const pushed = [];
  for (const l of layers) pushed.push(await pushBlob(reg, repo, l));
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: pushed.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
    }),
  );
  const digest = sha256(body);
  await reg.manifests.push(repo, tag ? { tag } : { digest }, body, OCI_MANIFEST, []);
  return { digest, size: body.length, config: config.digest, layers: pushed.map((l) => l.digest) };
}

export async function pushIndex(reg: Registry, repo: string, tag: string, children: Image[]): Promise<string> {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c, i) => ({ mediaType: OCI_MANIFEST, digest: c.digest, size: c.size, platform: { architecture: `arch${i}`, os: 'linux' } })),
    }),
  );
  await reg.manifests.push(repo, { tag }, body, OCI_INDEX, []);
  return sha256(body);
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

export interface RegistryView {
  readonly repositories: string[];
  /** repo -> tag -> manifest digest */
  readonly tags: Record<string, Record<string, string>>;
  /** repo@digest -> sha256 of the manifest body, for the digests asked about */
  readonly manifests: Record<string, string | null>;
  /** digest -> sha256 of the bytes storage returns, for every blob the metadata lists */
  readonly blobs: Record<string, string>;
  /** repo -> blobs linked to it, among those asked about */
  readonly links: Record<string, string[]>;
}

/** What the registry serves, in a form assert.deepEqual can compare. */
export async function view(reg: Registry, manifestRefs: readonly { repo: string; digest: string }[] = []): Promise<RegistryView> {
  const repositories = await reg.metadata.listRepositories({ limit: 10_000 });
  const tags: RegistryView['tags'] = {};
  const links: RegistryView['links'] = {};
  const blobs: RegistryView['blobs'] = {};
  const all = await reg.metadata.listBlobs({ limit: 100_000 });
  for (const b of all) {
    const bytes = await readAll(await reg.driver.read(blobKey(parseDigest(b.digest)!)));
    blobs[b.digest] = `${sha256(bytes)} ${bytes.length}/${b.size}`;
  }
  for (const repo of repositories) {
    tags[repo] = {};
    for (const tag of (await reg.metadata.listTags(repo, { limit: 10_000 })) ?? []) {
      tags[repo]![tag] = (await reg.metadata.getManifest(repo, { tag }))!.digest;
    }
    links[repo] = [];
    for (const b of all) if (await reg.metadata.getRepositoryBlob(repo, b.digest)) links[repo]!.push(b.digest);
  }
  const manifests: RegistryView['manifests'] = {};
  for (const { repo, digest } of manifestRefs) {
    const m = await reg.metadata.getManifest(repo, { digest });
    manifests[`${repo}@${digest}`] = m ? sha256(m.body) : null;
  }
  return { repositories, tags, manifests, blobs, links };
}
