import { stat } from 'node:fs/promises';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { describeMetadataStore, metadataStoreExists } from '../metadata/open.js';
import { CliError } from './errors.js';

/** The options every command that opens the registry's data takes, for parseArgs. */
export const dataOptions = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
} as const;

/** The config file, the environment, then --data-dir: the same precedence as `wharf serve`. */
export function loadCommandConfig(values: { config?: string; 'data-dir'?: string }): Promise<Config> {
  const overrides = values['data-dir'] ? [{ path: ['storage', 'dataDir'], value: values['data-dir'] }] : [];
  return loadConfig({ file: values.config, overrides });
}

/**
 * For maintenance commands (fsck, gc, repo, webhooks, status): the configuration of a registry that exists. Opening
 * the store would create an empty one, and a command run on a mistyped path would then report a healthy, empty
 * registry; refusing names the path that was looked at instead.
 */
export async function loadExistingRegistry(command: string, values: { config?: string; 'data-dir'?: string }): Promise<Config> {
  const config = await loadCommandConfig(values);
  const dataDir = config.storage.dataDir;
  const dir = await stat(dataDir).catch(() => null);
  const hint = 'check --data-dir, --config or WHARF_STORAGE__DATA_DIR';
  if (dir === null) throw new CliError(`wharf ${command}: the data directory ${dataDir} does not exist; ${hint}`);
  if (!dir.isDirectory()) throw new CliError(`wharf ${command}: ${dataDir} is not a directory; ${hint}`);
  if (!(await metadataStoreExists(config))) {
    throw new CliError(`wharf ${command}: no registry in ${dataDir}: its database ${describeMetadataStore(config)} does not exist; ${hint}`);
  }
  return config;
}
