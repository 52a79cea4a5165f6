// Real TLS clients against certificates from files: skopeo (--dest-cert-dir / --cert-dir / --src-cert-dir) and
// podman (--cert-dir) reach a Wharf through an HTTPS front whose certificate comes from FileCertificateSource. They
// succeed with the right CA, fail without it, and follow a certificate rotation on disk without any restart.
// TLS_FRONT=proxy (default): a plain-HTTP Wharf behind a small TLS-terminating proxy whose certificate comes from
// FileCertificateSource (test/tls/support/proxy.ts). TLS_FRONT=native: Wharf itself with tls.mode: files.
//   node --test dist/test/tls/clients.test.js     (needs skopeo, umoci, podman: scripts/install-test-deps.sh)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { copyFile, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { FileCertificateSource } from '../../src/tls/certificates.js';
import { startWharf, tempDir, type RunningRegistry } from '../support/processes.js';
import { CommandError, run, runOk, type RunResult } from '../interop/support/exec.js';
import { buildImage, OCI_MANIFEST, type BuiltImage } from '../interop/support/oci.js';
import { isolatedContainers, type Containers } from '../interop/support/podman.js';
import { certificateAuthority, issue, type Pem } from './support/pki.js';
import { captureLog, handshake } from '../unit/tls/support.js';
import { startNativeTlsWharf, type NativeTlsWharf } from './support/native.js';
import { startTlsProxy, type TlsProxy } from './support/proxy.js';

type Front = 'proxy' | 'native';
function front(): Front {
  const raw = (process.env.TLS_FRONT ?? 'proxy').trim().toLowerCase();
  if (raw === 'proxy' || raw === 'native') return raw;
  throw new Error(`TLS_FRONT must be "proxy" or "native", got ${JSON.stringify(process.env.TLS_FRONT)}`);
}

const untrusted = /x509: certificate signed by unknown authority|certificate is not trusted|unknown authority/i;

function assertTlsRefusal(res: RunResult): void {
  assert.notEqual(res.code, 0, `expected ${res.command} to fail`);
  assert.match(res.stderr, untrusted, `expected a certificate error from ${res.command}, got:\n${res.stderr}`);
}

describe(`TLS with real clients (certificates from files, ${front()} TLS)`, () => {
  let work = '';
  let wharf: RunningRegistry | undefined;
  let source: FileCertificateSource | undefined;
  let proxy: TlsProxy | undefined;
  let native: NativeTlsWharf | undefined;
  let port = 0;
  /** Plain-HTTP URL of the registry, for checks behind the clients' back. */
  let plainUrl = '';
  let containers: Containers;
  let ca1: Pem;
  let ca2: Pem;
  let leaf1: Pem;
  let leaf2: Pem;
  let liveCert = '';
  let liveKey = '';
  let certDir1 = '';
  let certDir2 = '';
  let image: BuiltImage;
  let pushedDigest = '';
  const host = (): string => `127.0.0.1:${port}`;

  before(async () => {
    work = await tempDir('tls-clients');
    const pki = join(work, 'pki');
    await mkdir(pki);
    [ca1, ca2] = await Promise.all([certificateAuthority(pki, 'ca1'), certificateAuthority(pki, 'ca2')]);
    [leaf1, leaf2] = await Promise.all([issue(ca1, pki, 'leaf1'), issue(ca2, pki, 'leaf2')]);
    // What a client is given: a directory with the CA as ca.crt (the containers/image certs.d convention).
    certDir1 = join(work, 'certs-ca1');
    certDir2 = join(work, 'certs-ca2');
    await mkdir(certDir1);
    await mkdir(certDir2);
    await copyFile(ca1.certPath, join(certDir1, 'ca.crt'));
    await copyFile(ca2.certPath, join(certDir2, 'ca.crt'));
    const live = join(work, 'live');
    await mkdir(live);
    liveCert = join(live, 'tls.crt');
    liveKey = join(live, 'tls.key');
    await copyFile(leaf1.certPath, liveCert);
    await copyFile(leaf1.keyPath, liveKey);

    image = await buildImage(join(work, 'layout'), 'app', [
      { files: [{ path: 'etc/hello.txt', content: 'hello over TLS\n' }] },
      { files: [{ path: 'data/blob.bin', size: 3 * 1024 * 1024 }] },
    ]);
    if (front() === 'native') {
      native = await startNativeTlsWharf(liveCert, liveKey, ca1.certPem);
      port = native.port;
      plainUrl = '';
    } else {
      wharf = await startWharf();
      source = new FileCertificateSource(liveCert, liveKey, { log: captureLog().log, debounceMs: 50 });
      await source.start();
      proxy = await startTlsProxy(source, Number(wharf.host.split(':')[1]));
      port = proxy.port;
      plainUrl = wharf.url;
    }
    containers = await isolatedContainers(join(work, 'podman'));
  });

  after(async () => {
    await proxy?.close();
    await source?.close();
    await wharf?.stop();
    await native?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('skopeo copy without the CA is refused; with --dest-cert-dir it pushes over TLS', async () => {
    assertTlsRefusal(await run('skopeo', ['copy', '--quiet', `oci:${image.layout}:app`, `docker://${host()}/tls/app:v1`]));
    const digestFile = join(work, 'pushed.digest');
    await runOk('skopeo', ['copy', '--quiet', '--dest-cert-dir', certDir1, '--digestfile', digestFile, `oci:${image.layout}:app`, `docker://${host()}/tls/app:v1`], {
      timeoutMs: 180_000,
    });
    pushedDigest = (await readFile(digestFile, 'utf8')).trim();
    assert.match(pushedDigest, /^sha256:[0-9a-f]{64}$/);
    if (plainUrl) {
      // It really went to Wharf: ask it directly over plain HTTP.
      const res = await fetch(`${plainUrl}/v2/tls/app/manifests/v1`, { method: 'HEAD', headers: { Accept: OCI_MANIFEST } });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-content-digest'), pushedDigest);
    }
  });

  test('skopeo inspect --cert-dir: the right CA works, another CA or none is refused', async () => {
    const out = await runOk('skopeo', ['inspect', '--cert-dir', certDir1, `docker://${host()}/tls/app:v1`]);
    const inspected = JSON.parse(out.stdout.toString('utf8')) as { Digest: string; Layers: string[] };
    assert.equal(inspected.Digest, pushedDigest);
    assert.equal(inspected.Layers.length, 2);
    assertTlsRefusal(await run('skopeo', ['inspect', '--cert-dir', certDir2, `docker://${host()}/tls/app:v1`]));
    assertTlsRefusal(await run('skopeo', ['inspect', `docker://${host()}/tls/app:v1`]));
  });

  test('podman pull --cert-dir works; without the CA it is refused', async () => {
    await assert.rejects(containers.podman(['pull', '--quiet', `${host()}/tls/app:v1`]), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assertTlsRefusal(err.result);
      return true;
    });
    const id = (await containers.podman(['pull', '--quiet', '--cert-dir', certDir1, `${host()}/tls/app:v1`])).stdout.toString('utf8').trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const digest = (await containers.podmanText(['image', 'inspect', '--format', '{{.Digest}}', `${host()}/tls/app:v1`])).trim();
    assert.equal(digest, pushedDigest);
  });

  test('a certificate rotated on disk reaches skopeo and podman without restarting anything', async () => {
    await copyFile(leaf2.keyPath, `${liveKey}.new`);
    await copyFile(leaf2.certPath, `${liveCert}.new`);
    await rename(`${liveKey}.new`, liveKey);
    await rename(`${liveCert}.new`, liveCert);
    // Wait until the listener presents the new certificate (the clients connect by IP address: no SNI).
    const next = new X509Certificate(leaf2.certPem).fingerprint256;
    let served = '';
    for (const deadline = Date.now() + 15_000; ; ) {
      served = (await handshake(port, [ca1.certPem, ca2.certPem])).peer.fingerprint256;
      if (served === next) break;
      if (Date.now() > deadline) throw new Error(`the rotated certificate is not served after 15 s (still ${served})${native ? `\n${native.output()}` : ''}`);
      await new Promise((r) => setTimeout(r, 50));
    }

    assertTlsRefusal(await run('skopeo', ['inspect', '--cert-dir', certDir1, `docker://${host()}/tls/app:v1`]));
    const out = await runOk('skopeo', ['inspect', '--cert-dir', certDir2, `docker://${host()}/tls/app:v1`]);
    assert.equal((JSON.parse(out.stdout.toString('utf8')) as { Digest: string }).Digest, pushedDigest);
    // Full blob downloads and a second push through the new certificate.
    const pulled = join(work, 'pulled');
    await runOk('skopeo', ['copy', '--quiet', '--src-cert-dir', certDir2, `docker://${host()}/tls/app:v1`, `oci:${pulled}:app`], { timeoutMs: 180_000 });
    const index = JSON.parse(await readFile(join(pulled, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
    assert.equal(index.manifests[0]?.digest, pushedDigest);
    await runOk('skopeo', ['copy', '--quiet', '--dest-cert-dir', certDir2, `oci:${image.layout}:app`, `docker://${host()}/tls/app:v2`], { timeoutMs: 180_000 });
    await assert.rejects(containers.podman(['pull', '--quiet', '--cert-dir', certDir1, `${host()}/tls/app:v2`]), (err: unknown) => {
      assert.ok(err instanceof CommandError);
      assertTlsRefusal(err.result);
      return true;
    });
    await containers.podman(['pull', '--quiet', '--cert-dir', certDir2, `${host()}/tls/app:v2`]);
  });
});
