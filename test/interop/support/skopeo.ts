// Thin wrappers around the real skopeo binary for plain-HTTP registries on loopback.
import { run, runOk, runText, type RunResult } from './exec.js';

export interface SkopeoInspect {
  Name?: string;
  Digest: string;
  RepoTags?: string[];
  Architecture?: string;
  Os?: string;
  Layers?: string[];
}

const needsTls = (ref: string): boolean => ref.startsWith('docker://');

export async function skopeoCopy(src: string, dest: string, extra: string[] = []): Promise<RunResult> {
  const args = ['copy', '--quiet'];
  if (needsTls(src)) args.push('--src-tls-verify=false');
  if (needsTls(dest)) args.push('--dest-tls-verify=false');
  args.push(...extra, src, dest);
  return runOk('skopeo', args, { timeoutMs: 180_000 });
}

export async function skopeoInspectRaw(ref: string): Promise<Buffer> {
  return (await runOk('skopeo', ['inspect', '--tls-verify=false', '--raw', ref])).stdout;
}

export async function skopeoInspect(ref: string, extra: string[] = []): Promise<SkopeoInspect> {
  return JSON.parse(await runText('skopeo', [...extra, 'inspect', '--tls-verify=false', ref])) as SkopeoInspect;
}

export async function skopeoInspectConfig(ref: string): Promise<Buffer> {
  return (await runOk('skopeo', ['inspect', '--tls-verify=false', '--raw', '--config', ref])).stdout;
}

export async function skopeoListTags(ref: string): Promise<{ Repository: string; Tags: string[] }> {
  return JSON.parse(await runText('skopeo', ['list-tags', '--tls-verify=false', ref])) as { Repository: string; Tags: string[] };
}

export async function skopeoDelete(ref: string): Promise<void> {
  await runOk('skopeo', ['delete', '--tls-verify=false', ref]);
}

/** inspect --raw that is expected to fail; returns the result (stderr holds the error). */
export async function skopeoInspectRawFailing(ref: string): Promise<RunResult> {
  return run('skopeo', ['inspect', '--tls-verify=false', '--raw', ref]);
}
