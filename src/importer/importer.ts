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
import { parseDigest } from '../oci/digest.js';
import { DomainError } from '../oci/errors.js';
import { isValidName } from '../oci/names.js';
import type { DistributionRepository } from './distribution.js';
import { childrenFirst, describeError, readRevisions } from './manifests.js';
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
import { importTags } from './tags.js';
import type { ImportOptions, ImportSummary, RepositoryReport } from './types.js';

export type { ImportOptions, ImportProgress, ImportSummary, RepositoryReport, RepositoryStatus } from './types.js';

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

const forever = (): Promise<never> =>
  new Promise<never>(() => {
    setInterval(() => undefined, 1 << 30);
  });

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
    const { revisions, schema1, failed } = await readRevisions(storage, repo, report);

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
          if (!(err instanceof DomainError)) throw err;
          unavailable.add(digest);
          report.problems.push(`blob ${digest}: ${err.kind === 'DigestInvalid' ? 'its data in the source is corrupt' : describeError(err)}`);
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
    for (const digest of childrenFirst(revisions)) {
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
          if (!(err instanceof DomainError)) throw err;
          report.problems.push(`manifest ${digest}: ${describeError(err)}`);
          failed.add(digest);
          continue;
        }
      }
      report.manifests.imported++;
      this.count('manifestsImported');
    }

    await importTags(repo, { revisions, schema1, failed }, report, {
      registry,
      metadata: this.metadata,
      dryRun,
      overwriteTags: this.options.overwriteTags ?? false,
      importedAt: this.state?.tagsAt[name],
      count: (key) => this.count(key),
    });
    if (this.state && !dryRun) this.state.tagsAt[name] = Date.now();
    if (report.problems.length > 0) report.status = 'incomplete';
    return report;
  }
}

export async function runImport(options: ImportOptions): Promise<ImportSummary> {
  if (!options.dryRun && !options.registry) throw new Error('an import needs a registry to import into');
  return new Importer(options).run();
}
