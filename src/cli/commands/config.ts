import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { checkReferencedFiles } from '../../config/advice.js';
import { convertDistribution } from '../../config/distribution/convert.js';
import { ConfigError, configWarnings, loadConfig, readConfigFile, validateConfig } from '../../config/load.js';
import { configReference } from '../../config/reference.js';

export const configUsage = `wharf config check [FILE]       Validate a config file (Wharf's or Distribution's config.yml) with the WHARF_*/REGISTRY_*
                                 environment, as serve would; warnings, and files it names that are missing or unreadable
  wharf config convert [FILE] [--env]
                                 Print the Wharf YAML equivalent of a Distribution config.yml (--env: with its REGISTRY_* variables)
  wharf config reference         Print the configuration reference (Markdown)`;

const usage = 'usage: wharf config check [FILE] | wharf config convert [FILE] [--env] | wharf config reference\n';

async function check(file: string | undefined): Promise<number> {
  const config = await loadConfig({ ...(file ? { file } : {}) });
  for (const warning of configWarnings(config)) process.stderr.write(`warning: ${warning}\n`);
  const missing = await checkReferencedFiles(config);
  if (missing.length) throw new ConfigError(missing, file ?? 'defaults and environment');
  process.stdout.write(`${file ?? 'environment'}: configuration is valid\n`);
  return 0;
}

async function convert(file: string | undefined, withEnv: boolean): Promise<number> {
  if (!file && !withEnv) {
    process.stderr.write('wharf config convert: give a config.yml, --env, or both\n');
    return 2;
  }
  const source = file ? await readConfigFile(file) : { version: '0.1' };
  if (!('version' in source)) throw new ConfigError(['not a Distribution config.yml (it has no `version: 0.1`)'], file!);
  const result = convertDistribution(source, withEnv ? process.env : undefined);
  for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
  if (result.errors.length) throw new ConfigError(result.errors, file ?? 'REGISTRY_* environment');
  // What Wharf would refuse at start is refused here too, rather than printed as if it would run.
  validateConfig(result.config, 'the converted configuration');
  process.stdout.write(`# Wharf configuration converted from ${file ?? 'the REGISTRY_* environment'}${file && withEnv ? ' and the REGISTRY_* environment' : ''}\n`);
  process.stdout.write(stringify(result.config));
  return 0;
}

export async function configCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, options: { env: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  const [sub, file, ...extra] = positionals;
  if (values.help || extra.length) {
    process.stdout.write(`${configUsage}\n`);
    return values.help ? 0 : 2;
  }
  if (sub === 'reference') {
    process.stdout.write(configReference());
    return 0;
  }
  if (sub === 'check' && !values.env) return check(file);
  if (sub === 'convert') return convert(file, values.env === true);
  process.stderr.write(usage);
  return 2;
}
