// Admins: usage per repository with quotas, totals and free space, GC, webhook deliveries.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { ago, bytes } from './format';
import { Confirm, ErrorBox } from './ui';

interface GcReport {
  dryRun: boolean;
  manifestsDeleted: number;
  blobsDeleted: number;
  bytesFreed: number;
  durationMs: number;
}
interface Storage {
  totals: { repositories: number; manifests: number; blobs: number; blobBytes: number };
  disk: { total: number; free: number } | null;
  lastGc: { at: number; trigger: 'schedule' | 'cli' | 'ui' | null; report: GcReport; runs: number; totalBytesFreed: number } | null;
  repositories: { name: string; bytes: number; manifests: number; tags: number; quota: number | null }[];
}
interface Hooks {
  endpoints: { endpoint: string; pending: number; dead: number }[];
  dead: { endpoint: string; eventId: number; repository: string; attempts: number; lastError: string | null; createdAt: number }[];
}

const triggers = { schedule: 'scheduled', cli: 'wharf gc', ui: 'from this UI' } as const;

function lastGcText(last: NonNullable<Storage['lastGc']>): string {
  const r = last.report;
  return (
    `${ago(last.at)}${last.trigger ? ` (${triggers[last.trigger]})` : ''}: freed ${bytes(r.bytesFreed)}, ` +
    `${r.blobsDeleted} blobs and ${r.manifestsDeleted} manifests deleted in ${(r.durationMs / 1000).toFixed(1)} s; ` +
    `${bytes(last.totalBytesFreed)} over ${last.runs} passes`
  );
}

export function StoragePage() {
  const [data, setData] = useState<Storage | null>(null);
  const [hooks, setHooks] = useState<Hooks | null>(null);
  const [dry, setDry] = useState<GcReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  const load = async () => {
    try {
      setData(await api<Storage>('GET', 'storage'));
      setHooks(await api<Hooks>('GET', 'webhooks'));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => void load(), []);
  const gc = async (dryRun: boolean) => {
    try {
      const r = await api<GcReport>('POST', 'gc', { dryRun });
      if (dryRun) setDry(r);
      else {
        setNote(`GC freed ${bytes(r.bytesFreed)} (${r.blobsDeleted} blobs, ${r.manifestsDeleted} manifests)`);
        await load();
      }
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const retry = async () => {
    const r = await api<{ requeued: number }>('POST', 'webhooks/retry', {});
    setNote(`Requeued ${r.requeued} deliveries`);
    await load();
  };
  return (
    <main>
      <h1>Storage</h1>
      <ErrorBox error={error} />
      {note && <p class="note" role="status">{note}</p>}
      {data && (
        <>
          <dl class="facts">
            <dt>Stored</dt>
            <dd>
              {bytes(data.totals.blobBytes)} in {data.totals.blobs} blobs, {data.totals.manifests} manifests, {data.totals.repositories} repositories
            </dd>
            <dt>Disk</dt>
            <dd>{data.disk ? `${bytes(data.disk.free)} free of ${bytes(data.disk.total)}` : 'unknown'}</dd>
            <dt>Last GC</dt>
            <dd>{data.lastGc ? lastGcText(data.lastGc) : 'never'}</dd>
            <dt>Next GC would reclaim</dt>
            <dd>{dry ? `${bytes(dry.bytesFreed)} (${dry.blobsDeleted} blobs, ${dry.manifestsDeleted} manifests)` : 'run a dry run to see'}</dd>
          </dl>
          <div class="row">
            <button type="button" onClick={() => void gc(true)}>GC dry run</button>
            <button type="button" class="danger" onClick={() => setConfirm(true)}>Run GC now</button>
          </div>
          <h2>Usage per repository</h2>
          <div class="scroll">
            <table class="list">
              <thead>
                <tr><th>Repository</th><th>Size</th><th>Quota</th><th>Manifests</th><th>Tags</th></tr>
              </thead>
              <tbody>
                {data.repositories.map((r) => (
                  <tr key={r.name}>
                    <td><a href={`#/r/${r.name}`}>{r.name}</a></td>
                    <td>{bytes(r.bytes)}</td>
                    <td>{r.quota === null ? 'none' : `${bytes(r.quota)} (${Math.round((100 * r.bytes) / r.quota)}%)`}</td>
                    <td>{r.manifests}</td>
                    <td>{r.tags}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
      {hooks && (
        <section>
          <h2>Webhook deliveries</h2>
          {hooks.endpoints.length === 0 ? <p class="muted">No deliveries queued.</p> : (
            <table class="list">
              <thead><tr><th>Endpoint</th><th>Pending</th><th>Dead letters</th></tr></thead>
              <tbody>
                {hooks.endpoints.map((e) => <tr key={e.endpoint}><td>{e.endpoint}</td><td>{e.pending}</td><td>{e.dead}</td></tr>)}
              </tbody>
            </table>
          )}
          {hooks.dead.length > 0 && (
            <>
              <table class="list">
                <thead><tr><th>Endpoint</th><th>Repository</th><th>Attempts</th><th>Last error</th></tr></thead>
                <tbody>
                  {hooks.dead.map((d) => <tr key={`${d.endpoint}${d.eventId}`}><td>{d.endpoint}</td><td>{d.repository}</td><td>{d.attempts}</td><td>{d.lastError}</td></tr>)}
                </tbody>
              </table>
              <button type="button" onClick={() => void retry()}>Retry dead letters</button>
            </>
          )}
        </section>
      )}
      {confirm && (
        <Confirm title="Run GC now" action="Run GC" onConfirm={() => void gc(false)} onClose={() => setConfirm(false)}>
          <p>Delete every blob and manifest nothing references any more (older than the grace period)?</p>
        </Confirm>
      )}
    </main>
  );
}
