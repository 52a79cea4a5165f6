// The registries under test ("subjects"): started fresh by the benchmark, or one already running (--target).
import { startDistribution, startWharf, type RunningRegistry } from '../test/support/processes.js';
import { freshSchema } from '../test/scale/postgres-database.js';
import { RegistryClient, type Credentials } from './client.js';
import type { Htpasswd } from './htpasswd.js';
import type { Profile } from './scenarios/types.js';

/** wharf-pg: Wharf with its metadata in PostgreSQL (--pg-url), in a fresh schema each start. */
export type Kind = 'wharf' | 'wharf-pg' | 'distribution';

export interface Subject {
  /** Column header in the report. */
  readonly label: string;
  /** Absent when this registry cannot run the profile (then `skipped` says why). */
  readonly client?: RegistryClient;
  readonly skipped?: string;
  /** True when `skipped` is because the registry failed to start (an error, unlike a missing option). */
  readonly failedToStart?: boolean;
  /** Server process, for CPU and peak RSS; unknown for a --target without --pid. */
  readonly pid?: number;
  stop(): Promise<void>;
}

const displayName: Record<Kind, string> = { wharf: 'Wharf', 'wharf-pg': 'Wharf+PostgreSQL', distribution: 'Distribution' };

export function labelsFor(kinds: readonly Kind[]): string[] {
  const clash = new Set(kinds).size < kinds.length;
  return kinds.map((k, i) => (clash ? `${displayName[k]} ${String.fromCharCode(65 + i)}` : displayName[k]));
}

export interface StartOptions {
  readonly profile: Profile;
  readonly htpasswd?: Htpasswd;
  readonly connections: number;
  /**
   * OPTION, OFF BY DEFAULT: the YAML that turns on Wharf's htpasswd auth (--wharf-auth-config), `{htpasswd}`
   * standing for the file's path. The equivalent of Distribution's htpasswd auth (any valid user may do
   * anything) is   'auth: {mode: basic, htpasswd: {path: "{htpasswd}"}, admins: [bench]}'
   * Without it the 'auth' scenarios measure Distribution only and report Wharf as skipped.
   */
  readonly wharfAuthConfig?: string;
  /** The PostgreSQL server for the wharf-pg subject (--pg-url). */
  readonly pgUrl?: string;
}

async function launch(kind: Kind, opts: StartOptions, onStop: (cleanup: () => Promise<void>) => void): Promise<RunningRegistry | string> {
  const htpasswdFile = opts.profile === 'auth' ? opts.htpasswd?.file : undefined;
  if (kind === 'distribution') return startDistribution(htpasswdFile ? { htpasswdFile } : {});
  const yaml: string[] = [];
  if (htpasswdFile) {
    if (!opts.wharfAuthConfig) return 'Wharf auth not configured for this run (see --wharf-auth-config)';
    yaml.push(opts.wharfAuthConfig.replaceAll('{htpasswd}', htpasswdFile));
  }
  if (kind === 'wharf-pg') {
    if (!opts.pgUrl) return 'no PostgreSQL for wharf-pg (see --pg-url)';
    const schema = await freshSchema(opts.pgUrl);
    onStop(() => schema.drop());
    yaml.push(`metadata: {driver: postgres, postgres: {url: ${JSON.stringify(schema.url)}}}`);
  }
  return yaml.length ? startWharf({ configYaml: `${yaml.join('\n')}\n` }) : startWharf();
}

/** Registries started and not yet stopped, so an interrupted run can still remove their data (GiBs). */
const live = new Set<RunningRegistry>();

/** Stops every registry still running; for Ctrl-C and SIGTERM. */
export async function stopAll(): Promise<void> {
  await Promise.allSettled([...live].map((r) => r.stop(3000)));
}

/** Starts one registry with its own fresh data directory. */
export async function startSubject(kind: Kind, label: string, opts: StartOptions): Promise<Subject> {
  let reg: RunningRegistry | string;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanUp = async () => {
    for (const c of cleanups) await c();
  };
  try {
    reg = await launch(kind, opts, (c) => cleanups.push(c));
  } catch (err) {
    await cleanUp();
    const reason = `failed to start: ${(err as Error).message.split('\n').filter(Boolean).slice(0, 6).join(' / ')}`;
    return { label, skipped: reason, failedToStart: true, stop: async () => {} };
  }
  if (typeof reg === 'string') return { label, skipped: reg, stop: cleanUp };
  const running = reg;
  live.add(running);
  const credentials: Credentials | undefined = opts.profile === 'auth' ? opts.htpasswd?.credentials : undefined;
  const client = new RegistryClient(reg.url, { connections: opts.connections, ...(credentials ? { credentials } : {}) });
  return {
    label,
    client,
    pid: reg.pid,
    async stop() {
      await client.close();
      await running.stop();
      live.delete(running);
      await cleanUp();
    },
  };
}

/** A registry someone else runs; the benchmark only talks to it. */
export function targetSubject(url: string, connections: number, credentials?: Credentials, pid?: number): Subject {
  const client = new RegistryClient(url, { connections, ...(credentials ? { credentials } : {}) });
  return { label: url, client, ...(pid !== undefined ? { pid } : {}), stop: () => client.close() };
}
