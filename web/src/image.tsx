// One manifest: an image's config, history next to layer sizes, layers; an index's children; referrers; tags.
import { useEffect, useState } from 'preact/hooks';
import { api, enc, type Session } from './api';
import { ago, bytes, platform, short } from './format';
import { Confirm, CopyButton, ErrorBox, PullCommands } from './ui';

interface Layer {
  digest: string;
  mediaType: string;
  size: number;
}
interface Child {
  digest: string;
  mediaType: string;
  size: number;
  platform: { os: string; architecture: string; variant?: string } | null;
  artifactType?: string;
}
interface Image {
  kind: 'image' | 'index';
  repository: string;
  digest: string;
  mediaType: string;
  artifactType: string | null;
  size: number;
  pushedAt: number;
  actions: string[];
  tags: string[];
  referrers: Child[];
  children?: Child[];
  configDigest?: string | null;
  config?: { os: string | null; architecture: string | null; created: string | null; env: string[]; entrypoint: string[] | null; cmd: string[] | null; workingDir: string | null; user: string | null; exposedPorts: string[]; labels: Record<string, string> };
  layers?: Layer[];
  totalSize?: number;
  history?: { createdBy: string; created: string | null; layer: Layer | null }[];
}

/** Manifests an image points to or is pointed at by: an index's children, referrers. */
function Descriptors({ label, first, repository, items, describe }: { label: string; first: string; repository: string; items: Child[]; describe: (c: Child) => string }) {
  return (
    <table class="list" aria-label={label}>
      <thead>
        <tr>
          <th>{first}</th>
          <th>Digest</th>
          <th>Size</th>
        </tr>
      </thead>
      <tbody>
        {items.map((c) => (
          <tr key={c.digest}>
            <td>{describe(c)}</td>
            <td>
              <a href={`#/i/${repository}@${c.digest}`}>
                <code>{short(c.digest)}</code>
              </a>
            </td>
            <td>{bytes(c.size)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const list = (v: string[] | null | undefined) => (v && v.length ? JSON.stringify(v) : '–');

export function ImageView({ repository, reference, session }: { repository: string; reference: string; session: Session }) {
  const [img, setImg] = useState<Image | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirm, setConfirm] = useState(false);
  useEffect(() => {
    setImg(null);
    api<Image>('GET', `repositories/${enc(repository)}/manifests/${encodeURIComponent(reference)}`).then(setImg, (e: Error) => setError(e.message));
  }, [repository, reference]);
  const remove = async () => {
    try {
      await api('DELETE', `repositories/${enc(repository)}/manifests/${img!.digest}`);
      location.hash = `#/r/${repository}`;
    } catch (err) {
      setError((err as Error).message);
    }
  };
  return (
    <main>
      <p>
        <a href="#/">Repositories</a> / <a href={`#/r/${repository}`}>{repository}</a> /
      </p>
      <h1>
        {repository}
        {reference.includes(':') ? '@' : ':'}
        {reference.includes(':') ? short(reference) : reference}
      </h1>
      <ErrorBox error={error} />
      {img && (
        <>
          <dl class="facts">
            <dt>Digest</dt>
            <dd>
              <code>{img.digest}</code> <CopyButton text={img.digest} label="Copy digest" />
            </dd>
            <dt>Media type</dt>
            <dd>{img.mediaType}</dd>
            {img.artifactType && (
              <>
                <dt>Artifact type</dt>
                <dd>{img.artifactType}</dd>
              </>
            )}
            <dt>Size</dt>
            <dd>{bytes(img.totalSize ?? img.size)}</dd>
            <dt>Pushed</dt>
            <dd>{ago(img.pushedAt)}</dd>
            <dt>Tags of this digest</dt>
            <dd data-testid="shared-tags">{img.tags.length ? img.tags.join(', ') : 'none'}</dd>
          </dl>
          <PullCommands host={session.publicHost} repository={repository} reference={reference} />
          {img.actions.includes('delete') && (
            <button type="button" class="danger" onClick={() => setConfirm(true)}>
              Delete manifest
            </button>
          )}
          {img.kind === 'index' && (
            <section>
              <h2>Platforms</h2>
              <Descriptors label="Platforms" first="Platform" repository={repository} items={img.children!} describe={(c) => (c.platform ? platform(c.platform) : c.artifactType ?? 'unknown')} />
            </section>
          )}
          {img.kind === 'image' && img.config && (
            <>
              <section>
                <h2>Config</h2>
                <dl class="facts">
                  <dt>Platform</dt>
                  <dd>{img.config.os ? `${img.config.os}/${img.config.architecture}` : '–'}</dd>
                  <dt>Entrypoint</dt>
                  <dd><code>{list(img.config.entrypoint)}</code></dd>
                  <dt>Cmd</dt>
                  <dd><code>{list(img.config.cmd)}</code></dd>
                  <dt>Working dir</dt>
                  <dd>{img.config.workingDir ?? '–'}</dd>
                  <dt>User</dt>
                  <dd>{img.config.user ?? '–'}</dd>
                  <dt>Exposed ports</dt>
                  <dd>{img.config.exposedPorts.join(', ') || '–'}</dd>
                  <dt>Env</dt>
                  <dd>{img.config.env.map((e) => <code class="block" key={e}>{e}</code>)}</dd>
                  <dt>Labels</dt>
                  <dd>{Object.entries(img.config.labels).map(([k, v]) => <code class="block" key={k}>{k}={v}</code>)}</dd>
                </dl>
              </section>
              <section>
                <h2>History</h2>
                <table class="list history" aria-label="History">
                  <thead>
                    <tr>
                      <th>Step</th>
                      <th>Layer size</th>
                    </tr>
                  </thead>
                  <tbody>
                    {img.history!.map((h, i) => (
                      <tr key={i}>
                        <td>
                          <code class="step">{h.createdBy.replace(/^\/bin\/sh -c #\(nop\)\s*/, '').trim()}</code>
                        </td>
                        <td>{h.layer ? bytes(h.layer.size) : '–'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
              <section>
                <h2>Layers</h2>
                <table class="list" aria-label="Layers">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>Digest</th>
                      <th>Size</th>
                    </tr>
                  </thead>
                  <tbody>
                    {img.layers!.map((l, i) => (
                      <tr key={`${i}${l.digest}`}>
                        <td>{i + 1}</td>
                        <td>
                          <code title={l.digest}>{short(l.digest)}</code>
                        </td>
                        <td>{bytes(l.size)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </section>
            </>
          )}
          <section>
            <h2>Referrers</h2>
            {img.referrers.length === 0 ? (
              <p class="muted">No signatures, SBOMs or attestations.</p>
            ) : (
              <Descriptors label="Referrers" first="Artifact type" repository={repository} items={img.referrers} describe={(r) => r.artifactType ?? r.mediaType} />
            )}
          </section>
          {confirm && (
            <Confirm title="Delete manifest" action="Delete" onConfirm={() => void remove()} onClose={() => setConfirm(false)}>
              <p>
                Delete manifest <code>{short(img.digest)}</code>? These tags go with it: <strong>{img.tags.join(', ') || 'none'}</strong>.
              </p>
            </Confirm>
          )}
        </>
      )}
    </main>
  );
}
