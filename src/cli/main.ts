#!/usr/bin/env node
// Blob commits fsync in libuv's thread pool; the default 4 threads would queue them behind each other.
process.env.UV_THREADPOOL_SIZE ??= '16';

import { CliError } from './errors.js';
import { wharfVersion as version } from './version.js';

/** A command resolves with its exit code, or null when it keeps running (serve). */
type Command = (args: string[]) => Promise<number | null>;

// In the order help lists them. Each is src/cli/commands/<name>.ts exporting <name>Command and <name>Usage, and
// optionally <name>Help (the longer text `wharf NAME --help` prints; the usage line otherwise).
const commandNames = ['serve', 'status', 'config', 'user', 'auth', 'repo', 'gc', 'fsck', 'backup', 'restore', 'import', 'webhooks'];

const usageNotes: Record<string, string> = {
  serve: 'Serve the registry (defaults: 0.0.0.0:5000, ./data, no config file needed)',
};

interface LoadedCommand {
  readonly run: Command;
  readonly usage: string;
  readonly help: string;
}

/**
 * Imported when run: each command pulls in its own part of the program (the server, the importer, bcrypt, ACME),
 * and `wharf --version` or a one-shot command should not pay for all of them at start-up.
 */
async function loadCommand(name: string): Promise<LoadedCommand> {
  const module = (await import(`./commands/${name}.js`)) as Record<string, unknown>;
  const run = module[`${name}Command`];
  const usage = module[`${name}Usage`];
  const help = module[`${name}Help`];
  if (typeof run !== 'function' || typeof usage !== 'string') throw new Error(`src/cli/commands/${name}.ts lacks ${name}Command or ${name}Usage`);
  const note = usageNotes[name];
  const full = note ? `${usage}\n                                 ${note}` : usage;
  return { run: run as Command, usage: full, help: typeof help === 'string' ? help : `usage:\n  ${full}` };
}

/** The usage lines live with their commands, so help is the one answer that loads them all. */
async function help(): Promise<string> {
  const usages = await Promise.all(commandNames.map(async (name) => (await loadCommand(name)).usage));
  return `wharf ${version()} — a self-hosted OCI/Docker container registry

Usage:
${usages.map((usage) => `  ${usage}`).join('\n')}
  wharf --help | --version
  wharf COMMAND --help             Options and details of one command

Configuration: a YAML file (--config), overridden by WHARF_* environment variables
(e.g. WHARF_SERVER__ADDR, WHARF_REGISTRY__DELETE_ENABLED=false), overridden by flags.
A Distribution (registry:2) config.yml and its REGISTRY_* variables are accepted as they are
(REGISTRY_* alone, without --config, too); \`wharf config convert\` shows what they mean in Wharf.`;
}

/** `--help` or `-h` anywhere before a `--` asks for help, whatever else the command line holds. */
function wantsHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(argv: string[]): Promise<number | null> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await help()}\n`);
    return 0;
  }
  if (name === '--version' || name === '-v' || name === 'version') {
    process.stdout.write(`wharf ${version()}\n`);
    return 0;
  }
  if (!commandNames.includes(name)) {
    process.stderr.write(`wharf: unknown command: ${name}\n\n${await help()}\n`);
    return 2;
  }
  const command = await loadCommand(name);
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.help}\n`);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      throw new CliError(`wharf ${name}: ${(err as Error).message}\n\n${command.help}`, 2);
    }
    throw err;
  }
}

/** What the operator reads when a command fails: one message, never a stack trace unless WHARF_DEBUG=1. */
async function describeFailure(err: unknown): Promise<{ message: string; code: number }> {
  if (err instanceof CliError) return { message: err.message, code: err.exitCode };
  const { ConfigError } = await import('../config/load.js');
  if (err instanceof ConfigError) return { message: err.message, code: 2 };
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') return { message: `wharf: cannot listen: ${(err as Error).message}`, code: 1 };
  const message = err instanceof Error ? err.message : String(err);
  return { message: `wharf: ${message}`, code: 1 };
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  async (err: unknown) => {
    const { message, code } = await describeFailure(err);
    process.stderr.write(`${message}\n`);
    if (process.env.WHARF_DEBUG === '1' && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = code;
  },
);
