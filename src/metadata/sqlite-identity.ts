import { statSync } from 'node:fs';

/**
 * Which file a SQLite connection opened. An unlinked or replaced database file still answers through the open
 * descriptor while every commit lands in a file the next start will not open: only the path tells.
 */
export class DatabaseFileIdentity {
  private constructor(
    private readonly path: string,
    private readonly dev: number,
    private readonly ino: number,
  ) {}

  /** null for ':memory:', which has no file to lose. */
  static of(path: string): DatabaseFileIdentity | null {
    if (path === ':memory:') return null;
    const { dev, ino } = statSync(path);
    return new DatabaseFileIdentity(path, dev, ino);
  }

  /** Throws when the path no longer names the file that was opened. */
  verify(): void {
    const now = statSync(this.path, { throwIfNoEntry: false });
    if (!now) throw new Error(`database file ${this.path} is gone; restart to open a new one (commits since then are not in any file at that path)`);
    if (now.dev !== this.dev || now.ino !== this.ino) throw new Error(`database file ${this.path} was replaced by another file since it was opened; restart to use it`);
  }
}
