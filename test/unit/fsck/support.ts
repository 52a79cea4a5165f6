// A registry on a temp dir, with helpers to push content through the services and damage it on disk.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import pino from 'pino';
import { resolvePaths, validateConfig } from '../../../src/config/load.js';
import type { Clock } from '../../../src/fsck/throttle.js';
import { parseDigest, type DigestAlgorithm } from '../../../src/oci/digest.js';
import { openRegistry, type Registry } from '../../../src/registry/registry.js';
import { blobKey } from '../../../src/storage/paths.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export const digestOf = (data: Buffer, alg: DigestAlgorithm = 'sha256') => `${alg}:${createHash(alg).update(data).digest('hex')}`;

export interface Fixture {
  readonly dir: string;
  readonly reg: Registry;
  /** Absolute path of a blob's file. */
  file(digest: string): string;
  blob(repo: string, data?: Buffer, alg?: DigestAlgorithm): Promise<{ digest: string; size: number; data: Buffer }>;
  /** An image manifest with a config and the given layers (fresh random ones by default). */
  image(repo: string, tag: string | null, layers?: Buffer[]): Promise<{ digest: string; config: string; layers: string[]; size: number }>;
  index(repo: string, tag: string, children: { digest: string; size: number }[]): Promise<string>;
  corrupt(digest: string): Promise<Buffer>;
  truncateTo(digest: string, size: number): Promise<void>;
  remove(digest: string): Promise<void>;
  /** Writes a file under storage (e.g. an orphan), creating directories. */
  put(key: string, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

export async function fixture(): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-fsck-'));
  const config = resolvePaths(validateConfig({ storage: { dataDir: dir }, gc: { enabled: false } }, 'test'));
  const reg = openRegistry(config, pino({ level: 'silent' }));
  const file = (digest: string) => join(dir, 'storage', blobKey(parseDigest(digest)!));
  const blob: Fixture['blob'] = async (repo, data = randomBytes(100 + Math.floor(Math.random() * 400)), alg = 'sha256') => {
    const digest = digestOf(data, alg);
    await reg.uploads.monolithic(repo, parseDigest(digest)!, Readable.from([data]));
    return { digest, size: data.length, data };
  };
  return {
    dir,
    reg,
    file,
    blob,
    async image(repo, tag, layerData = [randomBytes(300)]) {
      const config = await blob(repo, Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', n: randomBytes(4).toString('hex') })));
      const layers = [];
      for (const data of layerData) layers.push(await blob(repo, data));
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
          layers: layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: l.digest, size: l.size })),
        }),
      );
      const digest = digestOf(body);
      await reg.manifests.push(repo, tag ? { tag } : { digest }, body, OCI_MANIFEST, []);
      return { digest, config: config.digest, layers: layers.map((l) => l.digest), size: body.length };
    },
    async index(repo, tag, children) {
      const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: children.map((c) => ({ mediaType: OCI_MANIFEST, ...c })) }));
      await reg.manifests.push(repo, { tag }, body, OCI_INDEX, []);
      return digestOf(body);
    },
    async corrupt(digest) {
      const { size } = (await reg.metadata.getBlob(digest))!;
      const bad = randomBytes(size); // same length: only the digest can tell
      await writeFile(file(digest), bad);
      return bad;
    },
    truncateTo: (digest, size) => truncate(file(digest), size),
    remove: (digest) => unlink(file(digest)),
    async put(key, data) {
      const path = join(dir, 'storage', key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, data);
    },
    async close() {
      await reg.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Virtual time: sleeping advances it at once (after yielding to the event loop). */
export class FakeClock implements Clock {
  t = 1_000_000;
  readonly sleeps: number[] = [];
  onSleep: ((ms: number) => void) | null = null;

  now(): number {
    return this.t;
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    this.t += ms;
    this.sleeps.push(ms);
    this.onSleep?.(ms);
    await new Promise((r) => setImmediate(r));
    signal?.throwIfAborted();
  }
}
