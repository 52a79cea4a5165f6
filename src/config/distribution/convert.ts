// A Distribution config.yml (plus its REGISTRY_* variables) turned into a Wharf configuration tree: every key is
// mapped, dropped with a warning, or refused with what to do instead. Nothing is silently ignored.
import { closest } from '../suggest.js';
import { asBoolean } from './values.js';
import { applyRegistryEnv, type EnvOrigin } from './env.js';
import { distributionRules } from './rules.js';
import type { Ctx, Rule, Tree } from './rule.js';
import { finishEndpoints } from './rules-events.js';

export interface Conversion {
  readonly config: Tree;
  readonly warnings: string[];
  readonly errors: string[];
}

const isObject = (v: unknown): v is Tree => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A top-level `version` (Wharf's files have none): the file is a Distribution config.yml, refused if not 0.1. */
export function isDistributionConfig(tree: Tree): boolean {
  return 'version' in tree;
}

/** A Wharf file that holds Distribution sections but no `version`: the likely mistake of a half-edited config.yml. */
export function looksLikeDistribution(tree: Tree): boolean {
  const wharfOnly = ['http', 'notifications', 'redis', 'middleware', 'loglevel', 'proxy', 'compatibility', 'validation', 'reporting', 'catalog'];
  return Object.keys(tree).some((k) => wharfOnly.includes(k));
}

function matches(rule: Rule, path: readonly string[]): boolean {
  const key = rule.key.split('.');
  return key.length === path.length && key.every((s, i) => s === '*' || s === path[i]);
}

function ruleFor(path: readonly string[]): Rule | undefined {
  const found = distributionRules.filter((r) => matches(r, path));
  return found.sort((a, b) => a.key.split('*').length - b.key.split('*').length)[0];
}

/** A path some rule lies under: an empty or null section there is fine. */
const isSection = (path: readonly string[]) =>
  distributionRules.some((r) => {
    const key = r.key.split('.');
    return key.length > path.length && path.every((s, i) => key[i] === '*' || key[i] === s);
  });

function setPath(tree: Tree, path: readonly (string | number)[], value: unknown): void {
  let node: Record<string | number, unknown> = tree;
  path.forEach((key, i) => {
    if (i === path.length - 1) {
      node[key] = value;
      return;
    }
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = typeof path[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  });
}

function getPath(tree: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), tree);
}

/** Converts a parsed config.yml (after `env`'s REGISTRY_* overrides when given). */
export function convertDistribution(source: Tree, env?: NodeJS.ProcessEnv): Conversion {
  const tree = structuredClone(source);
  const warnings: string[] = [];
  const errors: string[] = [];
  let origins: EnvOrigin[] = [];
  if (env) {
    const applied = applyRegistryEnv(tree, env);
    origins = applied.origins;
    errors.push(...applied.errors);
  }
  /** Names a key by the variable that set it, when one did. */
  const where = (path: readonly string[]) => {
    const prefix = (a: readonly string[], b: readonly string[]) => a.every((s, i) => b[i] === s);
    const variables = origins.filter((o) => prefix(o.path, path) || prefix(path, o.path)).map((o) => o.variable);
    return variables.length ? `${[...new Set(variables)].join(', ')} (${path.join('.')})` : path.join('.');
  };
  const out: Tree = {};
  const state = new Map<string, unknown>();
  // Every key and every section above one, so a mistyped section is recognised too.
  const known = [...new Set(distributionRules.flatMap((r) => r.key.split('.').map((_, i, all) => all.slice(0, i + 1).join('.'))))];

  const visit = (value: unknown, path: string[]): void => {
    const rule = path.length ? ruleFor(path) : undefined;
    if (rule) {
      const ctx: Ctx = {
        path,
        state,
        set: (p, v) => setPath(out, p, v),
        warn: (m) => warnings.push(`${where(path)}: ${m}`),
        fail: (m) => errors.push(`${where(path)}: ${m}`),
      };
      if (rule.apply) rule.apply(value, ctx);
      else if (rule.status === 'refused') ctx.fail(rule.note);
      else if (rule.status === 'dropped') ctx.warn(rule.note);
      return;
    }
    if (isObject(value)) {
      for (const [k, v] of Object.entries(value)) visit(v, [...path, k]);
      return;
    }
    if (Array.isArray(value) && isSection(path)) {
      value.forEach((v, i) => visit(v, [...path, String(i)]));
      return;
    }
    if ((value === null || value === undefined) && isSection(path)) return;
    const dotted = path.join('.');
    const guess = closest(dotted, known.map((k) => k.split('.').map((s, i) => (s === '*' ? (path[i] ?? s) : s)).join('.')));
    const hint = guess ? `did you mean ${guess}? ` : '';
    errors.push(`${where(path)}: not a Distribution configuration key Wharf knows (${hint}see "Coming from Distribution" in the README)`);
  };
  visit(tree, []);
  finish(tree, out, state, warnings, errors);
  return { config: out, warnings, errors };
}

const storageDrivers = ['filesystem', 's3', 'azure', 'gcs', 'swift', 'oss', 'inmemory', 'cos', 'ceph'];

function finish(d: Tree, out: Tree, state: Map<string, unknown>, warnings: string[], errors: string[]): void {
  const storage = isObject(d.storage) ? d.storage : {};
  const drivers = Object.keys(storage).filter((k) => storageDrivers.includes(k));
  if (drivers.length > 1) errors.push(`storage: several drivers (${drivers.join(', ')}): keep one`);
  if (drivers.includes('s3')) {
    setPath(out, ['storage', 'driver'], 's3');
    // Distribution's S3 driver answers blob GETs with a redirect to the bucket unless told not to; Wharf's default is off.
    setPath(out, ['storage', 's3', 'redirect'], state.get('redirect.disable') !== true);
  }
  // Distribution refuses deletes unless told otherwise; Wharf's own default is the opposite.
  setPath(out, ['registry', 'deleteEnabled'], asBoolean(getPath(d, ['storage', 'delete', 'enabled'])) === true);

  const auth = isObject(d.auth) ? Object.keys(d.auth) : [];
  if (auth.length > 1) errors.push(`auth: several schemes (${auth.join(', ')}): keep one`);
  else if (auth[0] === 'htpasswd') {
    setPath(out, ['auth', 'mode'], 'basic');
    // Distribution lets every user in the htpasswd file do everything; so does Wharf until rules say otherwise.
    setPath(out, ['auth', 'rules'], [{ users: ['*'], repositories: ['**'], actions: ['pull', 'push', 'delete'] }]);
  } else if (auth[0] === 'token') {
    setPath(out, ['auth', 'mode'], 'token');
    setPath(out, ['auth', 'token', 'issue'], false);
  } else if (auth[0] === 'none') setPath(out, ['auth', 'mode'], 'none');

  const letsencrypt = getPath(d, ['http', 'tls', 'letsencrypt']);
  if (isObject(letsencrypt) && Object.keys(letsencrypt).length) {
    setPath(out, ['tls', 'mode'], 'acme');
    setPath(out, ['tls', 'acme', 'termsOfServiceAgreed'], true);
    warnings.push('http.tls.letsencrypt: Wharf proves the domain over HTTP-01, not TLS-ALPN-01: port 80 must reach tls.http.addr (0.0.0.0:80)');
  } else if (getPath(d, ['http', 'tls', 'certificate']) !== undefined) {
    setPath(out, ['tls', 'mode'], 'files');
    // Distribution opens no plain-HTTP listener beside TLS; Wharf's default one on port 80 could not even bind unprivileged.
    setPath(out, ['tls', 'http', 'enabled'], false);
  }
  if (getPath(d, ['http', 'debug', 'addr']) !== undefined) setPath(out, ['metrics', 'enabled'], true);
  finishEndpoints(out, state, (m) => warnings.push(m));
}

