// Automatic certificates against a real ACME CA: Debian's pebble, validating http-01 for `localhost` against our
// plain-HTTP listener (no PEBBLE_VA_ALWAYS_VALID). Obtain, serve, persist, renew in place, survive a failed renewal.
//   node --test dist/test/tls/acme.test.js        (needs: apt-get install -y pebble)
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest, type Server as HttpsServer } from 'node:https';
import { readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { AcmeCertificateSource, type AcmeSourceOptions } from '../../src/tls/acme.js';
import { attachCertificateSource, tlsServerOptions, type LoadedCertificate } from '../../src/tls/certificates.js';
import { Http01ChallengeResponder } from '../../src/tls/challenges.js';
import { createPlainHttpHandler } from '../../src/tls/redirect.js';
import { tempDir } from '../support/processes.js';
import { captureLog, close, handshake, listen, waitForEvent, waitUntil, type CapturedLog } from '../unit/tls/support.js';
import { startPebble, type Pebble } from './support/pebble.js';

const day = 86_400_000;

/** GET https://localhost:port/ (connecting to 127.0.0.1) trusting only `ca`. */
function httpsGetLocalhost(port: number, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', servername: 'localhost', port, path: '/', ca, headers: { host: `localhost:${port}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ACME with pebble (real http-01 validation)', () => {
  let pebble: Pebble;
  let work = '';
  let storeDir = '';
  let root = '';
  let plain: HttpServer;
  const challenges = new Http01ChallengeResponder();
  /** When false the plain listener pretends port 80 is unreachable (404 for every challenge). */
  let answering = true;
  let challengeHits = 0;
  const captured: CapturedLog = captureLog();

  const options = (overrides: Partial<AcmeSourceOptions> = {}): AcmeSourceOptions => ({
    domains: ['localhost'],
    email: 'ops@example.com',
    directoryUrl: pebble.directoryUrl,
    termsOfServiceAgreed: true,
    keyType: 'ecdsa',
    renewBefore: 30 * day,
    checkInterval: 3_600_000,
    initialBackoff: 60_000,
    maxBackoff: 3_600_000,
    caBundle: pebble.listenerCaFile,
    storeDir,
    log: captured.log,
    challenges,
    polling: { attempts: 30, minMs: 100, maxMs: 500 },
    ...overrides,
  });

  before(async () => {
    pebble = await startPebble();
    root = await pebble.issuingRoot();
    work = await tempDir('acme');
    storeDir = join(work, 'data', 'acme');
    // The plain-HTTP listener as Wharf runs it on port 80: challenges first, everything else redirected to HTTPS.
    const handler = createPlainHttpHandler({ challenges, redirect: true, httpsPort: 443 });
    plain = createHttpServer((req, res) => {
      if (req.url?.startsWith('/.well-known/acme-challenge/')) challengeHits++;
      if (!answering && req.url?.startsWith('/.well-known/acme-challenge/')) {
        res.writeHead(404).end();
        return;
      }
      handler(req, res);
    });
    await listen(plain, '127.0.0.1', pebble.httpPort);
  });

  after(async () => {
    if (plain) await close(plain);
    await pebble?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function serve(source: AcmeCertificateSource): Promise<{ server: HttpsServer; port: number }> {
    const server = createHttpsServer(tlsServerOptions(source), (_req, res) => res.end('hello over acme tls'));
    attachCertificateSource(server, source);
    return { server, port: await listen(server) };
  }

  let first: LoadedCertificate;

  test('obtains a certificate for localhost, stores it privately, and it validates against pebble’s issuing root', async () => {
    const source = new AcmeCertificateSource(options());
    const hitsBefore = challengeHits;
    await source.start();
    first = source.current();
    assert.ok(challengeHits > hitsBefore, 'pebble fetched the http-01 answer from our listener');
    assert.equal(challenges.size, 0, 'challenge answers are removed afterwards');
    assert.ok(first.leaf.checkHost('localhost'), `certificate names: ${first.leaf.subjectAltName}`);
    assert.ok(first.notAfter.getTime() > Date.now() + 30 * day);

    const dir = source.dir;
    for (const [file, mode] of [['account.key', 0o600], ['key.pem', 0o600], ['cert.pem', 0o644], ['account.json', 0o600]] as const) {
      const st = await stat(join(dir, file));
      assert.equal(st.mode & 0o777, mode, `${file} mode ${(st.mode & 0o777).toString(8)}`);
    }
    assert.equal((await stat(dir)).mode & 0o077, 0, 'store directory is private');
    const account = JSON.parse(await readFile(join(dir, 'account.json'), 'utf8')) as { accountUrl: string; email: string };
    assert.match(account.accountUrl, /^https:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(account.email, 'ops@example.com');
    assert.equal(new X509Certificate(await readFile(join(dir, 'cert.pem'))).fingerprint256, first.fingerprint256);

    const { server, port } = await serve(source);
    try {
      for (const servername of ['localhost', undefined]) {
        const h = await handshake(port, root, servername);
        assert.equal(h.peer.fingerprint256, first.fingerprint256);
        assert.equal(h.authorized, true, `chain must validate against pebble's root (SNI ${servername}): ${h.authorizationError}`);
      }
      const untrusted = await handshake(port, pebble.listenerCaPem, 'localhost');
      assert.equal(untrusted.authorized, false, 'another CA does not validate it');
      const res = await httpsGetLocalhost(port, root);
      assert.equal(res.status, 200);
      assert.equal(res.body, 'hello over acme tls');
    } finally {
      await source.close();
      await close(server);
    }
  });

  test('a restart serves the stored certificate without ordering a new one', async () => {
    const source = new AcmeCertificateSource(options());
    const hitsBefore = challengeHits;
    const mark = captured.lines.length;
    await source.start();
    try {
      assert.equal(source.current().fingerprint256, first.fingerprint256);
      assert.equal(challengeHits, hitsBefore, 'no challenge: nothing was ordered');
      assert.ok(captured.lines.slice(mark).some((l) => l.msg === 'ACME: serving the stored certificate'));
      assert.ok(!captured.lines.slice(mark).some((l) => l.msg === 'ACME: ordering a certificate'));
    } finally {
      await source.close();
    }
  });

  test('renews when less than renewBefore remains, and the running server switches without a restart', async () => {
    // renewBefore longer than pebble's certificate lifetime: the stored certificate is due at once.
    const source = new AcmeCertificateSource(options({ renewBefore: 100 * 365 * day }));
    const seen: LoadedCertificate[] = [];
    source.onChange((c) => seen.push(c));
    await source.start();
    const { server, port } = await serve(source);
    try {
      // start() installs the stored certificate at once, then the renewal installs another in the background.
      assert.equal(seen[0]?.fingerprint256, first.fingerprint256);
      await waitUntil(() => seen.length >= 2, 60_000, 'a renewed certificate');
      const current = seen[1]!;
      assert.notEqual(current.fingerprint256, first.fingerprint256);
      assert.equal(source.current().fingerprint256, current.fingerprint256);
      for (const servername of ['localhost', undefined]) {
        const h = await handshake(port, root, servername);
        assert.equal(h.peer.fingerprint256, current.fingerprint256, `served certificate after renewal (SNI ${servername})`);
        assert.equal(h.authorized, true, h.authorizationError ?? '');
      }
      assert.equal(new X509Certificate(await readFile(join(source.dir, 'cert.pem'))).fingerprint256, current.fingerprint256, 'renewed certificate stored');
      assert.ok(captured.lines.some((l) => String(l.msg).includes('renewBefore is not shorter than the certificate lifetime')));
      first = current;
    } finally {
      await source.close();
      await close(server);
    }
  });

  test('a failed renewal keeps serving the current certificate and retries with backoff until it succeeds', async () => {
    answering = false;
    const source = new AcmeCertificateSource(options({ renewBefore: 100 * 365 * day, initialBackoff: 200, maxBackoff: 400 }));
    const mark = captured.lines.length;
    await source.start();
    const { server, port } = await serve(source);
    try {
      await captured.waitFor('ACME: renewal failed; still serving the current certificate', 60_000, mark);
      const firstFailure = captured.lines.length;
      await captured.waitFor('ACME: renewal failed; still serving the current certificate', 60_000, firstFailure);
      const failures = captured.lines.slice(mark).filter((l) => l.msg === 'ACME: renewal failed; still serving the current certificate');
      assert.ok(failures.length >= 2);
      assert.equal(failures[0]!.retryInMs, 200);
      assert.equal(failures[1]!.retryInMs, 400);
      assert.equal(source.current().fingerprint256, first.fingerprint256);
      const h = await handshake(port, root, 'localhost');
      assert.equal(h.peer.fingerprint256, first.fingerprint256, 'still the old certificate');
      assert.equal(h.authorized, true);

      const renewed = waitForEvent<LoadedCertificate>((fn) => source.onChange(fn), 60_000, 'renewal after recovery');
      answering = true;
      const next = await renewed;
      assert.notEqual(next.fingerprint256, first.fingerprint256);
      assert.equal((await handshake(port, root)).peer.fingerprint256, next.fingerprint256);
    } finally {
      answering = true;
      await source.close();
      await close(server);
    }
  });

  test('with no stored certificate and port 80 unreachable, start fails with a clear error', async () => {
    answering = false;
    try {
      const source = new AcmeCertificateSource(options({ storeDir: join(work, 'other-data', 'acme') }));
      await assert.rejects(source.start(), /ACME: could not obtain a certificate for localhost from https:\/\/127\.0\.0\.1:\d+\/dir: .*port 80/s);
      assert.throws(() => source.current(), /no certificate loaded/);
      await source.close();
    } finally {
      answering = true;
    }
  });

  test('an RSA key type works too', async () => {
    const source = new AcmeCertificateSource(options({ keyType: 'rsa', storeDir: join(work, 'rsa-data', 'acme') }));
    await source.start();
    try {
      assert.equal(source.current().leaf.publicKey.asymmetricKeyType, 'rsa');
      const { server, port } = await serve(source);
      try {
        assert.equal((await handshake(port, root, 'localhost')).authorized, true);
      } finally {
        await close(server);
      }
    } finally {
      await source.close();
    }
  });
});
