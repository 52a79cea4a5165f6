import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';

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
