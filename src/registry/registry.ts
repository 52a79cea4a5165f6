import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { EventRecorder } from '../events/recorder.js';
import { GarbageCollector, type GcOptions, type GcSummary } from '../gc/collector.js';
import { Metrics } from '../metrics/metrics.js';
import { Quotas } from '../quota/quotas.js';
import { Retention, type RetentionAction } from '../retention/retention.js';
import { Scrubber } from '../fsck/scrubber.js';
import type { MetadataStore } from '../metadata/store.js';
import { openMetadataStore } from '../metadata/open.js';
import type { BlobDriver } from '../storage/driver.js';
import { FilesystemDriver } from '../storage/filesystem.js';
import { S3Driver } from '../storage/s3/driver.js';
import { BlobService } from './blobs.js';
import { ManifestService } from './manifests.js';
import { PullRecorder } from './pull-recorder.js';
import { ReadOnlySwitch } from './read-only.js';
import { RepositoryService } from './repositories.js';
import type { RegistryServices, ServiceDecorator } from './services.js';
import { TagService } from './tags.js';
import { UploadService } from './upload-service.js';
import { UploadSessions } from './uploads.js';

export interface RegistryOptions {
  /** Wraps the services the API uses (a pull-through cache wraps blobs and manifests). */
  readonly decorate?: ServiceDecorator;
}

/**
 * The registry's state and services, independent of HTTP: what the API, the CLI and background jobs share.
 * It starts nothing: the server's runtime (src/runtime) runs its background work, and the one-shot CLI commands
 * open it, act and close it.
 */
export class Registry {
  /** What the HTTP API uses: it never reaches the metadata store or the blob driver but through these. */
  readonly services: RegistryServices;
  /** Sessions without quota accounting, for the importer and the purge. */
  readonly uploads: UploadSessions;
  readonly manifests: ManifestService;
  readonly pulls: PullRecorder;
  readonly events: EventRecorder;
  readonly metrics: Metrics;
  readonly gc: GarbageCollector;
  readonly quotas: Quotas;
  readonly repositories: RepositoryService;
  readonly retention: Retention;
  readonly scrubber: Scrubber;
  /** Maintenance mode: the API refuses pushes and deletes, scheduled GC, retention and upload purges pause. */
  readonly readOnly: ReadOnlySwitch;

  constructor(
    readonly config: Config,
    readonly driver: BlobDriver,
    readonly metadata: MetadataStore,
    readonly log: Logger,
    options: RegistryOptions = {},
  ) {
    this.readOnly = new ReadOnlySwitch(config.registry.readOnly);
    this.metrics = new Metrics(metadata);
    this.events = new EventRecorder(config.webhooks.endpoints);
    this.quotas = new Quotas(config.quotas, metadata);
    this.uploads = new UploadSessions(driver, metadata, log, {
      total: config.registry.maxUploadSessions,
      perRepository: config.registry.maxUploadSessionsPerRepository,
    });
    this.pulls = new PullRecorder(metadata, log);
    this.manifests = new ManifestService(metadata, this.events, this.pulls);
    this.gc = new GarbageCollector(metadata, driver, log);
    this.repositories = new RepositoryService(metadata, this.events, this.quotas);
    const services: RegistryServices = {
      blobs: new BlobService(driver, metadata, this.events, this.quotas, log),
      manifests: this.manifests,
      uploads: new UploadService(this.uploads, metadata, this.quotas),
      tags: new TagService(metadata),
      repositories: this.repositories,
    };
    this.services = options.decorate ? options.decorate(services) : services;
    this.retention = new Retention(config.retention, metadata, this.events, log);
    this.scrubber = new Scrubber(this, config.fsck.scrub, {
      checked: (bytes) => this.metrics.scrubCheckedBytes.inc(bytes),
      problem: (kind) => this.metrics.scrubProblems.inc({ kind }),
    });
  }

  async purgeUploads(): Promise<void> {
    if (this.readOnly.enabled) return; // purging deletes staged bytes: paused with every other change
    try {
      this.metrics.uploadSessionsPurged.inc(await this.uploads.purgeStale(this.config.registry.uploadSessionMaxAge, this.config.registry.uploadSessionEmptyMaxAge));
    } catch (err) {
      this.log.error({ err }, 'purging upload sessions failed');
    }
  }

  /** One GC cycle: retention rules first (they untag), then garbage collection (it reclaims). */
  async collect(options: GcOptions): Promise<{ retention: RetentionAction[]; gc: GcSummary }> {
    await this.pulls.flush(); // retention's "not pulled for" must see the latest pulls
    const retention = await this.retention.apply(options.dryRun);
    const gc = await this.gc.run(options);
    return { retention, gc };
  }

  async close(): Promise<void> {
    await this.pulls.close();
    await this.metadata.close();
  }
}

export function createDriver(config: Config): BlobDriver {
  switch (config.storage.driver) {
    case 'filesystem':
      return new FilesystemDriver(config.storage.filesystem.root!);
    case 's3':
      return new S3Driver(config.storage.s3);
  }
}

export function createMetadataStore(config: Config): MetadataStore {
  return openMetadataStore(config);
}

export function openRegistry(config: Config, log: Logger): Registry {
  return new Registry(config, createDriver(config), createMetadataStore(config), log);
}
