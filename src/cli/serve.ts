import type { Logger } from 'pino';
import { createApiServer } from '../api/server.js';
import type { Config } from '../config/schema.js';
import { openRegistry } from '../registry/registry.js';

function splitAddr(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
  return { host, port: Number(addr.slice(i + 1)) };
}

export interface RunningServer {
  readonly port: number;
  readonly host: string;
  stop(): Promise<void>;
}

/** Opens storage, listens, and returns a handle that shuts down in order: HTTP first, then the stores. */
export async function startServer(config: Config, log: Logger): Promise<RunningServer> {
  const registry = openRegistry(config, log);
  const api = createApiServer(registry, log);
  const { host, port } = splitAddr(config.server.addr);
  let bound;
  try {
    bound = await api.listen(host, port);
  } catch (err) {
    await registry.close();
    throw err;
  }
  log.info({ addr: `${bound.host}:${bound.port}`, dataDir: config.storage.dataDir, storage: registry.driver.name, metadata: registry.metadata.name }, 'wharf listening');
  void registry.purgeUploads();
  return {
    host: bound.host,
    port: bound.port,
    async stop() {
      await api.close();
      await registry.close();
    },
  };
}
