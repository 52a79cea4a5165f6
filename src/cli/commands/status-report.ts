// What `wharf status` reports, and its text form. The JSON form is this object as it is: scripts read the same
// fields the text shows.
import type { GcTotals, GcTrigger } from '../../metadata/store.js';
import { formatBytes, formatDuration } from '../progress.js';
import type { Lock } from './auth.js';

export interface CheckState {
  readonly ok: boolean;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  readonly checkedAt: string | null;
}

/** The last GC pass any process ran, as the metadata store recorded it. */
export interface LastGcPass {
  /** ISO-8601 time the pass finished. */
  readonly finishedAt: string;
  /** Null for a pass recorded before the store kept what started it. */
  readonly trigger: GcTrigger | null;
  readonly durationMs: number;
  readonly manifestsDeleted: number;
  readonly blobsDeleted: number;
  readonly bytesFreed: number;
}

export function lastGcPass(t: GcTotals): LastGcPass | null {
  if (t.lastFinishedAt === null) return null;
  return {
    finishedAt: new Date(t.lastFinishedAt).toISOString(),
    trigger: t.lastTrigger,
    durationMs: t.lastDurationMs,
    manifestsDeleted: t.lastDeletedManifests,
    blobsDeleted: t.lastDeletedBlobs,
    bytesFreed: t.lastFreedBytes,
  };
}

const triggerNames: Record<GcTrigger, string> = { schedule: 'scheduled', cli: 'wharf gc', ui: 'web UI' };

export interface StatusReport {
  /** Of the wharf that ran this command (the server's own is the package it was started from). */
  readonly version: string;
  readonly dataDir: string;
  readonly server: {
    readonly running: boolean;
    /** From the note the server left in the data directory; null when none did. */
    readonly pid: number | null;
    readonly version: string | null;
    readonly startedAt: string | null;
    readonly probed: string;
    readonly ready: boolean;
    /** Per check; null when only the public /readyz (no details) could be asked. */
    readonly checks: Readonly<Record<string, CheckState>> | null;
    readonly error: string | null;
  };
  /** HOST:PORT as the running server bound them, else as configured. */
  readonly listeners: { readonly api: string; readonly tls: boolean; readonly metrics: string | null; readonly plainHttp: string | null };
  readonly storage: {
    readonly driver: string;
    /** Bytes of the distinct blobs stored (what pulls can serve). */
    readonly contentBytes: number;
    readonly databaseBytes: number | null;
    readonly filesystem: { readonly path: string; readonly sizeBytes: number; readonly freeBytes: number; readonly usedBytes: number };
  };
  readonly content: { readonly repositories: number; readonly tags: number; readonly manifests: number; readonly blobs: number; readonly openUploads: number };
  readonly gc: {
    readonly enabled: boolean;
    readonly intervalMs: number;
    /** Every pass so far, and the bytes they freed, as the metadata store counts them. */
    readonly runs: number;
    readonly freedBytes: number;
    readonly last: LastGcPass | null;
  };
  readonly webhooks: {
    readonly pending: number;
    readonly dead: number;
    readonly endpoints: readonly { readonly name: string; readonly configured: boolean; readonly pending: number; readonly dead: number }[];
  };
  readonly tls: {
    readonly mode: string;
    readonly certificate: { readonly path: string; readonly subject: string; readonly names: string | null; readonly notAfter: string; readonly daysLeft: number } | null;
    readonly error: string | null;
  };
  readonly lockouts: { readonly locks: readonly Lock[] | null; readonly note: string | null };
}

function ago(iso: string, now: number): string {
  const ms = now - Date.parse(iso);
  return ms < 0 ? 'in the future' : `${formatDuration(ms)} ago`;
}

export function formatStatus(r: StatusReport, now = Date.now()): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${`${label}:`.padEnd(14)}${value}`);
  row('wharf', r.version);
  if (!r.server.running) row('server', `not running (${r.server.error}; asked ${r.server.probed})`);
  else {
    const who = r.server.pid ? ` (wharf ${r.server.version}, pid ${r.server.pid}, up since ${r.server.startedAt})` : '';
    row('server', `${r.server.ready ? 'ready' : 'NOT READY'}${who}`);
  }
  for (const [name, c] of Object.entries(r.server.checks ?? {})) {
    const state = c.ok ? 'ok' : `FAILING (${c.consecutiveFailures} in a row): ${c.lastError}`;
    lines.push(`  ${name.padEnd(12)}${state}${c.checkedAt ? `, checked ${ago(c.checkedAt, now)}` : ''}`);
  }
  const l = r.listeners;
  row(r.server.running ? 'listening' : 'configured', `${l.api} (registry API, ${l.tls ? 'HTTPS' : 'HTTP'})`);
  if (l.metrics) lines.push(`${''.padEnd(14)}${l.metrics} (metrics, /readyz details)`);
  if (l.plainHttp) lines.push(`${''.padEnd(14)}${l.plainHttp} (plain HTTP: ACME challenges, redirects)`);
  row('data', r.dataDir);
  const fs = r.storage.filesystem;
  row(
    'storage',
    `${formatBytes(r.storage.contentBytes)} of content${r.storage.databaseBytes === null ? '' : ` + ${formatBytes(r.storage.databaseBytes)} database`}; ` +
      `filesystem ${formatBytes(fs.freeBytes)} free of ${formatBytes(fs.sizeBytes)} (${fs.sizeBytes ? Math.round((100 * fs.usedBytes) / fs.sizeBytes) : 0}% used)`,
  );
  const c = r.content;
  row('content', `${c.repositories} repositories, ${c.tags} tags, ${c.manifests} manifests, ${c.blobs} blobs, ${c.openUploads} uploads in progress`);
  const gc = r.gc.last;
  const schedule =
    (r.gc.enabled ? `every ${formatDuration(r.gc.intervalMs)}` : 'schedule off') +
    (r.gc.runs ? `; ${r.gc.runs} passes freed ${formatBytes(r.gc.freedBytes)} in all` : '');
  row(
    'last gc',
    gc
      ? `${gc.finishedAt} (${ago(gc.finishedAt, now)}${gc.trigger ? `, ${triggerNames[gc.trigger]}` : ''}): freed ${formatBytes(gc.bytesFreed)}, ` +
          `${gc.manifestsDeleted} manifests and ${gc.blobsDeleted} blobs deleted; ${schedule}`
      : `never; ${schedule}`,
  );
  row('webhooks', r.webhooks.endpoints.length ? `${r.webhooks.pending} pending, ${r.webhooks.dead} dead-lettered` : 'no endpoints');
  for (const e of r.webhooks.endpoints) lines.push(`  ${e.name}${e.configured ? '' : ' (not configured)'}: ${e.pending} pending, ${e.dead} dead`);
  if (r.tls.mode === 'none') row('tls', 'off (plain HTTP; terminate TLS in a proxy)');
  else if (r.tls.certificate) {
    const cert = r.tls.certificate;
    row('tls', `${r.tls.mode}: ${cert.names ?? cert.subject} expires ${cert.notAfter} (${cert.daysLeft < 0 ? 'EXPIRED' : `${cert.daysLeft} days left`})`);
  } else row('tls', `${r.tls.mode}: no certificate (${r.tls.error})`);
  const locks = r.lockouts.locks;
  if (locks === null) row('lockouts', `unknown (${r.lockouts.note})`);
  else {
    row('lockouts', locks.length ? `${locks.length} locked` : 'none');
    for (const lock of locks) lines.push(`  ${lock.address}${lock.user ? ` user ${lock.user}` : ''} until ${lock.lockedUntil}`);
  }
  return `${lines.join('\n')}\n`;
}
