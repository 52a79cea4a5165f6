// Reads the filesystem storage of CNCF Distribution 2.x/3.x (the `registry` / Debian `docker-registry` program),
// as found under its storage.filesystem.rootdirectory (/var/lib/registry by default):
//
//   docker/registry/v2/blobs/<alg>/<xx>/<hex>/data                               bytes of every blob and manifest
//   docker/registry/v2/repositories/<name>/_layers/<alg>/<hex>/link              blob linked to the repository
//   docker/registry/v2/repositories/<name>/_manifests/revisions/<alg>/<hex>/link manifest in the repository
//   docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link    what the tag points at
//   docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/index/...       the tag's history (ignored)
//   docker/registry/v2/repositories/<name>/_uploads/                             unfinished uploads (ignored)
//
// Names nest (team/sub/app is three directories), and a repository directory may hold child repositories next to
// its _layers/_manifests/_uploads. A `link` file holds the digest as text ("sha256:<hex>").
import { createHash } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isDigestAlgorithm, parseDigest } from '../oci/digest.js';

export class DistributionLayoutError extends Error {
  override readonly name = 'DistributionLayoutError';
}

export interface DistributionRepository {
  readonly name: string;
  /** Blobs linked to the repository (_layers), digest order. */
  readonly layers: readonly string[];
  /** Manifests of the repository (_manifests/revisions), digest order. */
  readonly revisions: readonly string[];
  /** tag -> manifest digest (current/link), tag order. */
  readonly tags: ReadonlyMap<string, string>;
  /** Link files that are empty, unreadable or disagree with their path (e.g. torn by a crash of Distribution). */
  readonly badLinks: readonly string[];
  /** A digest of the lists above: unchanged fingerprint, unchanged repository. */
  readonly fingerprint: string;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function listDir(dir: string): Promise<{ name: string; isDir: boolean }[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).map((e) => ({ name: e.name, isDir: e.isDirectory() }));
  } catch (err) {
    if (isMissing(err)) return [];
    throw err;
  }
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export class DistributionStorage {
  private constructor(
    /** The docker/registry/v2 directory. */
    readonly root: string,
  ) {}

  /**
   * Accepts the storage root directory (holding docker/registry/v2), or the v2 directory itself; realpath'd, so
   * that the import state can recognise the same source under another spelling.
   */
  static async open(path: string): Promise<DistributionStorage> {
    for (const candidate of [join(path, 'docker', 'registry', 'v2'), path]) {
      const [blobs, repos] = await Promise.all(['blobs', 'repositories'].map((d) => stat(join(candidate, d)).catch(() => null)));
      if (blobs?.isDirectory() && repos?.isDirectory()) return new DistributionStorage(await realpath(candidate));
    }
    let hint = '';
    if (await stat(path).catch(() => null)) hint = ': no docker/registry/v2/{blobs,repositories} in it';
    else hint = ': it does not exist';
    throw new DistributionLayoutError(`${path} is not a Distribution filesystem storage directory${hint} (pass the registry's storage.filesystem.rootdirectory, e.g. /var/lib/registry)`);
  }

  blobPath(digest: string): string {
    const parsed = parseDigest(digest);
    if (!parsed) throw new DistributionLayoutError(`not a digest: ${digest}`);
    return join(this.root, 'blobs', parsed.algorithm, parsed.hex.slice(0, 2), parsed.hex, 'data');
  }

  /** Size of a blob's data file, null when absent (e.g. removed by `registry garbage-collect`). */
  async blobSize(digest: string): Promise<number | null> {
    try {
      const s = await stat(this.blobPath(digest));
      return s.isFile() ? s.size : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async readBlob(digest: string): Promise<Buffer | null> {
    try {
      return await readFile(this.blobPath(digest));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  openBlob(digest: string): ReadStream {
    return createReadStream(this.blobPath(digest), { highWaterMark: 1 << 20 });
  }

  /** Every repository name, in lexical order. */
  async repositoryNames(): Promise<string[]> {
    const names: string[] = [];
    const walk = async (dir: string, prefix: string): Promise<void> => {
      const entries = await listDir(dir);
      if (prefix && entries.some((e) => e.isDir && (e.name === '_manifests' || e.name === '_layers'))) names.push(prefix);
      for (const e of entries) {
        if (e.isDir && !e.name.startsWith('_')) await walk(join(dir, e.name), prefix ? `${prefix}/${e.name}` : e.name);
      }
    };
    await walk(join(this.root, 'repositories'), '');
    return names.sort(byString);
  }

  private repoDir(name: string): string {
    if (name.split('/').some((part) => part === '' || part === '.' || part === '..')) throw new DistributionLayoutError(`invalid repository path ${name}`);
    return join(this.root, 'repositories', ...name.split('/'));
  }

  /** Reads a link file: the digest it holds, or null (reported in badLinks) when it is unusable. */
  private async link(path: string, expected: string | null, bad: string[]): Promise<string | null> {
    let text: string;
    try {
      text = (await readFile(path, 'utf8')).trim();
    } catch (err) {
      if (isMissing(err)) return null; // a directory without its link: Distribution ignores it too
      throw err;
    }
    const rel = path.slice(this.root.length + 1);
    if (!parseDigest(text)) {
      bad.push(`${rel}: ${text === '' ? 'empty link file' : `not a digest: ${JSON.stringify(text.slice(0, 80))}`}`);
      return null;
    }
    if (expected !== null && text !== expected) {
      bad.push(`${rel}: holds ${text}, its path says ${expected}`);
      return null;
    }
    return text;
  }

  /** Digests linked under dir/<alg>/<hex>/link. */
  private async linkedDigests(dir: string, bad: string[]): Promise<string[]> {
    const found: string[] = [];
    for (const alg of await listDir(dir)) {
      if (!alg.isDir || !isDigestAlgorithm(alg.name)) continue;
      for (const entry of await listDir(join(dir, alg.name))) {
        if (!entry.isDir) continue;
        const expected = `${alg.name}:${entry.name}`;
        if (!parseDigest(expected)) {
          bad.push(`${join(dir, alg.name, entry.name).slice(this.root.length + 1)}: not a digest directory`);
          continue;
        }
        const digest = await this.link(join(dir, alg.name, entry.name, 'link'), expected, bad);
        if (digest) found.push(digest);
      }
    }
    return found.sort(byString);
  }

  async repository(name: string): Promise<DistributionRepository> {
    const dir = this.repoDir(name);
    const badLinks: string[] = [];
    const layers = await this.linkedDigests(join(dir, '_layers'), badLinks);
    const revisions = await this.linkedDigests(join(dir, '_manifests', 'revisions'), badLinks);
    const tags = new Map<string, string>();
    const tagNames = (await listDir(join(dir, '_manifests', 'tags'))).filter((e) => e.isDir).map((e) => e.name).sort(byString);
    for (const tag of tagNames) {
      const digest = await this.link(join(dir, '_manifests', 'tags', tag, 'current', 'link'), null, badLinks);
      if (digest) tags.set(tag, digest);
    }
    const fingerprint = createHash('sha256')
      .update(JSON.stringify({ layers, revisions, tags: [...tags] }))
      .digest('hex');
    return { name, layers, revisions, tags, badLinks, fingerprint };
  }
}
