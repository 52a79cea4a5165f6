// Starts Wharf in this process on a free loopback port with a fresh data dir, for HTTP-level tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { validateConfig, resolvePaths } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { AuthDeps } from '../../src/auth/controller.js';
import { startServer } from '../../src/cli/serve.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

export interface TestServer {
  readonly url: string;
  readonly dataDir: string;
  /** http://127.0.0.1:PORT of the metrics listener (/metrics, /healthz, /readyz). */
  readonly metricsUrl: string;
  close(): Promise<void>;
}

/** `auth`: the clock and the bcrypt check the server's auth uses (time windows without real waits; counted checks). */
export async function startTestServer(overrides: DeepPartial<ConfigInput> = {}, auth: Pick<AuthDeps, 'now' | 'verifyPassword'> = {}): Promise<TestServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'wharf-test-'));
  const input = {
    ...overrides,
    server: { ...overrides.server, addr: '127.0.0.1:0' },
    storage: { ...overrides.storage, dataDir },
    metrics: { ...overrides.metrics, addr: '127.0.0.1:0' },
    log: { level: process.env.WHARF_TEST_LOG ?? 'silent', ...overrides.log },
  };
  const config = resolvePaths(validateConfig(input, 'test'));
  const server = await startServer(config, pino({ level: config.log.level }), auth);
  return {
    url: `http://127.0.0.1:${server.port}`,
    dataDir,
    metricsUrl: `http://127.0.0.1:${server.metricsPort}`,
    async close() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
