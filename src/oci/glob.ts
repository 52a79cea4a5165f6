/**
 * Repository globs as policies and filters write them: `*` matches within one path segment, `**` across any number
 * of segments (`team-a/**` is everything under team-a, `library/*` one level below library).
 */
export function repositoryGlob(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // 'a/**' also matches 'a' itself: the trailing '/**' is optional as a whole.
      if (source.endsWith('/') && i + 2 === pattern.length) source = `${source.slice(0, -1)}(?:/.*)?`;
      else source += '.*';
      i++;
    } else if (c === '*') {
      source += '[^/]*';
    } else {
      source += c.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

export function matchesAny(globs: readonly RegExp[], name: string): boolean {
  return globs.some((g) => g.test(name));
}
