// A private pebble (Let's Encrypt's ACME test CA, Debian package `pebble`) on loopback, with real HTTP-01 validation.
import { spawn, type ChildProcess } from 'node:child_process';
import { get as httpsGet } from 'node:https';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, tempDir } from '../../support/processes.js';
import { selfSigned } from './pki.js';

export interface Pebble {
  /** ACME directory URL. */
  readonly directoryUrl: string;
  /** The port pebble's validator connects to for http-01 (our challenge listener must be there). */
  readonly httpPort: number;
  /** PEM file of the certificate pebble's own HTTPS listeners present (trust it as the ACME caBundle). */
  readonly listenerCaFile: string;
  readonly listenerCaPem: string;
  /** The root that issues the certificates (regenerated at every pebble start). */
  issuingRoot(): Promise<string>;
  output(): string;
  stop(): Promise<void>;
}

/** GET over HTTPS trusting only `ca`; resolves with status and body. */
export function getTrusting(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { ca, timeout: 10_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

export async function startPebble(): Promise<Pebble> {
  const dir = await tempDir('pebble');
  const listener = await selfSigned(dir, 'pebble-listener', ['localhost', '127.0.0.1']);
  const [port, managementPort, httpPort, tlsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const configFile = join(dir, 'pebble-config.json');
  await writeFile(
    configFile,
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${port}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: listener.certPath,
        privateKey: listener.keyPath,
        httpPort,
        tlsPort,
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child: ChildProcess = spawn('pebble', ['-config', configFile], {
    // No sleeping before validation, no bad-nonce injection, and no reuse of valid authorizations: every order
    // goes through a real http-01 validation against our listener.
    env: { ...process.env, PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | null = null;
  child.once('error', (err) => (spawnError = err));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (spawnError) throw new Error(`cannot run pebble (apt-get install -y pebble): ${(spawnError as Error).message}`);
    if (child.exitCode !== null) throw new Error(`pebble exited with ${child.exitCode}:\n${out}`);
    try {
      const res = await getTrusting(directoryUrl, listener.certPem);
      if (res.status === 200) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`pebble not ready after 15 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    directoryUrl,
    httpPort,
    listenerCaFile: listener.certPath,
    listenerCaPem: listener.certPem,
    async issuingRoot() {
      const res = await getTrusting(`https://127.0.0.1:${managementPort}/roots/0`, listener.certPem);
      if (res.status !== 200 || !res.body.includes('BEGIN CERTIFICATE')) throw new Error(`pebble roots/0 answered ${res.status}: ${res.body.slice(0, 200)}`);
      return res.body;
    },
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
