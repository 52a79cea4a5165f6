// The htpasswd file as the server sees it: loaded at start (a bad file stops the start), re-read whenever it
// changes. Changes are noticed by fs.watch on the directory (so editors and `wharf user` that replace the file by
// rename are seen) and, as a fallback for file systems without notifications, by a periodic stat; the
// inode/size/mtime/ctime signature decides whether the file really changed. A file that turns bad or disappears
// keeps the last good contents in force, with an error in the log.
import { watch, type FSWatcher } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { HtpasswdError, parseHtpasswd, type HtpasswdEntry, type ParsedHtpasswd } from './htpasswd.js';

/** What credential verification needs from a user list. */
export interface UserStore {
  lookup(user: string): HtpasswdEntry | undefined;
  /** Changes whenever the contents change; caches keyed on the contents compare it. */
  readonly version: number;
  /** Highest bcrypt cost among the users (the dummy hash for unknown users uses it). */
  readonly maxCost: number;
}

export interface HtpasswdFileOptions {
  /** Fallback stat interval in ms (default 2000); 0 disables it. */
  readonly pollInterval?: number;
  /** Delay after a watch event before looking, so a burst of events is one reload (default 25 ms). */
  readonly debounce?: number;
}

interface Signature {
  readonly ino: bigint;
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

function sameSignature(a: Signature | null, b: Signature | null): boolean {
  return a !== null && b !== null && a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs;
}

async function readSnapshot(path: string): Promise<{ text: string; signature: Signature }> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat({ bigint: true });
    const text = await fh.readFile('utf8');
    return { text, signature: { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs } };
  } finally {
    await fh.close();
  }
}

export class HtpasswdFile implements UserStore {
  private parsed: ParsedHtpasswd;
  private signature: Signature | null;
  /** Signature of the last contents that failed to load, so a bad file is reported once, not on every poll. */
  private rejected: Signature | null = null;
  private missingReported = false;
  private watcher: FSWatcher | null = null;
  private poller: NodeJS.Timeout | null = null;
  private debounceTimer: NodeJS.Timeout | null = null;
  private checking: Promise<boolean> | null = null;
  private recheck = false;
  private closed = false;
  private currentVersion = 1;

  private constructor(
    readonly path: string,
    initial: ParsedHtpasswd,
    signature: Signature,
    private readonly log: Logger,
    private readonly options: HtpasswdFileOptions,
  ) {
    this.parsed = initial;
    this.signature = signature;
  }

  /** Loads the file; throws HtpasswdError (bad contents) or the read error, so a misconfigured server does not start. */
  static async open(path: string, log: Logger, options: HtpasswdFileOptions = {}): Promise<HtpasswdFile> {
    const full = resolve(path);
    let snapshot: { text: string; signature: Signature };
    try {
      snapshot = await readSnapshot(full);
    } catch (err) {
      throw new HtpasswdError(full, [`cannot read: ${(err as Error).message}`]);
    }
    const parsed = parseHtpasswd(snapshot.text, full);
    const file = new HtpasswdFile(full, parsed, snapshot.signature, log, options);
    for (const w of parsed.warnings) log.warn({ file: full }, `htpasswd: ${w}`);
    log.info({ file: full, users: parsed.users.size }, 'htpasswd file loaded');
    file.startWatching();
    return file;
  }

  get version(): number {
    return this.currentVersion;
  }

  get maxCost(): number {
    return this.parsed.maxCost;
  }

  get size(): number {
    return this.parsed.users.size;
  }

  lookup(user: string): HtpasswdEntry | undefined {
    return this.parsed.users.get(user);
  }

  users(): string[] {
    return [...this.parsed.users.keys()];
  }

  /**
   * Looks at the file now and reloads it if it changed; resolves true when new contents took effect. Concurrent
   * calls share one look (and one more follows if a change arrived meanwhile).
   */
  check(): Promise<boolean> {
    if (this.checking) {
      this.recheck = true;
      return this.checking;
    }
    this.checking = this.checkOnce().finally(() => {
      this.checking = null;
      if (this.recheck && !this.closed) {
        this.recheck = false;
        void this.check();
      }
    });
    return this.checking;
  }

  private async checkOnce(): Promise<boolean> {
    let current: Signature;
    try {
      const st = await stat(this.path, { bigint: true });
      current = { ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
    } catch (err) {
      if (!this.missingReported) {
        this.missingReported = true;
        this.log.error({ file: this.path, err: (err as Error).message }, 'htpasswd file unreadable; the last loaded users stay in force');
      }
      return false;
    }
    this.missingReported = false;
    if (sameSignature(current, this.signature) || sameSignature(current, this.rejected)) return false;
    let snapshot: { text: string; signature: Signature };
    try {
      snapshot = await readSnapshot(this.path);
    } catch (err) {
      this.log.error({ file: this.path, err: (err as Error).message }, 'htpasswd file unreadable; the last loaded users stay in force');
      return false;
    }
    let parsed: ParsedHtpasswd;
    try {
      parsed = parseHtpasswd(snapshot.text, this.path);
    } catch (err) {
      this.rejected = snapshot.signature;
      const problems = err instanceof HtpasswdError ? err.problems : [(err as Error).message];
      this.log.error({ file: this.path, problems }, 'htpasswd file changed but cannot be loaded; the last loaded users stay in force');
      return false;
    }
    this.parsed = parsed;
    this.signature = snapshot.signature;
    this.rejected = null;
    this.currentVersion++;
    for (const w of parsed.warnings) this.log.warn({ file: this.path }, `htpasswd: ${w}`);
    this.log.info({ file: this.path, users: parsed.users.size }, 'htpasswd file reloaded');
    return true;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    this.debounceTimer = setTimeout(() => {
      this.debounceTimer = null;
      void this.check();
    }, this.options.debounce ?? 25);
    this.debounceTimer.unref();
  }

  private startWatching(): void {
    this.watchDirectory();
    const interval = this.options.pollInterval ?? 2000;
    if (interval > 0) {
      this.poller = setInterval(() => {
        // A watcher lost to an error (directory replaced, too many watches) is re-established here.
        if (!this.watcher) this.watchDirectory();
        void this.check();
      }, interval);
      this.poller.unref();
    }
  }

  private watchDirectory(): void {
    try {
      // Every event in the directory leads to a (debounced) stat, not only those naming the file: a symlinked file
      // (a Kubernetes secret) changes when a sibling link is swapped.
      const watcher = watch(dirname(this.path), { persistent: false }, () => this.schedule());
      watcher.on('error', (err) => {
        this.log.warn({ file: this.path, err: err.message }, 'htpasswd: watching the directory failed; falling back to polling');
        watcher.close();
        if (this.watcher === watcher) this.watcher = null;
      });
      this.watcher = watcher;
    } catch (err) {
      this.log.warn({ file: this.path, err: (err as Error).message }, 'htpasswd: cannot watch the directory; falling back to polling');
      this.watcher = null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.poller) clearInterval(this.poller);
    if (this.debounceTimer) clearTimeout(this.debounceTimer);
    if (this.checking) await this.checking.catch(() => undefined);
  }
}
