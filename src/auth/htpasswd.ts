// htpasswd files as Apache's `htpasswd -B` writes them: one `user:hash` per line, blank lines and `#` comments
// allowed. Only bcrypt hashes are accepted; every other kind Apache knows is refused by name.
import bcrypt from 'bcrypt';

export interface HtpasswdEntry {
  readonly user: string;
  readonly hash: string;
  /** 1-based line number, for messages. */
  readonly line: number;
}

export interface ParsedHtpasswd {
  readonly users: ReadonlyMap<string, HtpasswdEntry>;
  /** Problems that do not stop the file from loading (a user listed twice: the first line wins, as in Apache). */
  readonly warnings: readonly string[];
  /**
   * The highest bcrypt cost in the file; unknown users are checked against a dummy hash of this cost, so a login for
   * a name that does not exist never answers faster than one for the most expensive user that does.
   */
  readonly maxCost: number;
}

export class HtpasswdError extends Error {
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(`cannot load htpasswd file ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

const bcryptPattern = /^\$2[aby]\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{53}$/;
const userPattern = /^[^:\s\p{Cc}]{1,255}$/u;

export type HashKind = 'bcrypt' | 'malformed bcrypt' | 'MD5 ($apr1$)' | 'SHA-1 ({SHA})' | 'MD5-crypt ($1$)' | 'SHA-256-crypt ($5$)' | 'SHA-512-crypt ($6$)' | 'DES crypt' | 'plain text';

/** What kind of hash an htpasswd line carries, by the prefixes Apache's htpasswd writes. */
export function hashKind(hash: string): HashKind {
  if (bcryptPattern.test(hash)) return 'bcrypt';
  if (/^\$2[abxy]?\$/.test(hash)) return 'malformed bcrypt';
  if (hash.startsWith('$apr1$')) return 'MD5 ($apr1$)';
  if (hash.startsWith('{SHA}')) return 'SHA-1 ({SHA})';
  if (hash.startsWith('$1$')) return 'MD5-crypt ($1$)';
  if (hash.startsWith('$5$')) return 'SHA-256-crypt ($5$)';
  if (hash.startsWith('$6$')) return 'SHA-512-crypt ($6$)';
  if (/^[./0-9A-Za-z]{13}$/.test(hash)) return 'DES crypt';
  return 'plain text';
}

export function isValidUser(user: string): boolean {
  return userPattern.test(user);
}

export function bcryptCost(hash: string): number {
  return Number(hash.slice(4, 6));
}

function splitLines(text: string): string[] {
  return (text.startsWith('\uFEFF') ? text.slice(1) : text).split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

function isIgnored(line: string): boolean {
  const t = line.trim();
  return t === '' || t.startsWith('#');
}

/**
 * Parses an htpasswd file strictly: any line that is not `user:bcrypt-hash` (or blank, or a comment) is a problem,
 * reported with its line number and user, never with the hash. Throws HtpasswdError listing every problem.
 */
export function parseHtpasswd(text: string, source: string): ParsedHtpasswd {
  const users = new Map<string, HtpasswdEntry>();
  const problems: string[] = [];
  const warnings: string[] = [];
  const costs: number[] = [];
  splitLines(text).forEach((raw, i) => {
    const line = i + 1;
    if (isIgnored(raw)) return;
    const trimmed = raw.trim();
    const colon = trimmed.indexOf(':');
    if (colon === -1) {
      problems.push(`line ${line}: expected user:hash`);
      return;
    }
    const user = trimmed.slice(0, colon);
    const hash = trimmed.slice(colon + 1);
    if (!isValidUser(user)) {
      problems.push(`line ${line}: invalid user name ${JSON.stringify(user.slice(0, 64))}`);
      return;
    }
    const kind = hashKind(hash);
    if (kind !== 'bcrypt') {
      const what = kind === 'malformed bcrypt' ? 'has a malformed bcrypt hash' : `has a ${kind} hash, which Wharf does not accept`;
      problems.push(`line ${line}: user "${user}" ${what}; only bcrypt is supported (set the password again with \`htpasswd -B\` or \`wharf user passwd\`)`);
      return;
    }
    if (users.has(user)) {
      warnings.push(`line ${line}: user "${user}" is listed again (line ${users.get(user)!.line} is used)`);
      return;
    }
    users.set(user, { user, hash, line });
    costs.push(bcryptCost(hash));
  });
  if (problems.length > 0) throw new HtpasswdError(source, problems);
  return { users, warnings, maxCost: costs.length > 0 ? Math.max(...costs) : 10 };
}

/** Longest password bcrypt looks at; longer ones would be silently truncated, so they are refused. */
export const maxPasswordBytes = 72;

export function checkPassword(password: string): string | null {
  if (password.length === 0) return 'the password is empty';
  if (Buffer.byteLength(password, 'utf8') > maxPasswordBytes) return `the password is longer than ${maxPasswordBytes} bytes (bcrypt ignores the rest)`;
  if (password.includes('\0')) return 'the password contains a NUL character';
  return null;
}

/** A bcrypt hash as `htpasswd -B` writes it ($2y$; the bcrypt package writes the equivalent $2b$). */
export async function hashPassword(password: string, cost = 10): Promise<string> {
  const problem = checkPassword(password);
  if (problem) throw new Error(problem);
  if (!Number.isInteger(cost) || cost < 4 || cost > 31) throw new Error('bcrypt cost must be an integer from 4 to 31');
  const hash = await bcrypt.hash(password, cost);
  return hash.replace(/^\$2[ab]\$/, '$2y$');
}

type DocumentLine = { readonly raw: string; readonly user?: string; readonly hash?: string };

/**
 * An htpasswd file as an editor sees it: every line kept as it was (comments, other users, even hash kinds Wharf
 * refuses, so `wharf user passwd` can repair them), with user lines replaced, added or removed.
 */
export class HtpasswdDocument {
  private constructor(private lines: DocumentLine[]) {}

  static parse(text: string): HtpasswdDocument {
    const lines = splitLines(text);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return new HtpasswdDocument(
      lines.map((raw) => {
        if (isIgnored(raw)) return { raw };
        const t = raw.trim();
        const colon = t.indexOf(':');
        return colon > 0 ? { raw, user: t.slice(0, colon), hash: t.slice(colon + 1) } : { raw };
      }),
    );
  }

  /** Every user line, in file order (duplicates included). */
  entries(): { user: string; hash: string }[] {
    return this.lines.flatMap((l) => (l.user === undefined ? [] : [{ user: l.user, hash: l.hash ?? '' }]));
  }

  users(): string[] {
    const seen = new Set<string>();
    for (const l of this.lines) if (l.user !== undefined) seen.add(l.user);
    return [...seen];
  }

  has(user: string): boolean {
    return this.lines.some((l) => l.user === user);
  }

  /** Replaces the user's line (and drops any later duplicates), or appends one. */
  set(user: string, hash: string): void {
    const entry = { raw: `${user}:${hash}`, user, hash };
    const first = this.lines.findIndex((l) => l.user === user);
    if (first === -1) {
      this.lines.push(entry);
      return;
    }
    this.lines = this.lines.flatMap((l, i) => (i === first ? [entry] : l.user === user ? [] : [l]));
  }

  remove(user: string): boolean {
    const before = this.lines.length;
    this.lines = this.lines.filter((l) => l.user !== user);
    return this.lines.length !== before;
  }

  toString(): string {
    return this.lines.length === 0 ? '' : `${this.lines.map((l) => l.raw).join('\n')}\n`;
  }
}
