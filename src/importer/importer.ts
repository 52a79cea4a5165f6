// `wharf import distribution PATH`: every repository, blob, manifest and tag of a Distribution filesystem storage
// directory into a Wharf registry, through the same services a push uses (digests verified, manifests validated,
// references checked), so the result is what pushing everything again would give, without the network.
//
// Per repository: blobs first (each blob's bytes are imported once; a blob Wharf already has is linked, as a
// cross-repository mount would), then manifests (the children of an index before the index), then tags. Every step
// is idempotent by digest, so an interrupted import is resumed by running it again; the state file additionally
// lets a re-run skip repositories that were imported completely and have not changed in the source since.
// Schema 1 manifests (and tags on them) cannot be imported (Wharf, like Distribution 3, does not accept them): they
// are counted and reported, not fatal.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { acquireLock } from '../backup/files.js';
import { forEachLimit } from '../backup/pool.js';
import type { MetadataStore } from '../metadata/store.js';
import { digestOf, parseDigest } from '../oci/digest.js';
import { RegistryError } from '../oci/errors.js';
import { parseManifest, type ParsedManifest } from '../oci/manifest.js';
import { isValidName, isValidTag } from '../oci/names.js';
import type { Registry } from '../registry/registry.js';
import type { DistributionRepository, DistributionStorage } from './distribution.js';
import {
  emptyCounters,
  InflightJournal,
  inflightFileName,
  loadState,
  lockFileName,
  newState,
  saveState,
  stateFileName,
  type ImportCounters,
  type ImportState,
} from './state.js';

export interface ImportProgress {
  readonly repositoriesDone: number;
  readonly repositoriesTotal: number;
  readonly blobsDone: number;
  readonly blobsTotal: number;
  readonly bytesDone: number;
  readonly bytesTotal: number;
  readonly repository: string | null;
}

export interface ImportOptions {
  readonly storage: DistributionStorage;
  /** The registry to import into. In a dry run it may be null (no registry in the data dir yet): all is new. */
  readonly registry: Registry | null;
  readonly dryRun: boolean;
  /** The data dir, where the state file is kept; null keeps no state. Ignored in a dry run. */
  readonly stateDir: string | null;
  /** Re-examine repositories the state file says were imported completely and have not changed. */
  readonly full?: boolean;
  /** Move tags that were pushed to Wharf directly (and differ from the source) to the source's manifest too. */
  readonly overwriteTags?: boolean;
  /** Blobs imported at once within a repository; default 4. */
  readonly concurrency?: number;
  /** Testing hook: after this many imported blobs, save the state and stop making progress (wait to be killed). */
  readonly pauseAfterBlobs?: number;
  readonly onProgress?: (progress: ImportProgress) => void;
  readonly onNotice?: (message: string) => void;
}

export type RepositoryStatus = 'imported' | 'unchanged' | 'incomplete' | 'invalid-name';

export interface RepositoryReport {
  readonly name: string;
  status: RepositoryStatus;
  readonly blobs: { imported: number; bytes: number; linked: number; present: number; danglingLinks: number };
  readonly manifests: { imported: number; present: number; schema1: number };
  readonly tags: { set: number; present: number; moved: number; schema1: number };
  /** Tags that Wharf has pointing elsewhere, pushed to Wharf directly: left alone (unless overwriteTags). */
  readonly conflicts: string[];
  readonly problems: string[];
}

export interface ImportSummary {
  readonly source: string;
  readonly dryRun: boolean;
  readonly repositories: RepositoryReport[];
  readonly counts: ImportCounters & {
    repositories: number;
    repositoriesUnchanged: number;
    repositoriesIncomplete: number;
    schema1Manifests: number;
    schema1Tags: number;
    danglingLinks: number;
    tagsMoved: number;
    tagsConflicting: number;
  };
  /** "repository:tag …" for tags left as Wharf has them (see RepositoryReport.conflicts). */
  readonly conflicts: string[];
  /** "repository: what went wrong", for everything that could not be imported (schema 1 content excluded). */
  readonly problems: string[];
  readonly statePath: string | null;
  readonly durationMs: number;
}

function newReport(name: string): RepositoryReport {
  return {
    name,
    status: 'imported',
    blobs: { imported: 0, bytes: 0, linked: 0, present: 0, danglingLinks: 0 },
    manifests: { imported: 0, present: 0, schema1: 0 },
    tags: { set: 0, present: 0, moved: 0, schema1: 0 },
    conflicts: [],
    problems: [],
  };
}

function describeError(err: RegistryError): string {
  return `${err.code}: ${err.message}${err.detail === undefined ? '' : ` ${JSON.stringify(err.detail)}`}`;
}

const forever = (): Promise<never> =>
  new Promise<never>(() => {
    setInterval(() => undefined, 1 << 30);
  });

/** Docker image manifest schema 1 (signed or not), which only Distribution 2 still serves. */
function isSchema1(body: Buffer): boolean {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch {
    return false; // parseManifest reports it
  }
  if (typeof doc !== 'object' || doc === null) return false;
  const { schemaVersion, mediaType } = doc as { schemaVersion?: unknown; mediaType?: unknown };
  return schemaVersion === 1 || (typeof mediaType === 'string' && mediaType.startsWith('application/vnd.docker.distribution.manifest.v1'));
}

interface Revision {
  readonly body: Buffer;
  readonly parsed: ParsedManifest;
}

class Importer {
  private readonly metadata: MetadataStore | null;
  private readonly counters = emptyCounters();
  private state: ImportState | null = null;
  private readonly statePath: string | null;
  private readonly journal: InflightJournal | null;
  private readonly handled = new Set<string>();
  /** Dry run: blobs an earlier repository would import, which later ones would link. */
  private readonly wouldImport = new Set<string>();
  private blobsTotal = 0;
  private bytesTotal = 0;
  private blobsDone = 0;
  private bytesDone = 0;
  private repositoriesTotal = 0;
  private repositoriesDone = 0;
  private current: string | null = null;
  private importedThisRun = 0;
  private paused = false;
  private lastSave = 0;

  constructor(private readonly options: ImportOptions) {
    this.metadata = options.registry?.metadata ?? null;
    this.statePath = options.stateDir ? join(options.stateDir, stateFileName) : null;
    this.journal = options.dryRun || !options.stateDir ? null : new InflightJournal(join(options.stateDir, inflightFileName));
  }

  /**
   * Sessions a killed run left open: cancelled (staged bytes removed), and the blob lease one of them may have
   * held while committing released, instead of waiting for it to expire. Only called with the import lock held,
   * so their owner is certainly dead. The owner name is UploadService's (`upload-<session id>`).
   */
  private async recover(): Promise<void> {
    if (!this.journal) return;
    const left = await this.journal.leftovers();
    for (const u of left) {
      await this.metadata!.releaseBlobLease(u.digest, `upload-${u.id}`);
      await this.options.registry!.uploads.cancel(u.repository, u.id).catch(() => undefined);
    }
    if (left.length) this.options.onNotice?.(`cleaned up ${left.length} upload(s) an interrupted run left open`);
    await this.journal.clear();
  }

  /** One blob's bytes, through the upload service (digest verified on the way), recorded in the journal meanwhile. */
  private async importBlob(repository: string, digest: string): Promise<void> {
    const uploads = this.options.registry!.uploads;
    const parsed = parseDigest(digest)!;
    const { id } = await uploads.start(repository, parsed.algorithm);
    await this.journal?.add({ id, repository, digest });
    try {
      await uploads.finish(repository, id, parsed, this.options.storage.openBlob(digest));
    } catch (err) {
      await uploads.cancel(repository, id).catch(() => undefined);
      throw err;
    } finally {
      await this.journal?.remove(id);
    }
  }

  private progress(): void {
    this.options.onProgress?.({
      repositoriesDone: this.repositoriesDone,
      repositoriesTotal: this.repositoriesTotal,
      blobsDone: this.blobsDone,
      blobsTotal: this.blobsTotal,
      bytesDone: this.bytesDone,
      bytesTotal: this.bytesTotal,
      repository: this.current,
    });
  }

  /** Counts a blob towards the progress bar the first time any repository deals with it. */
  private handledBlob(digest: string, size: number): void {
    if (this.handled.has(digest)) return;
    this.handled.add(digest);
    this.blobsDone++;
    this.bytesDone += size;
    this.progress();
  }

  private count(key: keyof ImportCounters, n = 1): void {
    this.counters[key] += n;
    if (this.state) this.state.totals[key] += n;
  }

  private async save(force: boolean): Promise<void> {
    if (!this.state || !this.statePath || this.options.dryRun) return;
    if (!force && Date.now() - this.lastSave < 2000) return;
    this.lastSave = Date.now();
    this.state.current = this.current;
    await saveState(this.statePath, this.state);
  }

  private async afterBlobImported(): Promise<void> {
    this.importedThisRun++;
    await this.save(false);
    const limit = this.options.pauseAfterBlobs;
    if (limit !== undefined && this.importedThisRun >= limit && !this.paused) {
      this.paused = true;
      await this.save(true);
      this.options.onNotice?.(`paused after ${this.importedThisRun} imported blobs (WHARF_IMPORT_PAUSE_AFTER_BLOBS)`);
    }
  }

  async run(): Promise<ImportSummary> {
    const { stateDir, dryRun } = this.options;
    if (dryRun || !stateDir) return this.runLocked();
    await mkdir(stateDir, { recursive: true });
    const lock = await acquireLock(join(stateDir, lockFileName), 'import into this data dir');
    try {
      await this.recover();
      return await this.runLocked();
    } finally {
      await lock.release();
    }
  }

  private async runLocked(): Promise<ImportSummary> {
    const started = Date.now();
    const { storage } = this.options;
    if (this.statePath) {
      const loaded = await loadState(this.statePath, storage.root);
      if (loaded.reason) this.options.onNotice?.(`${loaded.reason}; starting a new import state`);
      this.state = loaded.state ?? newState(storage.root);
      if (loaded.state && Object.keys(loaded.state.completed).length > 0) {
        this.options.onNotice?.(
          `resuming: ${Object.keys(loaded.state.completed).length} repositories were imported completely by earlier runs` +
            `${this.options.full ? ' (--full: checking them again)' : ' (skipped unless they changed; --full checks them again)'}`,
        );
      }
      this.state.runs++;
      this.state.finishedAt = null;
      await this.save(true);
    }

    // Scan: every repository's links, and the size of every blob they link, for the progress totals.
    const names = await storage.repositoryNames();
    this.repositoriesTotal = names.length;
    const repositories: DistributionRepository[] = [];
    const sizes = new Map<string, number | null>(); // null: linked, but the data file is gone
    for (const name of names) {
      const repo = await storage.repository(name);
      repositories.push(repo);
      for (const digest of repo.layers) {
        if (sizes.has(digest)) continue;
        sizes.set(digest, await storage.blobSize(digest));
      }
    }
    this.blobsTotal = sizes.size;
    for (const size of sizes.values()) this.bytesTotal += size ?? 0;
    this.progress();

    const reports: RepositoryReport[] = [];
    for (const repo of repositories) {
      this.current = repo.name;
      this.progress();
      const report = await this.importRepository(repo, sizes);
      reports.push(report);
      if (this.state) {
        if (report.status === 'imported') this.state.completed[repo.name] = repo.fingerprint;
        else if (report.status === 'incomplete') delete this.state.completed[repo.name];
      }
      this.repositoriesDone++;
      await this.save(true);
      this.progress();
    }
    this.current = null;
    const problems = reports.flatMap((r) => r.problems.map((p) => `${r.name}: ${p}`));
    if (this.state) {
      if (problems.length === 0) this.state.finishedAt = new Date().toISOString();
      await this.save(true);
    }
    const sum = (f: (r: RepositoryReport) => number) => reports.reduce((n, r) => n + f(r), 0);
    return {
      source: storage.root,
      dryRun: this.options.dryRun,
      repositories: reports,
      counts: {
        ...this.counters,
        repositories: reports.length,
        repositoriesUnchanged: reports.filter((r) => r.status === 'unchanged').length,
        repositoriesIncomplete: reports.filter((r) => r.status === 'incomplete' || r.status === 'invalid-name').length,
        schema1Manifests: sum((r) => r.manifests.schema1),
        schema1Tags: sum((r) => r.tags.schema1),
        danglingLinks: sum((r) => r.blobs.danglingLinks),
        tagsMoved: sum((r) => r.tags.moved),
        tagsConflicting: sum((r) => r.conflicts.length),
      },
      conflicts: reports.flatMap((r) => r.conflicts.map((c) => `${r.name}:${c}`)),
      problems,
      statePath: this.options.dryRun ? null : this.statePath,
      durationMs: Date.now() - started,
    };
  }

  private async importRepository(repo: DistributionRepository, sizes: Map<string, number | null>): Promise<RepositoryReport> {
    const { storage, registry, dryRun } = this.options;
    const name = repo.name;
    const report = newReport(name);
    if (!isValidName(name)) {
      report.status = 'invalid-name';
      report.problems.push('not a valid repository name for the OCI distribution spec; skipped');
      for (const d of repo.layers) this.handledBlob(d, sizes.get(d) ?? 0);
      return report;
    }
    if (this.state && !this.options.full && this.state.completed[name] === repo.fingerprint) {
      report.status = 'unchanged';
      for (const d of repo.layers) this.handledBlob(d, sizes.get(d) ?? 0);
      return report;
    }
    for (const bad of repo.badLinks) report.problems.push(`unusable link file ${bad}`);

    // Manifests: read and validated up front, so that the blobs they use are known.
    const revisions = new Map<string, Revision>();
    const schema1 = new Set<string>();
    const failed = new Set<string>();
    for (const digest of repo.revisions) {
      const body = await storage.readBlob(digest);
      if (body === null) {
        report.problems.push(`manifest ${digest}: its bytes are missing from the source's blobs/`);
        failed.add(digest);
        continue;
      }
      if (digestOf(body, parseDigest(digest)!.algorithm) !== digest) {
        report.problems.push(`manifest ${digest}: its bytes in the source do not match the digest (corrupt)`);
        failed.add(digest);
        continue;
      }
      if (isSchema1(body)) {
        schema1.add(digest);
        report.manifests.schema1++;
        continue;
      }
      try {
        revisions.set(digest, { body, parsed: parseManifest(body, undefined) });
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err;
        report.problems.push(`manifest ${digest}: cannot be imported: ${describeError(err)}`);
        failed.add(digest);
      }
    }

    // Blobs: those linked to the repository, and any its manifests use (a Distribution whose links were lost).
    const referenced = new Set([...revisions.values()].flatMap((r) => r.parsed.blobs));
    const blobs = [...new Set([...repo.layers, ...referenced])].sort();
    const unavailable = new Set<string>();
    await forEachLimit(blobs, this.options.concurrency ?? 4, async (digest) => {
      if (this.paused) await forever();
      const size = sizes.has(digest) ? sizes.get(digest)! : await storage.blobSize(digest);
      if (this.metadata && (await this.metadata.getRepositoryBlob(name, digest))) {
        report.blobs.present++;
        this.count('blobsPresent');
        this.handledBlob(digest, size ?? 0);
        return;
      }
      const known = (dryRun && this.wouldImport.has(digest)) || (this.metadata !== null && (await this.metadata.getBlob(digest)) !== null);
      if (known && (dryRun || (await this.metadata!.linkBlob(name, digest)))) {
        report.blobs.linked++;
        this.count('blobsLinked');
        this.handledBlob(digest, size ?? 0);
        return;
      }
      if (size === null) {
        unavailable.add(digest);
        if (referenced.has(digest)) report.problems.push(`blob ${digest}: used by a manifest, but its data is missing from the source`);
        else report.blobs.danglingLinks++; // linked, used by nothing, data gone: what `registry garbage-collect` leaves
        return;
      }
      if (!dryRun) {
        try {
          await this.importBlob(name, digest);
        } catch (err) {
          if (!(err instanceof RegistryError)) throw err;
          unavailable.add(digest);
          report.problems.push(`blob ${digest}: ${err.code === 'DIGEST_INVALID' ? 'its data in the source is corrupt' : describeError(err)}`);
          return;
        }
      }
      if (dryRun) this.wouldImport.add(digest);
      report.blobs.imported++;
      report.blobs.bytes += size;
      this.count('blobsImported');
      this.count('bytesImported', size);
      this.handledBlob(digest, size);
      if (!dryRun) await this.afterBlobImported();
    });
    if (this.paused) await forever();

    // Manifests, children before the indexes that list them.
    const order: string[] = [];
    const seen = new Set<string>();
    const visit = (digest: string) => {
      if (seen.has(digest)) return;
      seen.add(digest);
      for (const child of revisions.get(digest)?.parsed.manifests ?? []) if (revisions.has(child)) visit(child);
      order.push(digest);
    };
    for (const digest of revisions.keys()) visit(digest);
    for (const digest of order) {
      const { body, parsed } = revisions.get(digest)!;
      if (this.metadata && (await this.metadata.getManifest(name, { digest }))) {
        report.manifests.present++;
        this.count('manifestsPresent');
        continue;
      }
      const lost = parsed.blobs.find((b) => unavailable.has(b));
      const brokenChild = parsed.manifests.find((c) => failed.has(c) || schema1.has(c));
      if (lost || brokenChild) {
        report.problems.push(`manifest ${digest}: not imported: it uses ${lost ? `blob ${lost}` : `manifest ${brokenChild}`}, which could not be imported`);
        failed.add(digest);
        continue;
      }
      if (!dryRun) {
        try {
          await registry!.manifests.push(name, { digest }, body, undefined, []);
        } catch (err) {
          if (!(err instanceof RegistryError)) throw err;
          report.problems.push(`manifest ${digest}: ${describeError(err)}`);
          failed.add(digest);
          continue;
        }
      }
      report.manifests.imported++;
      this.count('manifestsImported');
    }

    const wharfTags = new Map((this.metadata ? await this.metadata.listTagDetails(name) : []).map((t) => [t.name, t]));
    const importedAt = this.state?.tagsAt[name];
    for (const [tag, digest] of repo.tags) {
      if (schema1.has(digest)) {
        report.tags.schema1++;
        continue;
      }
      if (!isValidTag(tag)) {
        report.problems.push(`tag ${JSON.stringify(tag)}: not a valid tag name`);
        continue;
      }
      const revision = revisions.get(digest);
      if (!revision || failed.has(digest)) {
        report.problems.push(
          repo.revisions.includes(digest)
            ? `tag ${tag}: not set, its manifest ${digest} could not be imported`
            : `tag ${tag}: points at ${digest}, which is not a manifest of the repository (Distribution cannot serve it either)`,
        );
        continue;
      }
      const current = wharfTags.get(tag);
      if (current?.digest === digest) {
        report.tags.present++;
        this.count('tagsPresent');
        continue;
      }
      if (current) {
        // Moved by the import's last run (the source moved it since): follow the source. Pushed to Wharf
        // directly (clients switched over already): that is the newer truth, keep it.
        const setByImport = importedAt !== undefined && current.updatedAt <= importedAt;
        if (!setByImport && !this.options.overwriteTags) {
          report.conflicts.push(`${tag} (Wharf: ${current.digest}, source: ${digest})`);
          continue;
        }
        report.tags.moved++;
      }
      if (!dryRun) await registry!.manifests.push(name, { digest }, revision.body, undefined, [tag]);
      report.tags.set++;
      this.count('tagsSet');
    }
    if (this.state && !dryRun) this.state.tagsAt[name] = Date.now();
    if (report.problems.length > 0) report.status = 'incomplete';
    return report;
  }
}

export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  if (!options.dryRun && !options.registry) throw new Error('an import needs a registry to import into');
  return new Importer(options).run();
}
