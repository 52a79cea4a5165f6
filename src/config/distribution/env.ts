// Distribution's environment overrides: REGISTRY_<SECTION>_<KEY>… replaces the key of config.yml at that path, the
// value read as YAML (so `[a, b]` is a list and `true` a boolean). Applied as Distribution applies them: sorted by
// name, so REGISTRY_STORAGE=s3 (which replaces the whole storage section) comes before REGISTRY_STORAGE_S3_BUCKET.
import { parse as parseYaml } from 'yaml';

type Tree = Record<string, unknown>;

/**
 * Variables Kubernetes injects for a Service named "registry" (REGISTRY_PORT=tcp://…, REGISTRY_SERVICE_HOST…).
 * Distribution warns and ignores them; they name no configuration key, so refusing them would break such pods.
 */
const serviceLink = /^REGISTRY_(SERVICE_HOST|SERVICE_PORT(_[A-Za-z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

/** Not Distribution's: podman, skopeo and buildah read their credentials file from it, and shells export it. */
const containersAuthFile = 'REGISTRY_AUTH_FILE';

/** Where Distribution's Go field names differ from the YAML keys (its variables follow the Go names). */
const goNames: Record<string, Record<string, string>> = {
  health: { filecheckers: 'file', httpcheckers: 'http', tcpcheckers: 'tcp' },
  notifications: { eventconfig: 'events' },
};

/** Lists in config.yml, indexed by number in variables (REGISTRY_NOTIFICATIONS_ENDPOINTS_0_URL). */
const listPaths = new Set(['notifications.endpoints', 'health.file', 'health.http', 'health.tcp', 'log.hooks']);

/** The path a REGISTRY_* variable names, as config.yml keys (lower case); null when it is not a configuration variable. */
export function registryEnvPath(name: string): string[] | null {
  if (!name.startsWith('REGISTRY_') || serviceLink.test(name) || name === containersAuthFile) return null;
  const segments = name.slice('REGISTRY_'.length).split('_');
  if (segments.some((s) => s === '')) return null;
  const path: string[] = [];
  for (const segment of segments) {
    const lower = segment.toLowerCase();
    path.push(goNames[path.join('.')]?.[lower] ?? lower);
  }
  return path;
}

/** Variables that look like configuration but cannot name a key (REGISTRY_ alone, doubled or trailing underscores). */
export function isMalformedRegistryName(name: string): boolean {
  return name.startsWith('REGISTRY_') && !serviceLink.test(name) && name !== containersAuthFile && registryEnvPath(name) === null;
}

export interface EnvOrigin {
  readonly variable: string;
  readonly path: readonly string[];
}

function readValue(variable: string, raw: string): unknown {
  try {
    return parseYaml(raw);
  } catch (err) {
    throw new Error(`${variable}: the value is read as YAML and is not valid YAML (${(err as Error).message.split('\n')[0]}); quote it`);
  }
}

/** Applies the REGISTRY_* variables of `env` to a Distribution config tree; returns what each variable set. */
export function applyRegistryEnv(tree: Tree, env: NodeJS.ProcessEnv): { origins: EnvOrigin[]; errors: string[] } {
  const origins: EnvOrigin[] = [];
  const errors: string[] = [];
  const names = Object.keys(env).filter((n) => n.startsWith('REGISTRY_')).sort();
  for (const variable of names) {
    if (isMalformedRegistryName(variable)) {
      errors.push(`${variable}: not a configuration variable (REGISTRY_<SECTION>_<KEY>…, one underscore between keys)`);
      continue;
    }
    const path = registryEnvPath(variable);
    if (!path) continue;
    if (path[0] === 'version') {
      errors.push(`${variable}: the version cannot be set from the environment`);
      continue;
    }
    try {
      let value = readValue(variable, env[variable]!);
      // A section holding one entry per driver accepts the driver's name alone: REGISTRY_STORAGE=s3, REGISTRY_AUTH=htpasswd.
      if (path.length === 1 && (path[0] === 'storage' || path[0] === 'auth') && typeof value === 'string') value = { [value]: {} };
      setAt(tree, path, value, variable);
      origins.push({ variable, path });
    } catch (err) {
      errors.push((err as Error).message);
    }
  }
  return { origins, errors };
}

function setAt(tree: Tree, path: readonly string[], value: unknown, variable: string): void {
  let node: Tree | unknown[] = tree;
  for (let i = 0; i < path.length; i++) {
    const key = path[i]!;
    const last = i === path.length - 1;
    if (Array.isArray(node)) {
      const index = /^\d+$/.test(key) ? Number(key) : NaN;
      if (!Number.isInteger(index) || index > node.length) {
        throw new Error(`${variable}: ${path.slice(0, i).join('.')} is a list: expected an index from 0 to ${node.length}, not ${key}`);
      }
      if (last) node[index] = value;
      else {
        if (!isObject(node[index])) node[index] = listPaths.has(path.slice(0, i + 1).join('.')) ? [] : {};
        node = node[index] as Tree;
      }
      continue;
    }
    if (last) node[key] = value;
    else {
      const here = path.slice(0, i + 1).join('.');
      if (listPaths.has(here) ? !Array.isArray(node[key]) : !isObject(node[key])) node[key] = listPaths.has(here) ? [] : {};
      node = node[key] as Tree;
    }
  }
}

const isObject = (v: unknown): v is Tree => typeof v === 'object' && v !== null;
