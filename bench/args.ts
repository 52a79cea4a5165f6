// Command line of `npm run bench` (node dist/bench/main.js).
import { parseArgs } from 'node:util';
import type { Credentials } from './client.js';
import { scenarios } from './scenarios/index.js';
import type { Scenario } from './scenarios/types.js';
import type { Kind } from './subjects.js';

export const usage = `Usage: npm run bench -- [options]

Starts Wharf and Distribution (docker-registry) fresh, runs each scenario on both, interleaved, and prints
each figure for both with the ratio Wharf / Distribution and its target. Exits 0 when targets are missed
(it is a measurement); exits 1 when a registry fails a scenario (wrong status, digest or bytes).
The client and both servers share the machine: a round during which other processes used CPU is measured
again (up to twice) and flagged if still disturbed, so run it on an otherwise idle machine.

Options:
  --only a,b            scenarios to run (default: ${scenarios.filter((s) => s.byDefault).map((s) => s.id).join(',')},growth);
                        all: ${scenarios.map((s) => s.id).join(', ')}, growth (Wharf only: _catalog and tags/list
                        page cost at 1k/10k/100k entries, GC of 100k unreferenced blobs; 200/1k and 1k with --quick)
  --quick               small sizes for a smoke run (32 MiB blob, 200 small blobs, 3 s GET, ...)
  --rounds N            measured rounds per scenario, alternating which registry goes first; medians are
                        reported (default: 5 for pull, 3 for push, small and concurrent, 1 for the GET runs;
                        1 for everything with --quick)
  --json FILE           also write all figures and per-run details as JSON
  --target URL          benchmark one already-running registry instead of starting two
  --user USER:PASS      Basic credentials to send (with --target)
  --pid PID             the --target server's process id, for its CPU use and peak RSS
  --pair A,B            which registries to compare (default wharf,distribution; e.g. distribution,distribution
                        for an A/A run that shows the noise level; wharf,wharf-pg compares the SQLite and the
                        PostgreSQL metadata store)
  --pg-url URL          PostgreSQL server for wharf-pg (default: $WHARF_TEST_PG_URL); each start gets a fresh schema
  --wharf-auth-config YAML
                        Wharf config enabling htpasswd auth for the auth scenarios (get-auth), '{htpasswd}'
                        standing for the file's path (default: the equivalent of Distribution's htpasswd auth,
                        'auth: {mode: basic, htpasswd: {path: "{htpasswd}"}, admins: [bench]}')
  --help`;

/** Any valid user may do anything: what Distribution's htpasswd auth grants, so both do the same work. */
const defaultWharfAuthConfig = 'auth: {mode: basic, htpasswd: {path: "{htpasswd}"}, admins: [bench]}';

export interface Options {
  readonly scenarios: readonly Scenario[];
  /** Run the growth measurements (bench/growth.ts), which start their own Wharf. */
  readonly growth: boolean;
  readonly quick: boolean;
  readonly rounds?: number;
  readonly json?: string;
  readonly target?: { readonly url: string; readonly credentials?: Credentials; readonly pid?: number };
  readonly pair: readonly [Kind, Kind];
  readonly wharfAuthConfig?: string;
  readonly pgUrl?: string;
  readonly help: boolean;
}

function kind(s: string): Kind {
  if (s === 'wharf' || s === 'wharf-pg' || s === 'distribution') return s;
  throw new Error(`--pair: unknown registry '${s}' (wharf, wharf-pg or distribution)`);
}

export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      only: { type: 'string' },
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      json: { type: 'string' },
      target: { type: 'string' },
      user: { type: 'string' },
      pid: { type: 'string' },
      pair: { type: 'string', default: 'wharf,distribution' },
      'wharf-auth-config': { type: 'string' },
      'pg-url': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });

  const ids = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  const growth = ids ? ids.includes('growth') : !values.target;
  const chosen = ids ? ids.filter((id) => id !== 'growth').map((id) => scenarios.find((s) => s.id === id) ?? fail(`--only: unknown scenario '${id}'`)) : scenarios.filter((s) => s.byDefault);
  // Keep the canonical order whatever order --only lists them in (pull after push, and so on).
  const selected = scenarios.filter((s) => chosen.includes(s));

  const rounds = values.rounds === undefined ? undefined : Number(values.rounds);
  if (rounds !== undefined && (!Number.isInteger(rounds) || rounds < 1)) fail('--rounds: expected a positive integer');

  const pairParts = (values.pair ?? '').split(',');
  if (pairParts.length !== 2) fail('--pair: expected two names, e.g. wharf,distribution');
  const pair: [Kind, Kind] = [kind(pairParts[0]!), kind(pairParts[1]!)];

  const pgUrl = values['pg-url'] ?? process.env.WHARF_TEST_PG_URL;
  if (pair.includes('wharf-pg') && !pgUrl) fail('--pair wharf-pg needs --pg-url postgres://... (or WHARF_TEST_PG_URL)');

  let target: Options['target'];
  if (values.target) {
    const url = new URL(values.target).origin;
    let credentials: Credentials | undefined;
    if (values.user) {
      const i = values.user.indexOf(':');
      if (i < 0) fail('--user: expected USER:PASS');
      credentials = { username: values.user.slice(0, i), password: values.user.slice(i + 1) };
    }
    const pid = values.pid === undefined ? undefined : Number(values.pid);
    if (pid !== undefined && !Number.isInteger(pid)) fail('--pid: expected a process id');
    target = { url, ...(credentials ? { credentials } : {}), ...(pid !== undefined ? { pid } : {}) };
  } else if (values.user || values.pid) {
    fail('--user and --pid only apply with --target');
  }

  return {
    scenarios: selected,
    growth,
    quick: values.quick ?? false,
    pair,
    ...(rounds !== undefined ? { rounds } : {}),
    help: values.help ?? false,
    ...(values.json ? { json: values.json } : {}),
    ...(target ? { target } : {}),
    wharfAuthConfig: values['wharf-auth-config'] ?? defaultWharfAuthConfig,
    ...(pgUrl ? { pgUrl } : {}),
  };
}

function fail(message: string): never {
  throw new Error(message);
}
