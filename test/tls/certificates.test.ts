// Certificates from files: loading, clear errors, reload on change without a restart, bad pairs never served.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { copyFile, mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { attachCertificateSource, CertificateError, FileCertificateSource, loadCertificate, tlsServerOptions } from '../../src/tls/certificates.js';
import { tempDir } from '../support/processes.js';
import { certificateAuthority, issue, selfSigned, type Pem } from './support/pki.js';
import { captureLog, close, handshake, listen, waitForEvent } from '../unit/tls/support.js';

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

describe('loadCertificate', () => {
  let dir = '';
  let a: Pem;
  let b: Pem;
  before(async () => {
    dir = await tempDir('tls-load');
    [a, b] = await Promise.all([selfSigned(dir, 'a'), selfSigned(dir, 'b')]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a matching pair loads, with its expiry and fingerprint', () => {
    const cert = loadCertificate(a.certPem, a.keyPem);
    assert.equal(cert.fingerprint256, fingerprint(a.certPem));
    assert.ok(cert.notAfter.getTime() > Date.now() + 86_400_000);
    assert.ok(cert.notBefore.getTime() <= Date.now());
  });

  test('a key of another certificate is refused with a clear message', () => {
    assert.throws(() => loadCertificate(a.certPem, b.keyPem, 'TLSv1.2', 'cert a'), (err: unknown) => {
      assert.ok(err instanceof CertificateError);
      assert.match(err.message, /cert a: the private key does not match the certificate/);
      return true;
    });
  });

  test('text that is not a certificate, or not a key, is refused', () => {
    assert.throws(() => loadCertificate('hello', a.keyPem), /no PEM certificate/);
    assert.throws(() => loadCertificate(a.certPem, 'not a key'), /cannot read the private key/);
    assert.throws(() => loadCertificate('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', a.keyPem), /cannot parse the certificate/);
  });
});

describe('FileCertificateSource', () => {
  let dir = '';
  let certDir = '';
  let ca1: Pem;
  let ca2: Pem;
  let leaf1: Pem;
  let leaf2: Pem;
  let leaf3: Pem;
  before(async () => {
    dir = await tempDir('tls-files');
    certDir = join(dir, 'live');
    await mkdir(certDir);
    [ca1, ca2] = await Promise.all([certificateAuthority(dir, 'ca1'), certificateAuthority(dir, 'ca2')]);
    [leaf1, leaf2, leaf3] = await Promise.all([issue(ca1, dir, 'leaf1'), issue(ca2, dir, 'leaf2'), issue(ca1, dir, 'leaf3')]);
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function install(pem: Pem, name = 'tls'): Promise<{ cert: string; key: string }> {
    const cert = join(certDir, `${name}.crt`);
    const key = join(certDir, `${name}.key`);
    await copyFile(pem.certPath, cert);
    await copyFile(pem.keyPath, key);
    return { cert, key };
  }

  test('start fails with the path when a file is missing, and when the pair does not match', async () => {
    const { log } = captureLog();
    const missing = new FileCertificateSource(join(certDir, 'nope.crt'), join(certDir, 'nope.key'), { log });
    await assert.rejects(missing.start(), (err: unknown) => {
      assert.ok(err instanceof CertificateError);
      assert.match(err.message, /cannot read the TLS certificate .*nope\.crt: ENOENT/);
      return true;
    });
    const cert = join(certDir, 'mixed.crt');
    const key = join(certDir, 'mixed.key');
    await copyFile(leaf1.certPath, cert);
    await copyFile(leaf2.keyPath, key);
    const mixed = new FileCertificateSource(cert, key, { log });
    await assert.rejects(mixed.start(), /mixed\.crt with key .*mixed\.key: the private key does not match/);
    assert.throws(() => mixed.current(), /no certificate loaded/);
  });

  test('serves the files over TLS and switches to new files without a restart; a bad pair is never served', async () => {
    const captured = captureLog();
    const { cert, key } = await install(leaf1);
    const source = new FileCertificateSource(cert, key, { log: captured.log, debounceMs: 50, pollIntervalMs: 0 });
    await source.start();
    const server: HttpsServer = createHttpsServer(tlsServerOptions(source), (_req, res) => res.end('ok'));
    attachCertificateSource(server, source);
    const port = await listen(server);
    try {
      // With SNI (SNICallback) and without (an IP-address client: the server's default context).
      for (const servername of ['localhost', undefined]) {
        const h = await handshake(port, ca1.certPem, servername);
        assert.equal(h.peer.fingerprint256, fingerprint(leaf1.certPem));
        assert.equal(h.authorized, true, `first certificate must validate against CA 1 (SNI ${servername}): ${h.authorizationError}`);
      }

      // Replace both files the way certbot/cert-manager do: write elsewhere, rename into place.
      const changed = waitForEvent<unknown>((fn) => source.onChange(fn), 10_000, 'reload to leaf2');
      await copyFile(leaf2.keyPath, `${key}.new`);
      await copyFile(leaf2.certPath, `${cert}.new`);
      await rename(`${key}.new`, key);
      await rename(`${cert}.new`, cert);
      await changed;
      assert.equal(source.current().fingerprint256, fingerprint(leaf2.certPem));
      for (const servername of ['localhost', undefined]) {
        const h = await handshake(port, ca2.certPem, servername);
        assert.equal(h.peer.fingerprint256, fingerprint(leaf2.certPem), `after reload, SNI ${servername}`);
        assert.equal(h.authorized, true, `reloaded certificate must validate against CA 2: ${h.authorizationError}`);
        const old = await handshake(port, ca1.certPem, servername);
        assert.equal(old.authorized, false, 'CA 1 no longer validates the served certificate');
      }

      // A certificate whose key is not there yet (written in place, no rename): refused, leaf2 stays.
      const mark = captured.lines.length;
      await writeFile(cert, leaf3.certPem);
      await captured.waitFor('TLS certificate reload failed', 10_000, mark);
      assert.equal(source.current().fingerprint256, fingerprint(leaf2.certPem));
      for (const servername of ['localhost', undefined]) {
        assert.equal((await handshake(port, ca2.certPem, servername)).peer.fingerprint256, fingerprint(leaf2.certPem));
      }
      // Garbage: still leaf2.
      const mark2 = captured.lines.length;
      await writeFile(key, 'garbage\n');
      await captured.waitFor('TLS certificate reload failed', 10_000, mark2);
      assert.equal((await handshake(port, ca2.certPem)).peer.fingerprint256, fingerprint(leaf2.certPem));

      // The matching key arrives: leaf3 goes live.
      const changed3 = waitForEvent<unknown>((fn) => source.onChange(fn), 10_000, 'reload to leaf3');
      await writeFile(key, leaf3.keyPem);
      await changed3;
      for (const servername of ['localhost', undefined]) {
        const h = await handshake(port, ca1.certPem, servername);
        assert.equal(h.peer.fingerprint256, fingerprint(leaf3.certPem));
        assert.equal(h.authorized, true);
      }
    } finally {
      await source.close();
      await close(server);
    }
  });

  test('a server created before the source is started gets the first certificate when it loads', async () => {
    const { log } = captureLog();
    const { cert, key } = await install(leaf1, 'late');
    const source = new FileCertificateSource(cert, key, { log, pollIntervalMs: 0 });
    const server: HttpsServer = createHttpsServer(tlsServerOptions(source), (_req, res) => res.end('ok'));
    attachCertificateSource(server, source);
    await source.start();
    const port = await listen(server);
    try {
      for (const servername of ['localhost', undefined]) {
        const h = await handshake(port, ca1.certPem, servername);
        assert.equal(h.peer.fingerprint256, fingerprint(leaf1.certPem), `SNI ${servername}`);
        assert.equal(h.authorized, true);
      }
    } finally {
      await source.close();
      await close(server);
    }
  });

  test('a directory swap (Kubernetes secret volume: symlinked ..data) is picked up', async () => {
    const { log } = captureLog();
    const vol = join(dir, 'secret-volume');
    await mkdir(join(vol, 'v1'), { recursive: true });
    await copyFile(leaf1.certPath, join(vol, 'v1', 'tls.crt'));
    await copyFile(leaf1.keyPath, join(vol, 'v1', 'tls.key'));
    await symlink('v1', join(vol, '..data'));
    await symlink(join('..data', 'tls.crt'), join(vol, 'tls.crt'));
    await symlink(join('..data', 'tls.key'), join(vol, 'tls.key'));
    const source = new FileCertificateSource(join(vol, 'tls.crt'), join(vol, 'tls.key'), { log, debounceMs: 50, pollIntervalMs: 0 });
    await source.start();
    try {
      assert.equal(source.current().fingerprint256, fingerprint(leaf1.certPem));
      await mkdir(join(vol, 'v2'));
      await copyFile(leaf2.certPath, join(vol, 'v2', 'tls.crt'));
      await copyFile(leaf2.keyPath, join(vol, 'v2', 'tls.key'));
      const changed = waitForEvent<unknown>((fn) => source.onChange(fn), 10_000, 'reload after ..data swap');
      await symlink('v2', join(vol, '..data_tmp'));
      await rename(join(vol, '..data_tmp'), join(vol, '..data'));
      await changed;
      assert.equal(source.current().fingerprint256, fingerprint(leaf2.certPem));
    } finally {
      await source.close();
    }
  });

  test('the periodic re-read catches a change when watching is not possible', async () => {
    const { log } = captureLog();
    const { cert, key } = await install(leaf1, 'polled');
    const source = new FileCertificateSource(cert, key, { log, debounceMs: 60_000, pollIntervalMs: 100 });
    await source.start();
    try {
      const changed = waitForEvent<unknown>((fn) => source.onChange(fn), 5_000, 'poll reload');
      await copyFile(leaf3.keyPath, key);
      await copyFile(leaf3.certPath, cert);
      await changed;
      assert.equal(source.current().fingerprint256, fingerprint(leaf3.certPem));
    } finally {
      await source.close();
    }
  });

  test('an unchanged rewrite does not count as a change; close stops reloading', async () => {
    const { log } = captureLog();
    const { cert, key } = await install(leaf1, 'same');
    const source = new FileCertificateSource(cert, key, { log, debounceMs: 20, pollIntervalMs: 0 });
    await source.start();
    let changes = 0;
    source.onChange(() => changes++);
    await writeFile(cert, leaf1.certPem);
    await source.reload();
    assert.equal(changes, 0);
    await source.close();
    await copyFile(leaf3.keyPath, key);
    await copyFile(leaf3.certPath, cert);
    await new Promise((r) => setTimeout(r, 200));
    await source.reload();
    assert.equal(changes, 0, 'no reload after close');
    assert.equal(source.current().fingerprint256, fingerprint(leaf1.certPem));
  });
});
