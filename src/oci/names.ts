import { DomainError } from './errors.js';

// Grammar from the distribution spec: path components of lowercase alphanumerics separated by '.', '_', '__' or
// runs of '-', joined by '/'.
const namePattern = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const tagPattern = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const maxNameLength = 255;

export function isValidName(name: string): boolean {
  return name.length <= maxNameLength && namePattern.test(name);
}

export function requireName(name: string): string {
  if (!isValidName(name)) {
    throw new DomainError('NameInvalid', 'invalid repository name', { name: name.slice(0, 300) });
  }
  return name;
}

export function isValidTag(tag: string): boolean {
  return tagPattern.test(tag);
}

export function requireTag(tag: string): string {
  if (!isValidTag(tag)) throw new DomainError('TagInvalid', 'invalid tag', { tag: tag.slice(0, 200) });
  return tag;
}
