import { parseArgs } from 'node:util';
import { configWarnings, loadConfig } from '../../config/load.js';
import { createLogger } from '../../log/logger.js';
import { startServer } from '../../runtime/server.js';

export const serveUsage = 'wharf serve [--config FILE] [--addr HOST:PORT] [--data-dir DIR]';

/** Runs until SIGTERM/SIGINT; resolves with null so main leaves the process running. */
export async function serveCommand(args: string[]): Promise<null> {
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
  // Said even when log.level hides warnings: what the configuration left out must never go unsaid.
  for (const warning of configWarnings(config)) (log.isLevelEnabled('warn') ? log.warn(warning) : process.stderr.write(`warning: ${warning}\n`));
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
  // Last line of defence: every request path catches its own failures, but a promise some library forgot to
  // handle must not take the registry (and every other client's transfer) down with it.
  process.on('unhandledRejection', (err: unknown) => log.error({ err }, 'unhandled promise rejection (kept running)'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return null;
}
