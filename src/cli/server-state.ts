// `wharf serve` leaves a note in the data directory saying where it listens, so `wharf status` finds the running
// server however it was started (flags, environment or file) and says which version runs. Removed at shutdown; a
// note a killed server left is recognised by its process being gone.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ServerState {
  readonly pid: number;
  readonly version: string;
  readonly startedAt: string;
  /** HOST:PORT as bound (the port resolved when 0 was asked for). */
  readonly api: string;
  readonly tls: boolean;
  readonly metrics: string | null;
  readonly plainHttp: string | null;
}

const fileName = 'wharf-server.json';

export async function writeServerState(dataDir: string, state: ServerState): Promise<() => Promise<void>> {
  const path = join(dataDir, fileName);
  await writeFile(`${path}.tmp`, `${JSON.stringify(state)}\n`);
  await rename(`${path}.tmp`, path);
  return async () => {
    // Only our own note: a second server on the same directory may have replaced it.
    if ((await readServerState(dataDir))?.pid === state.pid) await rm(path, { force: true });
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The note of a server whose process still exists on this host, else null. */
export async function readServerState(dataDir: string): Promise<ServerState | null> {
  try {
    const state = JSON.parse(await readFile(join(dataDir, fileName), 'utf8')) as ServerState;
    return typeof state.pid === 'number' && typeof state.api === 'string' && alive(state.pid) ? state : null;
  } catch {
    return null;
  }
}
