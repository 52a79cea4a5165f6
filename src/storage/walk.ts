import { readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Every entry below dir that is not a directory, depth first; a directory that vanishes (or never existed) is
 * simply empty, since blob trees change under a walk (GC, prunes). `file` says whether it is a regular file.
 */
export async function* walkTree(dir: string): AsyncIterable<{ path: string; file: boolean }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') return;
    throw err;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walkTree(path);
    else yield { path, file: entry.isFile() };
  }
}
