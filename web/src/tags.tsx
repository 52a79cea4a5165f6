// A repository's tags: sizes, times, platforms, badges; untag, delete a manifest (naming the tags that go with it),
// delete the repository. Delete controls appear only when the policy lets the user delete here.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, enc, type Session } from './api';
import { ago, bytes, short } from './format';
import { Badges, Confirm, CopyButton, ErrorBox, Platforms, PullCommands } from './ui';

interface Tag {
  name: string;
  digest: string;
  mediaType: string;
  size: number;
  pushedAt: number;
  pulledAt: number | null;
  platforms: { os: string; architecture: string; variant?: string }[];
  referrers: { signed: boolean; sbom: boolean; attestations: number };
  sharedWith: string[];
}
interface TagList {
  repository: string;
  actions: string[];
  tags: Tag[];
}
type Pending = { kind: 'untag'; tags: string[] } | { kind: 'manifest'; tag: Tag } | { kind: 'repository' };

const sorters: Record<string, (a: Tag, b: Tag) => number> = {
  name: (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  size: (a, b) => a.size - b.size,
  pushed: (a, b) => a.pushedAt - b.pushedAt,
  pulled: (a, b) => (a.pulledAt ?? 0) - (b.pulledAt ?? 0),
};

export function Tags({ repository, session }: { repository: string; session: Session }) {
  const [data, setData] = useState<TagList | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [pending, setPending] = useState<Pending | null>(null);
  const [sort, setSort] = useState<[string, boolean]>(['name', false]);
  const [note, setNote] = useState<string | null>(null);

  const load = async () => {
    try {
      setData(await api<TagList>('GET', `repositories/${enc(repository)}/tags`));
      setError(null);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  useEffect(() => {
    setData(null);
    setSelected(new Set());
    void load();
  }, [repository]);

  const tags = useMemo(() => {
    if (!data) return [];
    const list = [...data.tags].sort(sorters[sort[0]]);
    return sort[1] ? list.reverse() : list;
  }, [data, sort]);
  const mayDelete = data?.actions.includes('delete') ?? false;

  const run = async (p: Pending) => {
    try {
      if (p.kind === 'untag') {
        const done: string[] = [];
        try {
          for (const t of p.tags) {
            await api('DELETE', `repositories/${enc(repository)}/tags/${encodeURIComponent(t)}`);
            done.push(t);
          }
        } finally {
          // A refusal half-way still shows what did go, and only what is left stays selected.
          if (done.length) setNote(`Untagged ${done.join(', ')}`);
          setSelected(new Set(p.tags.filter((t) => !done.includes(t) && selected.has(t))));
          await load();
        }
        return;
      } else if (p.kind === 'manifest') {
        const r = await api<{ tags: string[] }>('DELETE', `repositories/${enc(repository)}/manifests/${p.tag.digest}`);
        setNote(`Deleted ${short(p.tag.digest)} with tags ${r.tags.join(', ')}`);
      } else {
        await api('DELETE', `repositories/${enc(repository)}`);
        location.hash = '#/';
        return;
      }
      setSelected(new Set());
      await load();
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const allSelected = tags.length > 0 && tags.every((t) => selected.has(t.name));
  const toggleAll = () => setSelected(allSelected ? new Set() : new Set(tags.map((t) => t.name)));
  const toggle = (name: string) => {
    const next = new Set(selected);
    if (next.has(name)) next.delete(name);
    else next.add(name);
    setSelected(next);
  };
  const header = (key: string, label: string) => (
    <th aria-sort={sort[0] === key ? (sort[1] ? 'descending' : 'ascending') : 'none'}>
      <button type="button" class="sort" onClick={() => setSort([key, sort[0] === key ? !sort[1] : false])}>
        {label}
      </button>
    </th>
  );

  return (
    <main>
      <p>
        <a href="#/">Repositories</a> /
      </p>
      <div class="row">
        <h1>{repository}</h1>
        {mayDelete && (
          <button type="button" class="danger" onClick={() => setPending({ kind: 'repository' })}>
            Delete repository
          </button>
        )}
      </div>
      <ErrorBox error={error} />
      {note && (
        <p class="note" role="status">
          {note}
        </p>
      )}
      <PullCommands host={session.publicHost} repository={repository} reference={tags[0]?.name ?? 'latest'} />
      {data && (
        <>
          {mayDelete && (
            <div class="row">
              <button type="button" disabled={selected.size === 0} onClick={() => setPending({ kind: 'untag', tags: tags.map((t) => t.name).filter((n) => selected.has(n)) })}>
                Untag selected ({selected.size})
              </button>
            </div>
          )}
          <div class="scroll">
            <table class="list">
              <thead>
                <tr>
                  {mayDelete && (
                    <th>
                      <input type="checkbox" aria-label="Select all tags" checked={allSelected} onChange={toggleAll} />
                    </th>
                  )}
                  {header('name', 'Tag')}
                  <th>Digest</th>
                  {header('size', 'Size')}
                  {header('pushed', 'Pushed')}
                  {header('pulled', 'Pulled')}
                  <th>Platforms</th>
                  <th>Referrers</th>
                  {mayDelete && <th>Actions</th>}
                </tr>
              </thead>
              <tbody>
                {tags.map((t) => (
                  <tr key={t.name} data-tag={t.name}>
                    {mayDelete && (
                      <td>
                        <input type="checkbox" aria-label={`Select ${t.name}`} checked={selected.has(t.name)} onChange={() => toggle(t.name)} />
                      </td>
                    )}
                    <td>
                      <a href={`#/i/${repository}@${t.name}`}>{t.name}</a>
                    </td>
                    <td>
                      <code title={t.digest}>{short(t.digest)}</code> <CopyButton text={t.digest} label={`Copy digest of ${t.name}`} />
                    </td>
                    <td>{bytes(t.size)}</td>
                    <td>{ago(t.pushedAt)}</td>
                    <td>{ago(t.pulledAt)}</td>
                    <td>
                      <Platforms list={t.platforms} />
                    </td>
                    <td>
                      <Badges r={t.referrers} />
                    </td>
                    {mayDelete && (
                      <td class="actions">
                        <button type="button" onClick={() => setPending({ kind: 'untag', tags: [t.name] })} aria-label={`Untag ${t.name}`}>
                          Untag
                        </button>
                        <button type="button" class="danger" onClick={() => setPending({ kind: 'manifest', tag: t })} aria-label={`Delete manifest of ${t.name}`}>
                          Delete manifest
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {tags.length === 0 && <p class="muted">No tags.</p>}
        </>
      )}
      {pending && (
        <Confirm
          title={pending.kind === 'untag' ? 'Remove tags' : pending.kind === 'manifest' ? 'Delete manifest' : 'Delete repository'}
          action="Delete"
          onConfirm={() => void run(pending)}
          onClose={() => setPending(null)}
        >
          {pending.kind === 'untag' && <p>Remove the tag{pending.tags.length > 1 ? 's' : ''} {pending.tags.join(', ')}? The image stays under its digest and other tags.</p>}
          {pending.kind === 'manifest' && (
            <p>
              Delete manifest <code>{short(pending.tag.digest)}</code>? These tags go with it: <strong>{[pending.tag.name, ...pending.tag.sharedWith].join(', ')}</strong>.
            </p>
          )}
          {pending.kind === 'repository' && <p>Delete {repository} with all its tags and manifests?</p>}
        </Confirm>
      )}
    </main>
  );
}
