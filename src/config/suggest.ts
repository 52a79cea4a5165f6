// "Did you mean": the closest known name to a mistyped one, so an unknown key or variable is an error that says
// what was probably meant (WHARF_AUTH_MODE -> WHARF_AUTH__MODE, storage.filesytem -> storage.filesystem).

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** Separators and case do not count: a name that differs only in them is the one meant. */
const squash = (s: string) => s.toLowerCase().replace(/[_.\-]/g, '');

export function closest(name: string, known: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of known) {
    const a = squash(name);
    const b = squash(candidate);
    // A cut-short name (rootdir for rootdirectory) is as good as one typo.
    const score = a === b ? 0 : b.startsWith(a) && a.length >= 4 ? 1 : distance(name.toLowerCase(), candidate.toLowerCase());
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return bestScore <= Math.max(2, Math.floor(name.length / 5)) ? best : undefined;
}

export const didYouMean = (name: string, known: Iterable<string>): string => {
  const guess = closest(name, known);
  return guess ? ` (did you mean ${guess}?)` : '';
};
