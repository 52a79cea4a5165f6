// Runs real client binaries (skopeo, umoci, podman, buildah, ctr) with a timeout and captured output.
import { execFile } from 'node:child_process';

export interface RunOptions {
  /** Kill the command (SIGKILL) after this many ms. Default 120 s. */
  timeoutMs?: number;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string>;
  cwd?: string;
}

export interface RunResult {
  readonly command: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: Buffer;
  readonly stderr: string;
  readonly ms: number;
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function describeCommand(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map(quote).join(' ');
}

/** Runs a command; never throws for a non-zero exit (inspect `code`). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const command = describeCommand(cmd, args);
  return new Promise((resolve, reject) => {
    execFile(
      cmd,
      [...args],
      {
        encoding: 'buffer',
        maxBuffer: 256 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 120_000,
        killSignal: 'SIGKILL',
        env: { ...process.env, ...opts.env },
        cwd: opts.cwd,
      },
      (error, stdout, stderr) => {
        const ms = Date.now() - started;
        if (error && typeof error.code === 'string') {
          // spawn failure (ENOENT, ...): the client is not installed
          reject(new Error(`cannot run ${command}: ${error.message} (run scripts/install-test-deps.sh)`));
          return;
        }
        let code: number | null = 0;
        let signal: string | null = null;
        if (error) {
          code = typeof error.code === 'number' ? error.code : null;
          signal = error.signal ?? null;
        }
        resolve({ command, code, signal, stdout, stderr: stderr.toString('utf8'), ms });
      },
    );
  });
}

export class CommandError extends Error {
  constructor(readonly result: RunResult) {
    super(
      `command failed (exit ${result.code}${result.signal ? `, signal ${result.signal}` : ''}, ${result.ms} ms): ${result.command}\n` +
        `--- stderr ---\n${result.stderr.slice(-6000)}\n--- stdout ---\n${result.stdout.toString('utf8').slice(-3000)}`,
    );
    this.name = 'CommandError';
  }
}

/** Runs a command and throws CommandError unless it exits 0. Returns the result. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(cmd, args, opts);
  if (res.code !== 0) throw new CommandError(res);
  if (process.env.INTEROP_VERBOSE) process.stderr.write(`# ${res.ms} ms: ${res.command}\n`);
  return res;
}

/** Runs a command, requires exit 0, and returns stdout as trimmed text. */
export async function runText(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<string> {
  return (await runOk(cmd, args, opts)).stdout.toString('utf8').trim();
}

/** Runs a command that is expected to fail; throws if it succeeds. Returns the result. */
export async function runFail(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(cmd, args, opts);
  if (res.code === 0) {
    throw new Error(`expected failure but command succeeded: ${res.command}\n--- stdout ---\n${res.stdout.toString('utf8').slice(-3000)}`);
  }
  return res;
}
