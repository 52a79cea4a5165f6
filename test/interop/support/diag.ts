// Attaches the registry's own log to a failing step, so a failure report shows both sides.
import type { RunningRegistry } from '../../support/processes.js';

export async function withServerLog<T>(reg: RunningRegistry | undefined, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (reg && err instanceof Error) {
      err.message += `\n--- ${reg.name} log (tail) ---\n${reg.output().slice(-4000)}`;
    }
    throw err;
  }
}

export function sortedCopy(values: Iterable<string>): string[] {
  return [...values].sort();
}
