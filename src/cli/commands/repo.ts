import { parseArgs } from 'node:util';
import { dataOptions, loadExistingRegistry } from '../config-options.js';
import { CliError } from '../errors.js';
import { DomainError } from '../../oci/errors.js';
import { createLogger } from '../../log/logger.js';
import { commandOrigin } from '../../events/event.js';
import { requireName } from '../../oci/names.js';
import { openRegistry } from '../../registry/registry.js';

export const repoUsage = `wharf repo list|delete NAME [--config FILE] [--data-dir DIR]
                                 Repositories with their usage and quota; delete one (GC reclaims its blobs)`;

export async function repoCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { ...dataOptions, json: { type: 'boolean', default: false } },
  });
  const [sub, name] = positionals;
  if (!(sub === 'list' || (sub === 'delete' && name))) {
    process.stderr.write(`usage: ${repoUsage}\n`);
    return 2;
  }
  const config = await loadExistingRegistry('repo', values);
  const registry = openRegistry(config, createLogger({ ...config.log, level: 'warn' }));
  try {
    if (sub === 'delete') {
      try {
        await registry.repositories.delete(requireName(name!), commandOrigin('repo delete', 'DELETE'));
      } catch (err) {
        if (err instanceof DomainError && (err.kind === 'NameUnknown' || err.kind === 'NameInvalid')) {
          const what = err.kind === 'NameUnknown' ? `no repository named ${name}` : `${name} is not a valid repository name`;
          throw new CliError(`wharf repo delete: ${what} (wharf repo list shows them)`);
        }
        throw err;
      }
      process.stdout.write(`deleted repository ${name}; the next GC pass reclaims blobs no other repository uses\n`);
      return 0;
    }
    if (!values.json) process.stdout.write('repository\ttags\tmanifests\tblobs\tbytes\tquota\n');
    for (let last: string | undefined; ; ) {
      const page = await registry.metadata.listRepositoryUsage({ last, limit: 500 });
      for (const r of page) {
        const quota = registry.quotas.limitFor(r.name);
        process.stdout.write(
          values.json ? `${JSON.stringify({ ...r, quota })}\n` : `${r.name}\t${r.tags}\t${r.manifests}\t${r.blobs}\t${r.bytes}\t${quota ?? '-'}\n`,
        );
      }
      if (page.length < 500) break;
      last = page[page.length - 1]!.name;
    }
    return 0;
  } finally {
    await registry.close();
  }
}
