// wharf status: one look at a registry. Two sources, each for what only it knows:
// - the data directory (the same config as `wharf serve`): content counts, storage used and free, the webhook
//   outbox, the last GC pass, the TLS certificate on disk. Read-only, and right whether or not the server runs.
// - the running server: readiness per check from the metrics listener's /readyz (the only place with details), and
//   login lockouts from the admin API when admin credentials are in the environment (never prompted: scripts run
//   this).
import { X509Certificate } from 'node:crypto';
import { readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Config } from '../../config/schema.js';
import { createMetadataStore } from '../../registry/registry.js';
import { directorySlug } from '../../tls/acme.js';
import { dataOptions, loadCommandConfig, loadExistingRegistry } from '../config-options.js';
import { readServerState, type ServerState } from '../server-state.js';
import { wharfVersion } from '../version.js';
import { basic, call, type Lock } from './auth.js';
import { formatStatus, lastGcPass, type StatusReport } from './status-report.js';

export const statusUsage = `wharf status [--json | --ready] [--url URL] [--metrics-url URL] [--config FILE] [--data-dir DIR]
                                 Readiness, listeners, storage, content, last GC, webhooks, TLS expiry, lockouts`;

export const statusHelp = `usage:
  ${statusUsage}

Reads the data directory named by the same configuration as \`wharf serve\` (so give it the same --config /
WHARF_* environment or --data-dir). The running server leaves its listen addresses there (wharf-server.json);
status asks it for readiness per check (GET /readyz on its metrics listener) and, when WHARF_ADMIN_USER and
WHARF_ADMIN_PASSWORD are set, for login lockouts (admin API).
  --json             one JSON object (for scripts); the same fields as the text
  --ready            only the server's readiness, without reading the database (container healthchecks)
  --url URL          the registry API, for the admin API (default: $WHARF_URL, else where the server listens)
  --metrics-url URL  the metrics listener (default: where the server listens)
Exit status: 0 when the server answers and is ready, 1 when it is not running or not ready, 2 on usage errors.`;

const probeTimeoutMs = 3000;

/** A listen address as a URL this host can reach: a wildcard bind is reached on loopback. */
export function localUrl(addr: string, scheme: 'http' | 'https'): string {
  const i = addr.lastIndexOf(':');
  let host = addr.slice(0, i);
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  if (host === '[::]' || host === '::') host = '[::1]';
  return `${scheme}://${host}:${addr.slice(i + 1)}`;
}

async function readiness(state: ServerState | null, metricsAddr: string | null, metricsUrl: string | undefined, apiUrl: string): Promise<StatusReport['server']> {
  // Without the metrics listener the public /readyz still says ready or not, only without the checks.
  const url = metricsUrl ?? (metricsAddr ? localUrl(metricsAddr, 'http') : apiUrl);
  const known = { pid: state?.pid ?? null, version: state?.version ?? null, startedAt: state?.startedAt ?? null, probed: `${url}/readyz` };
  try {
    const res = await fetch(new URL('/readyz', url), { signal: AbortSignal.timeout(probeTimeoutMs) });
    const body = (await res.json()) as { status?: string; checks?: StatusReport['server']['checks'] };
    return { ...known, running: true, ready: res.status === 200 && body.status === 'ready', checks: body.checks ?? null, error: null };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    return { ...known, running: false, ready: false, checks: null, error: `no answer: ${cause}` };
  }
}

async function lockouts(base: string): Promise<StatusReport['lockouts']> {
  const user = process.env.WHARF_ADMIN_USER;
  const password = process.env.WHARF_ADMIN_PASSWORD;
  if (!user || password === undefined) return { locks: null, note: 'set WHARF_ADMIN_USER and WHARF_ADMIN_PASSWORD to list them (admin API)' };
  try {
    const { locks } = (await call(base, 'GET', '/admin/v1/auth/locks', basic(user, password))) as { locks: Lock[] };
    return { locks, note: null };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { locks: null, note: cause ? `cannot reach ${base}: ${cause}` : (err as Error).message };
  }
}

/** The leaf of the certificate Wharf serves: the configured file, or the one ACME keeps in the data directory. */
async function certificate(config: Config): Promise<StatusReport['tls']> {
  const { mode } = config.tls;
  if (mode === 'none') return { mode, certificate: null, error: null };
  const path =
    mode === 'files' ? config.tls.certificate! : join(config.storage.dataDir, 'acme', directorySlug(config.tls.acme.directoryUrl), 'cert.pem');
  try {
    const cert = new X509Certificate(await readFile(path));
    const notAfter = new Date(cert.validTo);
    return {
      mode,
      certificate: { path, subject: cert.subject.replace(/\n/g, ', '), names: cert.subjectAltName ?? null, notAfter: notAfter.toISOString(), daysLeft: Math.floor((notAfter.getTime() - Date.now()) / 86_400_000) },
      error: null,
    };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? (mode === 'acme' ? 'not obtained yet' : 'file missing') : (err as Error).message;
    return { mode, certificate: null, error: `${path}: ${reason}` };
  }
}

async function filesystem(dataDir: string): Promise<StatusReport['storage']['filesystem']> {
  const fs = await statfs(dataDir);
  return { path: dataDir, sizeBytes: fs.blocks * fs.bsize, freeBytes: fs.bavail * fs.bsize, usedBytes: (fs.blocks - fs.bfree) * fs.bsize };
}

/** Disk taken by the database beside the blobs: the SQLite file with its WAL and shared-memory files. */
async function databaseBytes(config: Config): Promise<number | null> {
  const path = config.metadata.sqlite.path;
  if (!path || path === ':memory:') return null;
  const sizes = await Promise.all([path, `${path}-wal`, `${path}-shm`].map((p) => stat(p).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** Where the server says it listens; the configuration's addresses when no server left a note (not running). */
async function whereServing(config: Config, apiOverride: string | undefined) {
  const state = await readServerState(config.storage.dataDir);
  const tlsOn = state?.tls ?? config.tls.mode !== 'none';
  const listeners: StatusReport['listeners'] = {
    api: state?.api ?? config.server.addr,
    tls: tlsOn,
    metrics: state ? state.metrics : config.metrics.enabled ? config.metrics.addr : null,
    plainHttp: state ? state.plainHttp : tlsOn && config.tls.http.enabled ? config.tls.http.addr : null,
  };
  const apiUrl = apiOverride ?? process.env.WHARF_URL ?? localUrl(listeners.api, tlsOn ? 'https' : 'http');
  return { state, listeners, apiUrl };
}

export async function collectStatus(config: Config, urls: { api?: string; metrics?: string }): Promise<StatusReport> {
  const { state, listeners, apiUrl } = await whereServing(config, urls.api);
  const metadata = createMetadataStore(config);
  try {
    const [server, stats, deliveries, gcTotals, tls, fsInfo, dbBytes, openUploads, locks] = await Promise.all([
      readiness(state, listeners.metrics, urls.metrics, apiUrl),
      metadata.stats(),
      metadata.deliveryStats(),
      metadata.gcTotals(),
      certificate(config),
      filesystem(config.storage.dataDir),
      databaseBytes(config),
      metadata.countUploads(),
      lockouts(apiUrl),
    ]);
    let tags = 0;
    for (let last: string | undefined; ; ) {
      const page = await metadata.listRepositoryUsage({ last, limit: 1000 });
      for (const r of page) tags += r.tags;
      if (page.length < 1000) break;
      last = page[page.length - 1]!.name;
    }
    const configured = config.webhooks.endpoints.map((e) => e.name);
    const names = [...new Set([...configured, ...deliveries.map((d) => d.endpoint)])].sort();
    const endpoints = names.map((name) => {
      const row = deliveries.find((d) => d.endpoint === name);
      return { name, configured: configured.includes(name), pending: row?.pending ?? 0, dead: row?.dead ?? 0 };
    });
    return {
      version: wharfVersion(),
      dataDir: config.storage.dataDir,
      server,
      listeners,
      storage: { driver: config.storage.driver, contentBytes: stats.blobBytes, databaseBytes: dbBytes, filesystem: fsInfo },
      content: { repositories: stats.repositories, tags, manifests: stats.manifests, blobs: stats.blobs, openUploads },
      gc: {
        enabled: config.gc.enabled,
        intervalMs: config.gc.interval,
        runs: gcTotals.runs,
        freedBytes: gcTotals.freedBytes,
        last: lastGcPass(gcTotals),
      },
      webhooks: {
        pending: endpoints.reduce((n, e) => n + e.pending, 0),
        dead: endpoints.reduce((n, e) => n + e.dead, 0),
        endpoints,
      },
      tls,
      lockouts: locks,
    };
  } finally {
    await metadata.close();
  }
}

export async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...dataOptions,
      json: { type: 'boolean', default: false },
      ready: { type: 'boolean', default: false },
      url: { type: 'string' },
      'metrics-url': { type: 'string' },
    },
  });
  if (values.ready) {
    // The container healthcheck: the server's readiness alone, without opening the database.
    const config = await loadCommandConfig(values);
    const { state, listeners, apiUrl } = await whereServing(config, values.url);
    const server = await readiness(state, listeners.metrics, values['metrics-url'], apiUrl);
    const failing = Object.entries(server.checks ?? {}).filter(([, c]) => !c.ok).map(([name, c]) => `${name}: ${c.lastError}`);
    process.stdout.write(server.ready ? 'ready\n' : `not ready: ${server.error ?? (failing.join('; ') || 'unready')}\n`);
    return server.ready ? 0 : 1;
  }
  const config = await loadExistingRegistry('status', values);
  const report = await collectStatus(config, { api: values.url, metrics: values['metrics-url'] });
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatStatus(report));
  return report.server.running && report.server.ready ? 0 : 1;
}
