// wharf user add|passwd|remove|list: manages an htpasswd file as `htpasswd -B` would (bcrypt, $2y$), so the file
// stays usable by Apache tools. Passwords come from a no-echo prompt on a terminal, or from the first line of
// stdin; never from the command line. The file is replaced atomically (temp file, fsync, rename).
import { randomBytes } from 'node:crypto';
import { chmod, open, readFile, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { hashKind, hashPassword, HtpasswdDocument, isValidUser, checkPassword } from '../../auth/htpasswd.js';

export const userUsage = `wharf user add|passwd USER --file PATH [--cost N]
                                 Add a user or set a password (prompted on a terminal, else read from stdin)
  wharf user remove USER --file PATH
  wharf user list --file PATH`;

export const userHelp = `usage:
  ${userUsage}

--file defaults to $WHARF_AUTH__HTPASSWD__PATH. --cost is the bcrypt cost, 4 to 17 (default 10).`;

/** Where the command reads and writes; a terminal stdin gets a no-echo prompt. */
export interface UserCommandIO {
  readonly stdin: Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly env: NodeJS.ProcessEnv;
}

const processIO = (): UserCommandIO => ({ stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env });

class UsageError extends Error {}
class Failure extends Error {}

const maxStdinBytes = 64 * 1024;

export async function readStdinLine(stdin: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    chunks.push(buf);
    size += buf.length;
    if (size > maxStdinBytes) break;
    if (buf.includes(0x0a)) break;
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const newline = text.indexOf('\n');
  const line = newline === -1 ? text : text.slice(0, newline);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Reads a line from a terminal without echoing it. */
export function promptHidden(prompt: string, io: UserCommandIO): Promise<string> {
  const { stdin, stderr } = io;
  stderr.write(prompt);
  stdin.setRawMode!(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode!(false);
      stdin.pause();
      stderr.write('\n');
    };
    const onData = (chunk: string | Buffer) => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new Failure('interrupted'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch >= ' ') value += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function readPassword(io: UserCommandIO): Promise<string> {
  let password: string;
  if (io.stdin.isTTY && io.stdin.setRawMode) {
    password = await promptHidden('New password: ', io);
    const again = await promptHidden('Re-type new password: ', io);
    if (again !== password) throw new Failure('the passwords do not match');
  } else {
    password = await readStdinLine(io.stdin);
  }
  const problem = checkPassword(password);
  if (problem) throw new Failure(problem);
  return password;
}

async function readDocument(path: string, mustExist: boolean): Promise<{ doc: HtpasswdDocument; exists: boolean }> {
  try {
    return { doc: HtpasswdDocument.parse(await readFile(path, 'utf8')), exists: true };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && !mustExist) return { doc: HtpasswdDocument.parse(''), exists: false };
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new Failure(`${path} does not exist`);
    throw new Failure(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Replaces `path` with `text` atomically, keeping its mode (0640 for a new file) and following a symlink. */
async function writeAtomically(path: string, text: string): Promise<void> {
  let target = path;
  let mode = 0o640;
  try {
    target = await realpath(path);
    mode = (await stat(target)).mode & 0o7777;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const dir = dirname(target);
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await fh.close();
  try {
    await chmod(tmp, mode); // the umask may have narrowed it
    await rename(tmp, target);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  const d = await open(dir, 'r');
  try {
    await d.sync();
  } catch {
    // some file systems cannot fsync a directory
  } finally {
    await d.close();
  }
}

function parse(args: string[], env: NodeJS.ProcessEnv): { sub: string; user: string | undefined; file: string; cost: number } {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: { file: { type: 'string', short: 'f' }, cost: { type: 'string', short: 'C' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [sub, user, ...extra] = parsed.positionals;
  if (parsed.values.help) throw new UsageError('');
  if (sub === undefined) throw new UsageError('missing subcommand');
  if (!['add', 'passwd', 'remove', 'list'].includes(sub)) throw new UsageError(`unknown subcommand ${sub}`);
  if (extra.length > 0) throw new UsageError('too many arguments (passwords are never taken from the command line: type it, or pipe it to stdin)');
  if (sub === 'list' ? user !== undefined : user === undefined) throw new UsageError(sub === 'list' ? 'list takes no user' : `${sub} needs a user name`);
  if (user !== undefined && !isValidUser(user)) throw new UsageError(`invalid user name ${JSON.stringify(user)} (no colons, whitespace or control characters)`);
  const file = parsed.values.file ?? env.WHARF_AUTH__HTPASSWD__PATH;
  if (!file) throw new UsageError('--file PATH is required');
  const costText = parsed.values.cost ?? '10';
  const cost = Number(costText);
  if (!/^\d+$/.test(costText) || cost < 4 || cost > 17) throw new UsageError('--cost must be an integer from 4 to 17');
  return { sub, user, file, cost };
}

export async function userCommand(args: string[], io: UserCommandIO = processIO()): Promise<number> {
  try {
    const { sub, user, file, cost } = parse(args, io.env);
    if (sub === 'list') {
      const { doc } = await readDocument(file, true);
      for (const name of doc.users()) io.stdout.write(`${name}\n`);
      // Lines Wharf would refuse at load are pointed out, so they can be fixed before the server sees them.
      for (const { user: name, hash } of doc.entries()) {
        const kind = hashKind(hash);
        if (kind !== 'bcrypt') io.stderr.write(`warning: ${name} has a ${kind} hash, which Wharf refuses; set it again with wharf user passwd ${name}\n`);
      }
      return 0;
    }
    const name = user!;
    const { doc, exists } = await readDocument(file, sub !== 'add');
    if (sub === 'remove') {
      if (!doc.remove(name)) throw new Failure(`no user ${name} in ${file}`);
      await writeAtomically(file, doc.toString());
      io.stderr.write(`removed ${name} from ${file}\n`);
      return 0;
    }
    if (sub === 'add' && doc.has(name)) throw new Failure(`user ${name} already exists in ${file}; use wharf user passwd to change the password`);
    if (sub === 'passwd' && !doc.has(name)) throw new Failure(`no user ${name} in ${file}; use wharf user add`);
    const password = await readPassword(io);
    doc.set(name, await hashPassword(password, cost));
    await writeAtomically(file, doc.toString());
    io.stderr.write(sub === 'add' ? `added ${name} to ${exists ? '' : 'new file '}${file}\n` : `password of ${name} updated in ${file}\n`);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(err.message ? `wharf user: ${err.message}\n\n${userHelp}\n` : `${userHelp}\n`);
      return err.message ? 2 : 0;
    }
    if (err instanceof Failure) {
      io.stderr.write(`wharf user: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(`wharf user: ${(err as Error).message}\n`);
    return 1;
  }
}
