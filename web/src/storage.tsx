// Admins: usage per repository with quotas (paged by name), totals and free space, GC, webhook deliveries with
// their dead letters and retry.
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
  /** The `after` of the next page, or null on the last one. */
  next: string | null;
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

const state = (e: Hooks['endpoints'][number]): string => (e.dead > 0 ? 'dead letters' : e.pending > 0 ? 'sending' : 'all delivered');

export function StoragePage() {
  const [data, setData] = useState<Storage | null>(null);
  const [hooks, setHooks] = useState<Hooks | null>(null);
  const [dry, setDry] = useState<GcReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);
  const [note, setNote] = useState<string | null>(null);
  // Each page shown so far (its `after`, and the position of its first repository); the last is the current one.
  const [cursors, setCursors] = useState<{ after?: string; first: number }[]>([{ first: 1 }]);
  const { after, first } = cursors[cursors.length - 1]!;
  const loadHooks = async () => {
    try {
      setHooks(await api<Hooks>('GET', 'webhooks'));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const load = async () => {
    try {
      setData(await api<Storage>('GET', after === undefined ? 'storage' : `storage?after=${encodeURIComponent(after)}`));
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => void load(), [after]);
  useEffect(() => void loadHooks(), []);
  // While deliveries are queued, watch them go out (the dispatcher sends them in the background).
  const sending = hooks?.endpoints.some((e) => e.pending > 0) ?? false;
  useEffect(() => {
    if (!sending) return;
    const timer = setTimeout(() => void loadHooks(), 1000);
    return () => clearTimeout(timer);
  }, [hooks]);
  const gc = async (dryRun: boolean) => {
    try {
      const r = await api<GcReport>('POST', 'gc', { dryRun });
      if (dryRun) setDry(r);
      else {
        setNote(`GC freed ${bytes(r.bytesFreed)} (${r.blobsDeleted} blobs, ${r.manifestsDeleted} manifests)`);
        await load();
        await loadHooks();
      }
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const retry = async (endpoint?: string) => {
    try {
      const r = await api<{ requeued: number }>('POST', 'webhooks/retry', endpoint === undefined ? {} : { endpoint });
      setNote(`Requeued ${r.requeued} ${r.requeued === 1 ? 'delivery' : 'deliveries'}`);
      await loadHooks();
    } catch (err) {
      setError((err as Error).message);
    }
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
            <table class="list" aria-label="Usage per repository">
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
          {(data.next !== null || cursors.length > 1) && (
            <nav class="row pager" aria-label="Repository pages">
              <button type="button" disabled={cursors.length === 1} onClick={() => setCursors(cursors.slice(0, -1))}>
                Previous
              </button>
              <span>
                Repositories {first}–{first + data.repositories.length - 1} of {data.totals.repositories}
              </span>
              <button type="button" disabled={data.next === null} onClick={() => setCursors([...cursors, { after: data.next!, first: first + data.repositories.length }])}>
                Next
              </button>
            </nav>
          )}
        </>
      )}
      {hooks && (
        <section>
          <h2>Webhook deliveries</h2>
          {hooks.endpoints.length === 0 ? <p class="muted">No webhook endpoints configured.</p> : (
            <div class="scroll">
              <table class="list" aria-label="Webhook endpoints">
                <thead><tr><th>Endpoint</th><th>Pending</th><th>Dead letters</th><th>State</th><th><span class="sr">Actions</span></th></tr></thead>
                <tbody>
                  {hooks.endpoints.map((e) => (
                    <tr key={e.endpoint} data-endpoint={e.endpoint}>
                      <td>{e.endpoint}</td>
                      <td>{e.pending}</td>
                      <td>{e.dead}</td>
                      <td class="state">{state(e)}</td>
                      <td>
                        {e.dead > 0 && (
                          <button type="button" aria-label={`Retry dead letters of ${e.endpoint}`} onClick={() => void retry(e.endpoint)}>
                            Retry
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {hooks.dead.length > 0 && (
            <>
              <h3>Dead letters</h3>
              <div class="scroll">
                <table class="list" aria-label="Dead letters">
                  <thead><tr><th>Endpoint</th><th>Repository</th><th>Event</th><th>Attempts</th><th>Last error</th><th>Created</th></tr></thead>
                  <tbody>
                    {hooks.dead.map((d) => (
                      <tr key={`${d.endpoint}/${d.eventId}`}>
                        <td>{d.endpoint}</td>
                        <td>{d.repository}</td>
                        <td>{d.eventId}</td>
                        <td>{d.attempts}</td>
                        <td>{d.lastError}</td>
                        <td>{ago(d.createdAt)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              <button type="button" onClick={() => void retry()}>Retry all dead letters</button>
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
