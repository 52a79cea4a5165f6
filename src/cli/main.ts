#!/usr/bin/env node
// Blob commits fsync in libuv's thread pool; the default 4 threads would queue them behind each other.
process.env.UV_THREADPOOL_SIZE ??= '16';

import { ConfigError } from '../config/load.js';
import { authCommand, authUsage } from './commands/auth.js';
import { configCommand, configUsage } from './commands/config.js';
import { backupCommand, backupUsage } from './commands/backup.js';
import { fsckCommand, fsckUsage } from './commands/fsck.js';
import { importCommand, importUsage } from './commands/import.js';
import { restoreCommand, restoreUsage } from './commands/restore.js';
import { gcCommand, gcUsage } from './commands/gc.js';
import { repoCommand, repoUsage } from './commands/repo.js';
import { serveCommand, serveUsage } from './commands/serve.js';
import { userCommand, userUsage } from './commands/user.js';
import { webhooksCommand, webhooksUsage } from './commands/webhooks.js';

/** A command resolves with its exit code, or null when it keeps running (serve). */
type Command = (args: string[]) => Promise<number | null>;

const commands: Record<string, Command> = {
  serve: serveCommand,
  config: configCommand,
  webhooks: webhooksCommand,
  gc: gcCommand,
  fsck: fsckCommand,
  backup: backupCommand,
  restore: restoreCommand,
  import: importCommand,
  user: userCommand,
  auth: authCommand,
  repo: repoCommand,
};

const help = `wharf — a self-hosted OCI/Docker container registry

Usage:
  ${serveUsage}
                                 Serve the registry (defaults: 0.0.0.0:5000, ./data, no config file needed)
  ${configUsage}
  ${userUsage}
  ${authUsage}
  ${repoUsage}
  ${gcUsage}
  ${fsckUsage}
  ${backupUsage}
  ${restoreUsage}
  ${importUsage}
  ${webhooksUsage}
  wharf --help | --version

Configuration: a YAML file (--config), overridden by WHARF_* environment variables
(e.g. WHARF_SERVER__ADDR, WHARF_REGISTRY__DELETE_ENABLED=false), overridden by flags.`;

async function main(argv: string[]): Promise<number | null> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help}\n`);
    return 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write('wharf 0.1.0\n');
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`unknown command: ${name}\n\n${help}\n`);
    return 2;
  }
  return command(rest);
}

function describeFailure(err: unknown): { message: string; code: number } {
  const code = (err as NodeJS.ErrnoException).code;
  if (err instanceof ConfigError) return { message: err.message, code: 2 };
  if (code === 'EADDRINUSE' || code === 'EACCES') return { message: `cannot listen: ${(err as Error).message}`, code: 1 };
  if (code?.startsWith('ERR_PARSE_ARGS')) return { message: `${(err as Error).message}\n\n${help}`, code: 2 };
  return { message: `wharf: ${(err as Error).stack ?? String(err)}`, code: 1 };
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  (err: unknown) => {
    const { message, code } = describeFailure(err);
    process.stderr.write(`${message}\n`);
    process.exitCode = code;
  },
);
