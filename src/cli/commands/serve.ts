import { parseArgs } from 'node:util';
import { configWarnings, loadConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { createLogger } from '../../log/logger.js';
import { startServer } from '../../runtime/server.js';
import { CliError } from '../errors.js';
import { writeServerState } from '../server-state.js';
import { wharfVersion } from '../version.js';

export const serveUsage = 'wharf serve [--config FILE] [--addr HOST:PORT] [--metrics-addr HOST:PORT] [--data-dir DIR]';

export const serveHelp = `usage:
  ${serveUsage}

Serves the registry until SIGTERM or SIGINT (then finishes the requests in flight).
  --config, -c FILE         YAML configuration (wharf config reference lists every key)
  --addr HOST:PORT          the registry API (server.addr, default 0.0.0.0:5000)
  --metrics-addr HOST:PORT  /metrics and detailed /readyz (metrics.addr, default 127.0.0.1:5001)
  --data-dir DIR            blobs and the database (storage.dataDir, default ./data)

Two instances on one host need different --addr AND --metrics-addr (or metrics.enabled: false).`;

/**
 * Which of Wharf's listeners an "address in use" error is about, said so the operator knows what to change: a
 * second instance started with only --addr moved collides on the metrics port, which the plain error hides.
 */
function listenerInUse(err: NodeJS.ErrnoException & { port?: number; address?: string }, config: Config): CliError | null {
  if (err.code !== 'EADDRINUSE' || err.port === undefined) return null;
  const port = (addr: string) => Number(addr.slice(addr.lastIndexOf(':') + 1));
  const at = `${err.address ?? ''}:${err.port}`;
  if (config.metrics.enabled && port(config.metrics.addr) === err.port) {
    return new CliError(
      `wharf serve: the metrics listener cannot use ${at}: another process (another Wharf?) listens there. ` +
        `Each instance needs its own metrics address: set --metrics-addr, metrics.addr or WHARF_METRICS__ADDR ` +
        `(or metrics.enabled: false)`,
    );
  }
  if (config.tls.mode !== 'none' && config.tls.http.enabled && port(config.tls.http.addr) === err.port) {
    return new CliError(`wharf serve: the plain-HTTP listener (ACME challenges, redirects) cannot use ${at}: it is in use; set tls.http.addr or tls.http.enabled: false`);
  }
  return new CliError(`wharf serve: the registry listener cannot use ${at}: it is in use; set --addr, server.addr or WHARF_SERVER__ADDR`);
}

/** Runs until SIGTERM/SIGINT; resolves with null so main leaves the process running. */
export async function serveCommand(args: string[]): Promise<null> {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string', short: 'c' }, addr: { type: 'string' }, 'metrics-addr': { type: 'string' }, 'data-dir': { type: 'string' } },
    strict: true,
  });
  const overrides: { path: string[]; value: unknown }[] = [];
  if (values.addr) overrides.push({ path: ['server', 'addr'], value: values.addr });
  if (values['metrics-addr']) overrides.push({ path: ['metrics', 'addr'], value: values['metrics-addr'] });
  if (values['data-dir']) overrides.push({ path: ['storage', 'dataDir'], value: values['data-dir'] });
  const config = await loadConfig({ file: values.config, overrides });
  const log = createLogger(config.log);
  // Said even when log.level hides warnings: what the configuration left out must never go unsaid.
  for (const warning of configWarnings(config)) (log.isLevelEnabled('warn') ? log.warn(warning) : process.stderr.write(`warning: ${warning}\n`));
  const server = await startServer(config, log).catch((err: unknown) => {
    log.flush();
    throw listenerInUse(err as NodeJS.ErrnoException, config) ?? err;
  });
  const hostOf = (addr: string) => addr.slice(0, addr.lastIndexOf(':'));
  const tls = config.tls.mode !== 'none';
  const forgetState = await writeServerState(config.storage.dataDir, {
    pid: process.pid,
    version: wharfVersion(),
    startedAt: new Date().toISOString(),
    api: `${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`,
    tls,
    metrics: server.metricsPort ? `${hostOf(config.metrics.addr)}:${server.metricsPort}` : null,
    plainHttp: tls && config.tls.http.enabled ? config.tls.http.addr : null,
  }).catch((err: unknown) => {
    log.warn({ err }, 'cannot record the listen addresses for wharf status');
    return async () => {};
  });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing requests in flight');
    server.stop().then(
      async () => {
        await forgetState().catch(() => {});
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
  // Last line of defence: every request path catches its own failures, but a promise some library forgot to
  // handle must not take the registry (and every other client's transfer) down with it.
  process.on('unhandledRejection', (err: unknown) => log.error({ err }, 'unhandled promise rejection (kept running)'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return null;
}
