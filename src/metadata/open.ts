// The one place that knows which database the configuration names and where it lives. Everything outside
// src/metadata/ opens the store through these functions and reads and writes its content through its ports
// (backup and restore through the logical export), so a second database (PostgreSQL) is one more case in each
// switch rather than a change to backup, restore and the CLI.
import { access } from 'node:fs/promises';
import { SqliteMetadataStore } from './sqlite.js';
import type { MetadataStore } from './store.js';
import { PostgresMetadataStore } from './postgres/store.js';
import { postgresStoreExists } from './postgres/probe.js';
import { redactUrl } from './postgres/pool.js';

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
  if (config.metadata.sqlite.path === ':memory:') return false;
  return access(config.metadata.sqlite.path!).then(
    () => true,
    () => false,
  );
}

/** A store that ends with the process: restoring into it would be lost at once. */
export function isVolatileMetadataStore(config: MetadataSettings): boolean {
  return config.metadata.driver === 'sqlite' && config.metadata.sqlite.path === ':memory:';
}

/**
 * Opens the metadata of a backup written before the logical export (backup format 1 held a copy of the SQLite
 * database file), so that restore exports it and imports it into the configured store, whichever database that
 * is. `file` must be a scratch copy: opening applies the migrations its writer did not have.
 */
export function openLegacySqliteBackup(file: string): MetadataStore {
  return new SqliteMetadataStore({ path: file, synchronous: 'normal' });
}
