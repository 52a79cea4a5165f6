#!/usr/bin/env node
// Blob commits fsync in libuv's thread pool; the default 4 threads would queue them behind each other.
process.env.UV_THREADPOOL_SIZE ??= '16';

import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, readConfigFile, validateConfig } from '../config/load.js';
import { configReference } from '../config/reference.js';
import { createLogger } from '../log/logger.js';
import { startServer } from './serve.js';

const help = `wharf — a self-hosted OCI/Docker container registry

Usage:
  wharf serve [--config FILE] [--addr HOST:PORT] [--data-dir DIR]
                                 Serve the registry (defaults: 0.0.0.0:5000, ./data, no config file needed)
  wharf config check FILE        Validate a config file and print every problem with its path
  wharf config reference         Print the configuration reference (Markdown)
  wharf --help | --version

Configuration: a YAML file (--config), overridden by WHARF_* environment variables
(e.g. WHARF_SERVER__ADDR, WHARF_REGISTRY__DELETE_ENABLED=false), overridden by flags.`;

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, addr: { type: 'string' }, 'data-dir': { type: 'string' } },
    strict: true,
  });
  const overrides: { path: string[]; value: unknown }[] = [];
  if (values.addr) overrides.push({ path: ['server', 'addr'], value: values.addr });
  if (values['data-dir']) overrides.push({ path: ['storage', 'dataDir'], value: values['data-dir'] });
  const config = await loadConfig({ file: values.config, overrides });
  const log = createLogger(config.log);
  const server = await startServer(config, log);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing requests in flight');
    server.stop().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'unclean shutdown');
        log.flush();
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

async function configCommand(args: string[]): Promise<number> {
  const [sub, file] = args;
  if (sub === 'reference') {
    process.stdout.write(configReference());
    return 0;
  }
  if (sub === 'check' && file) {
    validateConfig(await readConfigFile(file), file);
    process.stdout.write(`${file}: configuration is valid\n`);
    return 0;
  }
  process.stderr.write('usage: wharf config check FILE | wharf config reference\n');
  return 2;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      await serve(rest);
      return -1; // keeps running
    case 'config':
      return configCommand(rest);
    case '--version':
    case 'version':
      process.stdout.write('wharf 0.1.0\n');
      return 0;
    case undefined:
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(`${help}\n`);
      return 0;
    default:
      process.stderr.write(`unknown command: ${command}\n\n${help}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exitCode = 2;
    } else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' || (err as NodeJS.ErrnoException).code === 'EACCES') {
      process.stderr.write(`cannot listen: ${(err as Error).message}\n`);
      process.exitCode = 1;
    } else if ((err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      process.stderr.write(`${(err as Error).message}\n\n${help}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`wharf: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
