import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configLeaves, envName } from './introspect.js';
import { configSchema, type Config } from './schema.js';
import { configWarningsOf } from './advice.js';
import { convertDistribution, isDistributionConfig, looksLikeDistribution, type Conversion } from './distribution/convert.js';
import { isMalformedRegistryName, registryEnvPath } from './distribution/env.js';
import { unknownWharfVariables } from './wharf-env.js';

export class ConfigError extends Error {
  constructor(
    readonly problems: string[],
    source: string,
  ) {
    super(`invalid configuration (${source}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function envValue(raw: string, type: string): unknown {
  if (type === 'list') {
    try {
      return JSON.parse(raw) as unknown;
    } catch {
      return raw;
    }
  }
  if (type === 'boolean') return raw === 'true' ? true : raw === 'false' ? false : raw;
  if (type === 'number') return raw.trim() !== '' && Number.isFinite(Number(raw)) ? Number(raw) : raw;
  return raw;
}

/** Overrides from WHARF_SECTION__KEY variables, e.g. WHARF_SERVER__ADDR, WHARF_REGISTRY__DELETE_ENABLED; lists as JSON. */
export function applyEnv(tree: Tree, env: NodeJS.ProcessEnv): void {
  for (const leaf of configLeaves()) {
    const raw = env[envName(leaf.path)];
    if (raw !== undefined) setPath(tree, leaf.path, envValue(raw, leaf.type));
  }
}

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
}

export function validateConfig(tree: unknown, source: string): Config {
  const result = configSchema.safeParse(tree ?? {});
  if (!result.success) throw new ConfigError(formatIssues(result.error.issues), source);
  return result.data;
}

export async function readConfigFile(file: string): Promise<Tree> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read ${file}: ${(err as Error).message}`], file);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new ConfigError([`not valid YAML: ${(err as Error).message.split('\n')[0]}`], file);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(['the file must contain a YAML mapping'], file);
  return doc as Tree;
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Command-line flags; they win over the file and the environment. */
  overrides?: { path: string[]; value: unknown }[];
}

const registryVariables = (env: NodeJS.ProcessEnv) => Object.keys(env).filter((n) => registryEnvPath(n) !== null || isMalformedRegistryName(n));

/**
 * A Distribution config.yml (it has `version`), or REGISTRY_* variables without a file, converted to Wharf's form;
 * null when the configuration is Wharf's own.
 */
export function distributionOf(tree: Tree, file: string | undefined, env: NodeJS.ProcessEnv): Conversion | null {
  if (isDistributionConfig(tree)) return convertDistribution(tree, env);
  if (!file && registryVariables(env).length) return convertDistribution({ version: '0.1' }, env);
  return null;
}

const warningsOf = new WeakMap<Config, readonly string[]>();

/** What loading found questionable but not wrong: dropped Distribution keys, no grants, unimported Distribution data. */
export function configWarnings(config: Config): readonly string[] {
  return warningsOf.get(config) ?? [];
}

/** File (Wharf's or Distribution's), then environment, then flags; validated once; relative directories resolved against the working directory. */
export async function loadConfig(options: LoadOptions = {}): Promise<Config> {
  const env = options.env ?? process.env;
  const source = options.file ?? 'defaults and environment';
  const problems = unknownWharfVariables(env);
  const warnings: string[] = [];
  let tree = options.file ? await readConfigFile(options.file) : {};
  const distribution = distributionOf(tree, options.file, env);
  if (distribution) {
    problems.push(...distribution.errors);
    warnings.push(...distribution.warnings);
    tree = distribution.config;
  } else {
    const stray = registryVariables(env);
    if (stray.length) {
      problems.push(
        `${stray.join(', ')}: REGISTRY_* variables override a Distribution config.yml, but ${source} is a Wharf configuration: ` +
          'use WHARF_* variables (`wharf config convert --env` prints what they mean in Wharf)',
      );
    }
    if (looksLikeDistribution(tree)) problems.push('this looks like a Distribution config.yml (http, notifications, …) but has no `version: 0.1`: add it, and Wharf converts it');
  }
  if (problems.length) throw new ConfigError(problems, source);
  applyEnv(tree, env);
  for (const { path, value } of options.overrides ?? []) setPath(tree, path, value);
  const config = resolvePaths(validateConfig(tree, source));
  warningsOf.set(config, [...warnings, ...configWarningsOf(config)]);
  return config;
}

export function resolvePaths(config: Config): Config {
  const dataDir = resolve(config.storage.dataDir);
  return {
    ...config,
    storage: { ...config.storage, dataDir, filesystem: { root: resolve(dataDir, config.storage.filesystem.root ?? 'storage') } },
    metadata: {
      ...config.metadata,
      sqlite: { ...config.metadata.sqlite, path: config.metadata.sqlite.path === ':memory:' ? ':memory:' : resolve(dataDir, config.metadata.sqlite.path ?? 'wharf.db') },
    },
  };
}
