// An htpasswd file (bcrypt, cost 5 as the auth target states) shared by both registries of the 'auth' profile.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Credentials } from './client.js';

export interface Htpasswd {
  readonly file: string;
  readonly credentials: Credentials;
  remove(): Promise<void>;
}

/** Uses apache2-utils' `htpasswd` so the hash is exactly what an operator would produce. */
export async function createHtpasswd(cost = 5): Promise<Htpasswd> {
  const credentials = { username: 'bench', password: randomBytes(12).toString('hex') };
  const { stdout } = await promisify(execFile)('htpasswd', ['-Bbn', '-C', String(cost), credentials.username, credentials.password]);
  const dir = await mkdtemp(join(tmpdir(), 'wharf-bench-auth-'));
  const file = join(dir, 'htpasswd');
  await writeFile(file, stdout.trim() + '\n');
  return { file, credentials, remove: () => rm(dir, { recursive: true, force: true }) };
}
