// The web UI: a hash router over four views, a header with the theme toggle and the session. Preact (4 KB) keeps
// the first load small; esbuild bundles it at package build time into one hashed script and stylesheet.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, setCsrf, type Session } from './api';
import { ImageView } from './image';
import { Login } from './login';
import { Repositories } from './repos';
import { StoragePage } from './storage';
import { Tags } from './tags';
import { ErrorBox } from './ui';
import './styles.css';

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/');
    addEventListener('hashchange', on);
    on(); // the hash may have changed between the first render and now

    return () => removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function ThemeToggle() {
  const [theme, setTheme] = useState<string | null>(localStorage.getItem('theme'));
  useEffect(() => {
    if (theme) document.documentElement.dataset.theme = theme;
    else delete document.documentElement.dataset.theme;
  }, [theme]);
  const dark = theme ? theme === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  const flip = () => {
    const next = dark ? 'light' : 'dark';
    localStorage.setItem('theme', next);
    setTheme(next);
  };
  return (
    <button type="button" class="icon" aria-label={dark ? 'Switch to light theme' : 'Switch to dark theme'} onClick={flip}>
      {dark ? '☀' : '☾'}
    </button>
  );
}

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [error, setError] = useState<string | null>(null);
  const hash = useHash();
  const adopt = (s: Session) => {
    setCsrf(s.csrfToken);
    setSession(s);
    document.title = s.title;
  };
  useEffect(() => {
    api<Session>('GET', 'session').then(adopt, (e: Error) => setError(e.message));
  }, []);
  if (!session) return <ErrorBox error={error} />;
  const logout = async () => {
    await api('DELETE', 'session');
    adopt(await api<Session>('GET', 'session'));
    location.hash = '#/';
  };
  let view;
  if (hash === '#/login' || (!session.mayBrowse && session.user === null && session.canLogin)) {
    view = <Login onLogin={(s) => {
      adopt(s);
      location.hash = '#/';
    }} />;
  } else if (hash.startsWith('#/r/')) {
    view = <Tags repository={decodeURIComponent(hash.slice(4))} session={session} />;
  } else if (hash.startsWith('#/i/')) {
    const rest = decodeURIComponent(hash.slice(4));
    const at = rest.lastIndexOf('@');
    view = <ImageView repository={rest.slice(0, at)} reference={rest.slice(at + 1)} session={session} />;
  } else if (hash === '#/storage' && session.admin) {
    view = <StoragePage />;
  } else {
    view = <Repositories />;
  }
  return (
    <>
      <a class="skip" href="#content">
        Skip to content
      </a>
      <header>
        <a class="brand" href="#/">
          {session.title}
        </a>
        <nav aria-label="Main">
          <a href="#/">Repositories</a>
          {session.admin && <a href="#/storage">Storage</a>}
        </nav>
        <span class="grow" />
        <ThemeToggle />
        {session.user ? (
          <>
            <span class="user">{session.user}</span>
            <button type="button" onClick={() => void logout()}>
              Log out
            </button>
          </>
        ) : (
          session.canLogin && <a href="#/login">Log in</a>
        )}
      </header>
      {/* Keyed by user: logging in or out starts every view afresh with what the new user may see. */}
      <div id="content" key={session.user ?? ''}>
        {view}
      </div>
    </>
  );
}

render(<App />, document.getElementById('app')!);
