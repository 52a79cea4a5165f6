#!/usr/bin/env node
// Blob commits fsync in libuv's thread pool; the default 4 threads would queue them behind each other.
process.env.UV_THREADPOOL_SIZE ??= '16';

/** A command resolves with its exit code, or null when it keeps running (serve). */
type Command = (args: string[]) => Promise<number | null>;

// In the order help lists them. Each is src/cli/commands/<name>.ts exporting <name>Command and <name>Usage.
const commandNames = ['serve', 'config', 'user', 'auth', 'repo', 'gc', 'fsck', 'backup', 'restore', 'import', 'webhooks'];

const usageNotes: Record<string, string> = {
  serve: 'Serve the registry (defaults: 0.0.0.0:5000, ./data, no config file needed)',
};

/**
 * Imported when run: each command pulls in its own part of the program (the server, the importer, bcrypt, ACME),
 * and `wharf --version` or a one-shot command should not pay for all of them at start-up.
 */
async function loadCommand(name: string): Promise<{ run: Command; usage: string }> {
  const module = (await import(`./commands/${name}.js`)) as Record<string, unknown>;
  const run = module[`${name}Command`];
  const usage = module[`${name}Usage`];
  if (typeof run !== 'function' || typeof usage !== 'string') throw new Error(`src/cli/commands/${name}.ts lacks ${name}Command or ${name}Usage`);
  const note = usageNotes[name];
  return { run: run as Command, usage: note ? `${usage}\n                                 ${note}` : usage };
}

/** The usage lines live with their commands, so help is the one answer that loads them all. */
async function help(): Promise<string> {
  const usages = await Promise.all(commandNames.map(async (name) => (await loadCommand(name)).usage));
  return `wharf — a self-hosted OCI/Docker container registry

Usage:
${usages.map((usage) => `  ${usage}`).join('\n')}
  wharf --help | --version

Configuration: a YAML file (--config), overridden by WHARF_* environment variables
(e.g. WHARF_SERVER__ADDR, WHARF_REGISTRY__DELETE_ENABLED=false), overridden by flags.`;
}

async function main(argv: string[]): Promise<number | null> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await help()}\n`);
    return 0;
  }
  if (name === '--version' || name === 'version') {
    process.stdout.write('wharf 0.1.0\n');
    return 0;
  }
  if (!commandNames.includes(name)) {
    process.stderr.write(`unknown command: ${name}\n\n${await help()}\n`);
    return 2;
  }
  return (await loadCommand(name)).run(rest);
}

async function describeFailure(err: unknown): Promise<{ message: string; code: number }> {
  const code = (err as NodeJS.ErrnoException).code;
  const { ConfigError } = await import('../config/load.js');
  if (err instanceof ConfigError) return { message: err.message, code: 2 };
  if (code === 'EADDRINUSE' || code === 'EACCES') return { message: `cannot listen: ${(err as Error).message}`, code: 1 };
  if (code?.startsWith('ERR_PARSE_ARGS')) return { message: `${(err as Error).message}\n\n${await help()}`, code: 2 };
  return { message: `wharf: ${(err as Error).stack ?? String(err)}`, code: 1 };
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== null) process.exitCode = code;
  },
  async (err: unknown) => {
    const { message, code } = await describeFailure(err);
    process.stderr.write(`${message}\n`);
    process.exitCode = code;
  },
);
