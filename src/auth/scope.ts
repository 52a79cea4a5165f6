// Scopes of the Docker token specification: `repository:samalba/my-app:pull,push`, `registry:catalog:*`, several
// separated by spaces. The resource name may itself contain one ':' (a host:port prefix), so the type ends at the
// first ':' and the actions start after the last.
import type { AccessRequest, ResourceAccess } from './types.js';

export class ScopeError extends Error {}

const typePattern = /^([a-z0-9]+)(?:\([a-z0-9]+\))?$/;
const actionPattern = /^(?:[a-z]+|\*)$/;

/** One resource scope; throws ScopeError when it is malformed. The deprecated resource class is dropped. */
export function parseResourceScope(text: string): ResourceAccess {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) throw new ScopeError(`malformed scope ${JSON.stringify(text.slice(0, 200))}: expected type:name:actions`);
  const typeMatch = typePattern.exec(text.slice(0, first));
  if (!typeMatch) throw new ScopeError(`malformed scope ${JSON.stringify(text.slice(0, 200))}: bad resource type`);
  const name = text.slice(first + 1, last);
  if (name === '' || /[\s,"\\]/.test(name)) throw new ScopeError(`malformed scope ${JSON.stringify(text.slice(0, 200))}: bad resource name`);
  const actionText = text.slice(last + 1);
  const actions = actionText === '' ? [] : actionText.split(',');
  if (actions.some((a) => !actionPattern.test(a))) throw new ScopeError(`malformed scope ${JSON.stringify(text.slice(0, 200))}: bad action list`);
  return { type: typeMatch[1]!, name, actions: [...new Set(actions)] };
}

/** Every `scope` value of a request (each may hold several, space-separated), merged per resource. */
export function parseScopes(values: readonly string[]): ResourceAccess[] {
  const merged = new Map<string, { type: string; name: string; actions: Set<string> }>();
  for (const value of values) {
    for (const part of value.split(' ')) {
      if (part === '') continue;
      const scope = parseResourceScope(part);
      const key = `${scope.type}:${scope.name}`;
      const entry = merged.get(key) ?? { type: scope.type, name: scope.name, actions: new Set<string>() };
      for (const a of scope.actions) entry.actions.add(a);
      merged.set(key, entry);
    }
  }
  return [...merged.values()].map((e) => ({ type: e.type, name: e.name, actions: [...e.actions] }));
}

export function formatScope(scope: ResourceAccess): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`;
}

/**
 * The scope a challenge asks for. Push asks for pull and push, as Docker clients do (they check blobs before
 * uploading); the request itself only needs push.
 */
export function challengeScope(access: AccessRequest): ResourceAccess | null {
  if (access.action === 'base' || access.action === 'admin') return null;
  if (access.action === 'catalog') return { type: 'registry', name: 'catalog', actions: ['*'] };
  if (access.repository === null) return null;
  return { type: 'repository', name: access.repository, actions: access.action === 'push' ? ['pull', 'push'] : [access.action] };
}

/** A quoted-string of RFC 9110: backslash-escape quotes and backslashes. */
export function quote(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}

export function basicChallenge(realm: string): string {
  return `Basic realm=${quote(realm)}`;
}

export function bearerChallenge(realm: string, service: string, scope: ResourceAccess | null, error?: 'invalid_token' | 'insufficient_scope'): string {
  let value = `Bearer realm=${quote(realm)},service=${quote(service)}`;
  if (scope) value += `,scope=${quote(formatScope(scope))}`;
  if (error) value += `,error=${quote(error)}`;
  return value;
}
