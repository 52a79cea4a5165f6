// Where the HTTPS listener's certificate comes from, and how a new one reaches it without a restart.
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContext, type SecureVersion, type Server as TlsServer, type TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { Http01ChallengeResponder } from './challenges.js';

/** A certificate chain and its key, checked to belong together, with the secure context built from them. */
export interface LoadedCertificate {
  readonly certPem: string;
  readonly keyPem: string;
  readonly leaf: X509Certificate;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** SHA-256 fingerprint of the leaf, colon-separated hex (as X509Certificate.fingerprint256). */
  readonly fingerprint256: string;
  readonly context: SecureContext;
}

export interface CertificateSource {
  /** The current context (one certificate for every server name). Throws before start() succeeded. */
  secureContext(servername?: string): SecureContext;
  /** The current certificate and key. Throws before start() succeeded. */
  current(): LoadedCertificate;
  /** Loads (or obtains) the first certificate; throws with a clear message when there is none to serve. */
  start(): Promise<void>;
  /** Stops watching / renewing. The last certificate stays available. */
  close(): Promise<void>;
  /** Called after every change of certificate; returns a function that unsubscribes. */
  onChange(listener: (cert: LoadedCertificate) => void): () => void;
  /** HTTP-01 challenge answers for the plain-HTTP listener (ACME), null otherwise. */
  readonly challenges: Http01ChallengeResponder | null;
}

export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

/**
 * Checks that `certPem` parses, that its first certificate matches `keyPem`, and builds the secure context.
 * Throws CertificateError with a message an operator can act on.
 */
export function loadCertificate(certPem: string, keyPem: string, minVersion: SecureVersion = 'TLSv1.2', what = 'certificate'): LoadedCertificate {
  if (!/-----BEGIN CERTIFICATE-----/.test(certPem)) throw new CertificateError(`${what}: no PEM certificate (-----BEGIN CERTIFICATE-----) found`);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(certPem);
  } catch (err) {
    throw new CertificateError(`${what}: cannot parse the certificate: ${(err as Error).message}`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    const msg = (err as Error).message;
    throw new CertificateError(`${what}: cannot read the private key${/passphrase/i.test(msg) ? ' (encrypted keys are not supported)' : ''}: ${msg}`);
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new CertificateError(`${what}: the private key does not match the certificate (subject ${leaf.subject.replace(/\n/g, ', ')})`);
  }
  let context: SecureContext;
  try {
    context = createSecureContext({ cert: certPem, key: keyPem, minVersion });
  } catch (err) {
    throw new CertificateError(`${what}: ${(err as Error).message}`);
  }
  return {
    certPem,
    keyPem,
    leaf,
    notBefore: new Date(leaf.validFrom),
    notAfter: new Date(leaf.validTo),
    fingerprint256: leaf.fingerprint256,
    context,
  };
}

/** Shared plumbing: the current certificate and the listeners told when it changes. */
export abstract class BaseCertificateSource implements CertificateSource {
  private loaded: LoadedCertificate | null = null;
  private readonly listeners = new Set<(cert: LoadedCertificate) => void>();
  abstract readonly challenges: Http01ChallengeResponder | null;

  constructor(protected readonly log: Logger) {}

  abstract start(): Promise<void>;
  abstract close(): Promise<void>;

  secureContext(): SecureContext {
    return this.current().context;
  }

  current(): LoadedCertificate {
    if (!this.loaded) throw new CertificateError('no certificate loaded yet (start() has not succeeded)');
    return this.loaded;
  }

  protected hasCertificate(): boolean {
    return this.loaded !== null;
  }

  protected install(cert: LoadedCertificate): void {
    this.loaded = cert;
    for (const listener of this.listeners) {
      try {
        listener(cert);
      } catch (err) {
        this.log.error({ err }, 'certificate change listener failed');
      }
    }
  }

  onChange(listener: (cert: LoadedCertificate) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function describeCertificate(cert: LoadedCertificate): Record<string, unknown> {
  return {
    subject: cert.leaf.subject.replace(/\n/g, ', '),
    names: cert.leaf.subjectAltName,
    issuer: cert.leaf.issuer.replace(/\n/g, ', '),
    notAfter: cert.notAfter.toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}

export interface FileSourceOptions {
  log: Logger;
  minVersion?: SecureVersion;
  /** Wait this long after the last change event before reloading (files are often written in steps). Default 250 ms. */
  debounceMs?: number;
  /** Also re-read the files this often, for filesystems where watching misses changes (NFS, some volumes). Default 60 s; 0 disables. */
  pollIntervalMs?: number;
}

const digestOf = (a: string, b: string): string => createHash('sha256').update(a).update('\0').update(b).digest('hex');

/**
 * A certificate chain and key from PEM files. The directories holding them are watched (files are usually replaced
 * by rename, and Kubernetes swaps a symlinked directory), so any change there triggers a debounced re-read; the new
 * pair is used only when it parses and matches, otherwise the old one stays in service and an error is logged.
 */
export class FileCertificateSource extends BaseCertificateSource {
  readonly challenges = null;
  readonly certPath: string;
  readonly keyPath: string;
  private readonly minVersion: SecureVersion;
  private readonly debounceMs: number;
  private readonly pollIntervalMs: number;
  private watchers: FSWatcher[] = [];
  private debounce: NodeJS.Timeout | null = null;
  private poll: NodeJS.Timeout | null = null;
  private loadedDigest = '';
  private failedDigest = '';
  private reloading: Promise<void> | null = null;
  private again = false;
  private closed = false;

  constructor(certPath: string, keyPath: string, options: FileSourceOptions) {
    super(options.log);
    this.certPath = resolve(certPath);
    this.keyPath = resolve(keyPath);
    this.minVersion = options.minVersion ?? 'TLSv1.2';
    this.debounceMs = options.debounceMs ?? 250;
    this.pollIntervalMs = options.pollIntervalMs ?? 60_000;
  }

  private async readPair(): Promise<{ certPem: string; keyPem: string }> {
    const read = async (path: string, what: string): Promise<string> => {
      try {
        return await readFile(path, 'utf8');
      } catch (err) {
        throw new CertificateError(`cannot read the TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    };
    // One after the other, so that with both files missing the error always names the certificate first.
    const certPem = await read(this.certPath, 'certificate');
    const keyPem = await read(this.keyPath, 'key');
    return { certPem, keyPem };
  }

  async start(): Promise<void> {
    this.closed = false;
    const { certPem, keyPem } = await this.readPair();
    const cert = loadCertificate(certPem, keyPem, this.minVersion, `TLS certificate ${this.certPath} with key ${this.keyPath}`);
    this.loadedDigest = digestOf(certPem, keyPem);
    this.install(cert);
    this.warnIfExpiring(cert);
    this.log.info({ certificate: this.certPath, ...describeCertificate(cert) }, 'TLS certificate loaded');
    this.watch();
    if (this.pollIntervalMs > 0) {
      this.poll = setInterval(() => void this.reload(), this.pollIntervalMs);
      this.poll.unref();
    }
  }

  private warnIfExpiring(cert: LoadedCertificate): void {
    const left = cert.notAfter.getTime() - Date.now();
    if (left <= 0) this.log.error({ certificate: this.certPath, notAfter: cert.notAfter.toISOString() }, 'TLS certificate has expired: clients will refuse it');
    else if (left < 7 * 86_400_000) this.log.warn({ certificate: this.certPath, notAfter: cert.notAfter.toISOString() }, 'TLS certificate expires within 7 days');
  }

  private watch(): void {
    const dirs = new Set([dirname(this.certPath), dirname(this.keyPath)]);
    for (const dir of dirs) {
      try {
        const watcher = watch(dir, { persistent: false }, () => this.changed());
        watcher.on('error', (err) => {
          this.log.warn({ err, dir }, 'watching the TLS certificate directory failed; relying on periodic re-reads');
          watcher.close();
        });
        this.watchers.push(watcher);
      } catch (err) {
        this.log.warn({ err, dir }, 'cannot watch the TLS certificate directory; relying on periodic re-reads');
      }
    }
  }

  private changed(): void {
    if (this.closed) return;
    if (this.debounce) clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      this.debounce = null;
      void this.reload();
    }, this.debounceMs);
    this.debounce.unref();
  }

  /** Re-reads both files; installs the pair when it changed and is valid. Never throws. */
  async reload(): Promise<void> {
    if (this.reloading) {
      this.again = true;
      return this.reloading;
    }
    this.reloading = (async () => {
      do {
        this.again = false;
        await this.reloadOnce();
      } while (this.again && !this.closed);
    })().finally(() => (this.reloading = null));
    return this.reloading;
  }

  private async reloadOnce(): Promise<void> {
    if (this.closed) return;
    let pair: { certPem: string; keyPem: string };
    try {
      pair = await this.readPair();
    } catch (err) {
      const digest = `unreadable:${(err as Error).message}`;
      if (digest !== this.failedDigest) {
        this.failedDigest = digest;
        this.log.error({ err: (err as Error).message }, 'TLS certificate reload failed; still serving the previous certificate');
      }
      return;
    }
    const digest = digestOf(pair.certPem, pair.keyPem);
    if (digest === this.loadedDigest || digest === this.failedDigest) return;
    let cert: LoadedCertificate;
    try {
      cert = loadCertificate(pair.certPem, pair.keyPem, this.minVersion, `TLS certificate ${this.certPath} with key ${this.keyPath}`);
    } catch (err) {
      this.failedDigest = digest;
      this.log.error({ err: (err as Error).message }, 'TLS certificate reload failed; still serving the previous certificate');
      return;
    }
    this.loadedDigest = digest;
    this.failedDigest = '';
    this.install(cert);
    this.warnIfExpiring(cert);
    this.log.info({ certificate: basename(this.certPath), ...describeCertificate(cert) }, 'TLS certificate reloaded');
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    if (this.debounce) clearTimeout(this.debounce);
    if (this.poll) clearInterval(this.poll);
    this.debounce = this.poll = null;
    await this.reloading;
  }
}

/**
 * Options for https.createServer / tls.createServer: the current certificate (if one is loaded yet) as the default
 * context, used for clients that send no server name (e.g. connecting by IP address), and an SNICallback that always
 * hands out the newest one. Pair it with attachCertificateSource, which keeps the default context on the newest
 * certificate, including the first one when the server is created before the source is started.
 */
export function tlsServerOptions(source: CertificateSource, minVersion: SecureVersion = 'TLSv1.2'): TlsOptions {
  let pem: { cert?: string; key?: string } = {};
  try {
    const cert = source.current();
    pem = { cert: cert.certPem, key: cert.keyPem };
  } catch {
    // not started yet: attachCertificateSource installs the first certificate when start() loads it
  }
  return {
    ...pem,
    minVersion,
    SNICallback: (servername, cb) => {
      try {
        cb(null, source.secureContext(servername));
      } catch (err) {
        cb(err as Error, undefined);
      }
    },
  };
}

/** Keeps `server`'s default context on the source's newest certificate (server.setSecureContext). Returns an unsubscribe. */
export function attachCertificateSource(server: TlsServer, source: CertificateSource, minVersion: SecureVersion = 'TLSv1.2'): () => void {
  return source.onChange((cert) => server.setSecureContext({ cert: cert.certPem, key: cert.keyPem, minVersion }));
}
