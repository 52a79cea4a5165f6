// Memory under clients that do not read: many sockets GET a 4 MB manifest and never read past the first bytes. Each
// response used to hold its own copy of the body (1 GB of RSS that stayed); the bodies are now one shared buffer,
// so what 300 stalled responses cost is bounded by the sockets, not by 300 copies on the heap. A real server
// process, because RSS is what an operator sees. It takes a few seconds; it runs with the process tests.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pushBlob, sha256, OCI_MANIFEST } from '../support/push.js';
import { startWharf, type RunningRegistry } from '../support/processes.js';

// 100 in the default run (a copy per response already shows as +400 MB); WHARF_RSS_CLIENTS=300 is the case.
const clients = Number(process.env.WHARF_RSS_CLIENTS ?? 100);
const manifestSize = 4 * 1024 * 1024 - 4096;
const MiB = 1024 * 1024;

async function rss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  assert.ok(kb, status);
  return Number(kb[1]) * 1024;
}

/** A GET that reads only until the first body bytes arrive (so the server has started answering), then stalls. */
function stalledGet(host: string, port: number, path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port }, () => socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    socket.once('data', () => {
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

describe('manifest GETs by clients that do not read', () => {
  let wharf: RunningRegistry;
  let path: string;

  before(async () => {
    wharf = await startWharf();
    const repo = 'memory/big';
    const config = Buffer.from('{"architecture":"amd64","os":"linux"}');
    const configDigest = await pushBlob(wharf.url, repo, config);
    const doc = {
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [],
      annotations: { padding: '' },
    };
    const padding = manifestSize - Buffer.byteLength(JSON.stringify(doc));
    doc.annotations.padding = 'x'.repeat(padding);
    const body = Buffer.from(JSON.stringify(doc));
    const put = await fetch(`${wharf.url}/v2/${repo}/manifests/latest`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': OCI_MANIFEST } });
    assert.equal(put.status, 201, await put.text());
    path = `/v2/${repo}/manifests/${sha256(body)}`;
    // One full read first, so the baseline includes whatever a first GET legitimately allocates for good.
    const warm = await fetch(`${wharf.url}${path}`);
    assert.equal((await warm.arrayBuffer()).byteLength, body.length);
  });

  after(async () => {
    await wharf?.stop();
  });

  it(`${clients} stalled GETs of a 4 MB manifest cost far less than ${clients} copies of it, and the server keeps serving`, async () => {
    const before = await rss(wharf.pid);
    const { hostname, port } = new URL(wharf.url);
    const sockets: Socket[] = [];
    try {
      // In batches, to stay within the listen backlog; every socket has its answer under way before the next batch.
      for (let i = 0; i < clients; i += 50) {
        const batch = Math.min(50, clients - i);
        sockets.push(...(await Promise.all(Array.from({ length: batch }, () => stalledGet(hostname, Number(port), path)))));
      }
      const during = await rss(wharf.pid);
      const grown = during - before;
      console.log(`# RSS before ${(before / MiB).toFixed(0)} MiB, with ${clients} stalled GETs ${(during / MiB).toFixed(0)} MiB (+${(grown / MiB).toFixed(0)} MiB)`);
      // A copy per response would be clients × 4 MB (1.2 GB for 300); a quarter of that is far above the shared
      // buffer plus socket buffers, and far below copies.
      assert.ok(grown < (clients * manifestSize) / 4, `RSS grew by ${(grown / MiB).toFixed(0)} MiB for ${clients} stalled GETs`);
      const probe = await fetch(`${wharf.url}/v2/`);
      assert.equal(probe.status, 200);
    } finally {
      for (const s of sockets) s.destroy();
    }
  });
});
