// Wharf serving TLS itself (tls.mode: files), for the client tests once the server wiring is in place
// (TLS_FRONT=native). Spawned directly: startWharf() waits for plain HTTP.
import { spawn } from 'node:child_process';
import { request as httpsRequest } from 'node:https';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, tempDir, wharfMain } from '../../support/processes.js';

export interface NativeTlsWharf {
  readonly port: number;
  /** Plain-HTTP listener (redirects to HTTPS). */
  readonly httpPort: number;
  output(): string;
  stop(): Promise<void>;
}

function getStatus(port: number, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/v2/', ca, timeout: 2_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

export async function startNativeTlsWharf(certPath: string, keyPath: string, caPem: string): Promise<NativeTlsWharf> {
  const dir = await tempDir('native-tls');
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  const [port, httpPort] = [await freePort(), await freePort()];
  const config = join(dir, 'wharf.yaml');
  await writeFile(config, ['tls:', '  mode: files', `  certificate: ${certPath}`, `  key: ${keyPath}`, '  http:', `    addr: 127.0.0.1:${httpPort}`, ''].join('\n'));
  const child = spawn(process.execPath, [wharfMain, 'serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir, '--config', config], {
    env: { ...process.env, WHARF_METRICS__ADDR: '127.0.0.1:0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`wharf exited with ${child.exitCode}:\n${out}`);
    try {
      const status = await getStatus(port, caPem);
      if (status === 200 || status === 401) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`wharf with TLS not ready after 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    httpPort,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
