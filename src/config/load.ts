import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { configLeaves, envName } from './introspect.js';
import { configSchema, type Config } from './schema.js';

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

/** File, then environment, then flags; validated once; relative directories resolved against the working directory. */
export async function loadConfig(options: LoadOptions = {}): Promise<Config> {
  const tree = options.file ? await readConfigFile(options.file) : {};
  applyEnv(tree, options.env ?? process.env);
  for (const { path, value } of options.overrides ?? []) setPath(tree, path, value);
  const config = validateConfig(tree, options.file ?? 'defaults and environment');
  return resolvePaths(config);
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
