// The one place that knows which database the configuration names and where it lives. Everything outside
// src/metadata/ opens, snapshots and restores the store through these functions, so a second database (PostgreSQL)
// is one more case in each switch rather than a change to backup, restore and the CLI.
import { access, rename, rm } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { SqliteMetadataStore } from './sqlite.js';
import { currentSchemaVersion, MetadataUnavailableError, snapshotSqlite, sqliteSchemaVersion } from './sqlite-snapshot.js';
import type { MetadataStore } from './store.js';
import { PostgresMetadataStore } from './postgres/store.js';
import { postgresStoreExists } from './postgres/probe.js';
import { redactUrl } from './postgres/pool.js';

export { MetadataUnavailableError } from './sqlite-snapshot.js';

/**
 * What these functions read of the configuration (the whole Config fits). Declared here: importing the config
 * schema would make metadata/ depend on config/, which depends on features that depend on metadata/.
 */
export interface MetadataSettings {
  readonly metadata: {
    readonly driver: 'sqlite' | 'postgres';
    readonly sqlite: { readonly path?: string | undefined; readonly synchronous: 'normal' | 'full' };
    readonly postgres: { readonly url?: string | undefined; readonly poolSize: number };
  };
  readonly storage: { readonly dataDir: string };
}

export function openMetadataStore(config: MetadataSettings): MetadataStore {
  switch (config.metadata.driver) {
    case 'sqlite':
      return new SqliteMetadataStore({ path: config.metadata.sqlite.path!, synchronous: config.metadata.sqlite.synchronous });
    case 'postgres':
      return new PostgresMetadataStore({ url: config.metadata.postgres.url!, poolSize: config.metadata.postgres.poolSize });
  }
}

/** Where the configured store is, for messages (never with a password). */
export function describeMetadataStore(config: MetadataSettings): string {
  return config.metadata.driver === 'postgres' ? `PostgreSQL database ${redactUrl(config.metadata.postgres.url!)}` : config.metadata.sqlite.path!;
}

/** Whether the configured store already holds a registry (opening it would otherwise create an empty one). */
export async function metadataStoreExists(config: MetadataSettings): Promise<boolean> {
  if (config.metadata.driver === 'postgres') return postgresStoreExists(config.metadata.postgres.url!);
  return access(config.metadata.sqlite.path!).then(
    () => true,
    () => false,
  );
}

/** What kind of store a backup snapshot's metadata file holds, and the schema this build writes. */
export const metadataDriver = 'sqlite';
export const metadataSchemaVersion = currentSchemaVersion;

/**
 * Writes a consistent copy of the configured store, as of one instant, to `destination` (a backup's metadata
 * file), while another process serves it.
 */
export async function snapshotMetadataStore(config: MetadataSettings, destination: string): Promise<void> {
  if (config.metadata.driver === 'postgres') {
    throw new MetadataUnavailableError('`wharf backup` copies the SQLite store only in this version: back up the PostgreSQL database with pg_dump');
  }
  return snapshotSqlite(config.metadata.sqlite.path!, destination);
}

/** Opens a snapshot's metadata file as a store, applying the migrations its writer did not have. */
export function openMetadataSnapshot(file: string): MetadataStore {
  return new SqliteMetadataStore({ path: file, synchronous: 'normal' });
}

/** The schema version a snapshot's metadata file was written with. */
export function metadataSnapshotSchema(file: string): number {
  return sqliteSchemaVersion(file);
}

/** Putting a snapshot's metadata in place of the configured store, last, so that a half-done restore holds none. */
export interface MetadataRestoreTarget {
  /** Where the snapshot's copy is staged, then checked and migrated with openMetadataSnapshot. */
  readonly staging: string;
  /** Files outside the data directory that mean a registry is already there. */
  existing(): Promise<string[]>;
  /** Removes what an interrupted restore staged. */
  reset(): Promise<void>;
  /** Moves the staged copy into place, durably. */
  commit(): Promise<void>;
}

export function metadataRestoreTarget(config: MetadataSettings): MetadataRestoreTarget | null {
  const path = config.metadata.sqlite.path!;
  if (config.metadata.driver !== 'sqlite' || path === ':memory:') return null;
  const staging = `${path}.restoring`;
  const leftovers = (p: string): string[] => [p, `${p}-wal`, `${p}-shm`];
  return {
    staging,
    async existing() {
      if (path.startsWith(`${config.storage.dataDir}/`)) return [];
      const found: string[] = [];
      for (const p of leftovers(path).slice(0, 2)) if (await access(p).then(() => true, () => false)) found.push(`${p} exists`);
      return found;
    },
    async reset() {
      await mkdir(dirname(path), { recursive: true });
      for (const p of leftovers(staging)) await rm(p, { force: true });
    },
    async commit() {
      for (const p of leftovers(staging).slice(1)) await rm(p, { force: true });
      await rename(staging, path);
      const dir = await open(dirname(path), 'r');
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    },
  };
}
