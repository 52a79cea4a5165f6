// The repository list: search as you type, sort, pages, all done by the server.
import { useEffect, useState } from 'preact/hooks';
import { api } from './api';
import { ago, bytes } from './format';
import { ErrorBox } from './ui';

interface Repo {
  name: string;
  bytes: number;
  tags: number;
  pushedAt: number | null;
  pulledAt: number | null;
}
interface Listing {
  total: number;
  page: number;
  pageSize: number;
  repositories: Repo[];
}

const columns: [string, string][] = [
  ['name', 'Name'],
  ['tags', 'Tags'],
  ['size', 'Size'],
  ['pushed', 'Last push'],
  ['pulled', 'Last pull'],
];

export function Repositories() {
  const [q, setQ] = useState('');
  const [sort, setSort] = useState('name');
  const [order, setOrder] = useState<'asc' | 'desc'>('asc');
  const [page, setPage] = useState(1);
  const [data, setData] = useState<Listing | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    const timer = setTimeout(async () => {
      try {
        const params = new URLSearchParams({ q, sort, order, page: String(page), pageSize: '50' });
        const listing = await api<Listing>('GET', `repositories?${params}`);
        if (live) {
          setData(listing);
          setError(null);
        }
      } catch (err) {
        if (live) setError((err as Error).message);
      }
    }, q ? 150 : 0);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [q, sort, order, page]);

  const sortBy = (key: string) => {
    if (key === sort) setOrder(order === 'asc' ? 'desc' : 'asc');
    else {
      setSort(key);
      setOrder(key === 'name' ? 'asc' : 'desc');
    }
    setPage(1);
  };
  const pages = data ? Math.max(1, Math.ceil(data.total / data.pageSize)) : 1;
  let lastNamespace = '';
  return (
    <main>
      <div class="row">
        <h1>Repositories</h1>
        <input type="search" class="grow" placeholder="Search repositories" aria-label="Search repositories" value={q} onInput={(e) => {
          setQ(e.currentTarget.value);
          setPage(1);
        }} />
      </div>
      <ErrorBox error={error} />
      {data && (
        <>
          <p class="muted" aria-live="polite">
            {data.total} repositor{data.total === 1 ? 'y' : 'ies'}
          </p>
          <div class="scroll">
            <table class="list">
              <thead>
                <tr>
                  {columns.map(([key, label]) => (
                    <th key={key} aria-sort={sort === key ? (order === 'asc' ? 'ascending' : 'descending') : 'none'}>
                      <button type="button" class="sort" onClick={() => sortBy(key)}>
                        {label} {sort === key ? (order === 'asc' ? '▲' : '▼') : ''}
                      </button>
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.repositories.map((r) => {
                  const slash = r.name.lastIndexOf('/');
                  const ns = slash === -1 ? '' : r.name.slice(0, slash + 1);
                  const header = sort === 'name' && ns !== lastNamespace && ns !== '';
                  lastNamespace = ns;
                  return [
                    header && (
                      <tr class="group" key={`ns:${ns}`}>
                        <th colSpan={5} scope="rowgroup">
                          {ns}…
                        </th>
                      </tr>
                    ),
                    <tr key={r.name}>
                      <td>
                        <a href={`#/r/${r.name}`}>
                          <span class="muted">{ns}</span>
                          {r.name.slice(ns.length)}
                        </a>
                      </td>
                      <td>{r.tags}</td>
                      <td>{bytes(r.bytes)}</td>
                      <td>{ago(r.pushedAt)}</td>
                      <td>{ago(r.pulledAt)}</td>
                    </tr>,
                  ];
                })}
              </tbody>
            </table>
          </div>
          <nav class="row pager" aria-label="Pages">
            <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
              Previous
            </button>
            <span>
              Page {page} of {pages}
            </span>
            <button type="button" disabled={page >= pages} onClick={() => setPage(page + 1)}>
              Next
            </button>
          </nav>
        </>
      )}
    </main>
  );
}
