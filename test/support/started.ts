// A registry process started as an operator would start it (`wharf serve` with a compose environment, or
// docker-registry), with the environment the test gives and nothing inherited that could change its configuration.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** The parent's environment without WHARF_/REGISTRY_/AWS_ variables, plus `extra`: each test says what it sets. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(WHARF|REGISTRY|AWS)_/.test(k) && v !== undefined) env[k] = v;
  return { ...env, ...extra };
}

const running = new Set<ChildProcess>();

/** For a test file's `after`: kills what a failed test left running, so the run does not hang on it. */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

export interface Started {
  output(): string;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/** Runs `command args` until `ready()` is true; fails with the process output if it exits or is not ready in time. */
export async function startUntilReady(
  command: string,
  args: readonly string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; ready: () => Promise<boolean>; timeoutMs?: number },
): Promise<Started> {
  const child = spawn(command, args, { env: opts.env, ...(opts.cwd ? { cwd: opts.cwd } : {}), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  running.add(child);
  void exited.then(() => running.delete(child));
  const started: Started = {
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command} exited with ${child.exitCode}:\n${out}`);
    if (await opts.ready().catch(() => false)) return started;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`${command} not ready:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** /v2/ answers 200 (open) or 401 (authentication on) over plain HTTP. */
export const v2Answers = (url: string) => async () => {
  const res = await fetch(`${url}/v2/`);
  await res.arrayBuffer();
  return res.status === 200 || res.status === 401;
};

/** skopeo with its exit code and output; a missing skopeo is a failure, not a skip. */
export async function skopeo(args: string[]): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await exec('skopeo', args, { timeout: 120_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code: number | string; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}
