// Runs the built CLI (`node dist/src/cli/main.js ARGS`) as its own process, the way an operator does: a command
// that main.js does not register fails here with its "unknown command" exit, so no test can pass without it.
import { spawn } from 'node:child_process';
import { wharfMain } from './processes.js';

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Written to stdin, which is then closed; stdin is closed at once without it. */
  readonly stdin?: string;
  /** Added to (or, with '', blanking) the parent's environment. */
  readonly env?: Record<string, string>;
  /** Checked on every chunk of stderr; true sends SIGKILL (a crash mid-way). */
  readonly killWhen?: (stderr: string) => boolean;
  /** A hung command is killed rather than hanging the test run; default 120 s. */
  readonly timeoutMs?: number;
}

export function wharfCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [wharfMain, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      if (opts.killWhen?.(stderr)) child.kill('SIGKILL');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    // A command that exits without reading stdin closes the pipe first; that is its business, not a test failure.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.stdin ?? '');
  });
}
