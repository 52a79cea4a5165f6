// What a valid configuration may still get wrong: warnings at start and in `wharf config check`, and the files it
// names checked for `config check`.
import { constants, existsSync } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Config } from './schema.js';

/** Users can log in but nothing grants them anything: every pull and push would be refused. */
function noGrants(config: Config): string | null {
  const auth = config.auth;
  const ownUsers = auth.mode === 'basic' || (auth.mode === 'token' && auth.token.issue);
  if (!ownUsers || auth.rules.length || auth.admins.length || auth.adminGroups.length || auth.anonymous.length) return null;
  return (
    `auth.mode is ${auth.mode} but no rule, admin or anonymous grant exists: no user can pull or push. ` +
    `Add a rule, e.g. auth.rules: [{users: ['*'], repositories: ['**'], actions: [pull, push, delete]}]`
  );
}

/** Distribution's filesystem layout where Wharf keeps its data: the images in it are not served until imported. */
function distributionStorage(config: Config): string | null {
  for (const dir of new Set([config.storage.dataDir, config.storage.filesystem.root].filter((d): d is string => d !== undefined))) {
    if (existsSync(join(dir, 'docker', 'registry', 'v2'))) {
      return (
        `${dir} holds a Distribution registry's storage (docker/registry/v2), which Wharf does not serve as it is: ` +
        `import its repositories with \`wharf import distribution ${dir} --data-dir ${config.storage.dataDir}\` ` +
        `(resumable; may run while Wharf serves), then remove ${join(dir, 'docker')} to silence this warning`
      );
    }
  }
  return null;
}

export function configWarningsOf(config: Config): string[] {
  return [noGrants(config), distributionStorage(config)].filter((w): w is string => w !== null);
}

/** Files the configuration names that the server will read: each must exist and be readable. */
export async function checkReferencedFiles(config: Config): Promise<string[]> {
  const files: [string, string | undefined][] = [
    ['auth.htpasswd.path', config.auth.mode !== 'none' ? config.auth.htpasswd.path : undefined],
    ['auth.token.external.certificate', config.auth.token.external?.certificate],
    ['tls.certificate', config.tls.mode === 'files' ? config.tls.certificate : undefined],
    ['tls.key', config.tls.mode === 'files' ? config.tls.key : undefined],
    ['tls.acme.caBundle', config.tls.mode === 'acme' ? config.tls.acme.caBundle : undefined],
  ];
  const problems: string[] = [];
  for (const [key, file] of files) {
    if (file === undefined) continue;
    const path = resolve(file);
    try {
      if (!(await stat(path)).isFile()) throw new Error('not a regular file');
      await access(path, constants.R_OK);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : (err as Error).message;
      problems.push(`${key}: ${path} ${why}`);
    }
  }
  return problems;
}
