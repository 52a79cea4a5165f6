// Automatic certificates from an ACME CA (RFC 8555) with HTTP-01 challenges, using acme-client.
//
// Layout under <dataDir>/acme/<directory>/ (one directory per ACME server, e.g. acme-v02.api.letsencrypt.org_directory):
//   account.key   account private key (0600)      account.json  account URL and contact
//   cert.pem      certificate chain, leaf first    key.pem       its private key (0600)
import { randomBytes } from 'node:crypto';
import { Agent } from 'node:https';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { rootCertificates, type SecureVersion } from 'node:tls';
import acme from 'acme-client';
import type { Logger } from 'pino';
import { BaseCertificateSource, CertificateError, describeCertificate, loadCertificate, type LoadedCertificate } from './certificates.js';
import { Http01ChallengeResponder } from './challenges.js';

export interface AcmeSourceOptions {
  domains: readonly string[];
  email?: string;
  directoryUrl: string;
  termsOfServiceAgreed: boolean;
  keyType: 'ecdsa' | 'rsa';
  /** ms: renew when less than this remains. */
  renewBefore: number;
  /** ms between expiry checks. */
  checkInterval: number;
  /** ms before the first retry after a failed renewal; doubles up to maxBackoff. */
  initialBackoff: number;
  maxBackoff: number;
  /** PEM file of extra CAs trusted for the ACME directory's HTTPS (read at start). */
  caBundle?: string;
  externalAccountBinding?: { kid: string; hmacKey: string };
  /** Usually `<dataDir>/acme`. */
  storeDir: string;
  log: Logger;
  minVersion?: SecureVersion;
  /** Shared with the plain-HTTP listener; a new one when omitted. */
  challenges?: Http01ChallengeResponder;
  /** How acme-client polls pending challenges and orders (defaults: 10 attempts, 5 s doubling to 30 s). */
  polling?: { attempts?: number; minMs?: number; maxMs?: number };
  /** Clock, for tests. */
  now?: () => number;
}

// setTimeout fires at once for delays past 2^31-1 ms (24.8 days).
const maxTimer = 2 ** 31 - 1;

/** File-system-safe name of an ACME directory: host, port and path. */
export function directorySlug(directoryUrl: string): string {
  const u = new URL(directoryUrl);
  return `${u.host}${u.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '_').replace(/^_+|_+$/g, '') || 'acme';
}

/** Writes `data` to `path` through a temporary file, fsync and rename, so a crash leaves the old or the new file. */
async function writeFileAtomic(path: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

async function readIfExists(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

// acme-client talks through one shared axios instance: extra trust anchors are given per ACME origin, and every
// request gets a timeout so a CA that stops answering cannot hang a renewal forever.
const agentsByOrigin = new Map<string, Agent>();
let interceptorInstalled = false;
const requestTimeoutMs = 30_000;

function configureTransport(directoryUrl: string, caBundlePem: string | undefined): void {
  if (caBundlePem) {
    agentsByOrigin.set(new URL(directoryUrl).origin, new Agent({ ca: [...rootCertificates, caBundlePem], keepAlive: true }));
  }
  if (interceptorInstalled) return;
  interceptorInstalled = true;
  acme.axios.interceptors.request.use((config) => {
    if (!config.timeout) config.timeout = requestTimeoutMs;
    if (!config.httpsAgent && config.url) {
      try {
        const agent = agentsByOrigin.get(new URL(config.url).origin);
        if (agent) config.httpsAgent = agent;
      } catch {
        // relative or malformed URL: leave it to axios
      }
    }
    return config;
  });
}

interface AccountRecord {
  directoryUrl: string;
  accountUrl: string;
  email: string | null;
}

export class AcmeCertificateSource extends BaseCertificateSource {
  readonly challenges: Http01ChallengeResponder;
  readonly dir: string;
  private readonly options: AcmeSourceOptions;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | null = null;
  private inFlight: Promise<LoadedCertificate> | null = null;
  private failures = 0;
  private closed = false;
  private warnedLifetime = false;

  constructor(options: AcmeSourceOptions) {
    super(options.log);
    if (options.domains.length === 0) throw new CertificateError('ACME: at least one domain is required');
    if (!options.termsOfServiceAgreed) throw new CertificateError("ACME: termsOfServiceAgreed must be true (read the CA's terms of service first)");
    this.options = options;
    this.challenges = options.challenges ?? new Http01ChallengeResponder();
    this.dir = join(options.storeDir, directorySlug(options.directoryUrl));
    this.now = options.now ?? Date.now;
  }

  private get paths() {
    return {
      accountKey: join(this.dir, 'account.key'),
      account: join(this.dir, 'account.json'),
      cert: join(this.dir, 'cert.pem'),
      key: join(this.dir, 'key.pem'),
    };
  }

  async start(): Promise<void> {
    this.closed = false;
    let caBundlePem: string | undefined;
    if (this.options.caBundle) {
      try {
        caBundlePem = await readFile(this.options.caBundle, 'utf8');
      } catch (err) {
        throw new CertificateError(`ACME: cannot read caBundle ${this.options.caBundle}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    configureTransport(this.options.directoryUrl, caBundlePem);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const stored = await this.loadStored();
    if (stored && stored.notAfter.getTime() > this.now()) {
      this.install(stored);
      this.log.info({ domains: this.options.domains, ...describeCertificate(stored) }, 'ACME: serving the stored certificate');
      this.schedule(this.needsRenewal(stored) ? 0 : this.options.checkInterval);
      return;
    }
    try {
      await this.obtain(stored ? 'stored certificate expired' : 'no certificate stored');
    } catch (err) {
      throw new CertificateError(
        `ACME: could not obtain a certificate for ${this.options.domains.join(', ')} from ${this.options.directoryUrl}: ${(err as Error).message}` +
          ' (the names must resolve to this server and port 80 must reach the plain-HTTP listener)',
      );
    }
    this.schedule(this.options.checkInterval);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The stored certificate when it is readable, matches its key and covers every configured domain; else null. */
  private async loadStored(): Promise<LoadedCertificate | null> {
    const [certPem, keyPem] = await Promise.all([readIfExists(this.paths.cert), readIfExists(this.paths.key)]);
    if (certPem === null || keyPem === null) return null;
    try {
      const cert = loadCertificate(certPem, keyPem, this.options.minVersion, `stored ACME certificate ${this.paths.cert}`);
      const missing = this.options.domains.filter((d) => cert.leaf.checkHost(d, { subject: 'never' }) === undefined);
      if (missing.length > 0) {
        this.log.info({ missing }, 'ACME: the stored certificate does not cover every configured domain; obtaining a new one');
        return null;
      }
      return cert;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'ACME: ignoring the stored certificate');
      return null;
    }
  }

  needsRenewal(cert: LoadedCertificate = this.current()): boolean {
    return cert.notAfter.getTime() - this.now() < this.options.renewBefore;
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.check(), Math.min(Math.max(delay, 0), maxTimer));
    this.timer.unref();
  }

  /** One periodic check: renew when due; on failure keep the current certificate and retry with backoff. */
  private async check(): Promise<void> {
    this.timer = null;
    if (this.closed) return;
    if (!this.needsRenewal()) {
      this.schedule(this.options.checkInterval);
      return;
    }
    try {
      await this.obtain('renewal due');
      this.failures = 0;
      this.schedule(this.options.checkInterval);
    } catch (err) {
      this.failures++;
      const delay = Math.min(this.options.initialBackoff * 2 ** (this.failures - 1), this.options.maxBackoff);
      this.log.error(
        { err: (err as Error).message, failures: this.failures, retryInMs: delay, notAfter: this.current().notAfter.toISOString() },
        'ACME: renewal failed; still serving the current certificate',
      );
      this.schedule(delay);
    }
  }

  /** Obtains a certificate now (one at a time), stores and installs it. */
  renewNow(reason = 'requested'): Promise<LoadedCertificate> {
    return this.obtain(reason);
  }

  private obtain(reason: string): Promise<LoadedCertificate> {
    if (!this.inFlight) {
      this.inFlight = this.order(reason).finally(() => (this.inFlight = null));
    }
    return this.inFlight;
  }

  private async accountKey(): Promise<Buffer> {
    const existing = await readIfExists(this.paths.accountKey);
    if (existing !== null) return Buffer.from(existing);
    const key = await acme.crypto.createPrivateEcdsaKey('P-256');
    await writeFileAtomic(this.paths.accountKey, key, 0o600);
    this.log.info({ path: this.paths.accountKey }, 'ACME: created an account key');
    return key;
  }

  private async readAccount(): Promise<AccountRecord | null> {
    const text = await readIfExists(this.paths.account);
    if (text === null) return null;
    try {
      const record = JSON.parse(text) as Partial<AccountRecord>;
      if (record.directoryUrl !== this.options.directoryUrl || typeof record.accountUrl !== 'string') return null;
      return { directoryUrl: record.directoryUrl, accountUrl: record.accountUrl, email: typeof record.email === 'string' ? record.email : null };
    } catch {
      return null;
    }
  }

  private async order(reason: string): Promise<LoadedCertificate> {
    const { domains, email, directoryUrl } = this.options;
    const started = this.now();
    this.log.info({ domains, directoryUrl, reason }, 'ACME: ordering a certificate');
    const accountKey = await this.accountKey();
    const account = await this.readAccount();
    const client = new acme.Client({
      directoryUrl,
      accountKey,
      ...(account ? { accountUrl: account.accountUrl } : {}),
      ...(this.options.externalAccountBinding ? { externalAccountBinding: this.options.externalAccountBinding } : {}),
      ...(this.options.polling?.attempts !== undefined ? { backoffAttempts: this.options.polling.attempts } : {}),
      ...(this.options.polling?.minMs !== undefined ? { backoffMin: this.options.polling.minMs } : {}),
      ...(this.options.polling?.maxMs !== undefined ? { backoffMax: this.options.polling.maxMs } : {}),
    });
    if (account && (account.email ?? null) !== (email ?? null)) {
      try {
        await client.updateAccount({ contact: email ? [`mailto:${email}`] : [] });
        this.log.info({ email: email ?? null }, 'ACME: updated the account contact');
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'ACME: could not update the account contact');
      }
    }
    const certKey = this.options.keyType === 'rsa' ? await acme.crypto.createPrivateRsaKey(2048) : await acme.crypto.createPrivateEcdsaKey('P-256');
    const [, csr] = await acme.crypto.createCsr({ commonName: domains[0], altNames: [...domains] }, certKey);
    const chain = await client.auto({
      csr,
      ...(email ? { email } : {}),
      termsOfServiceAgreed: this.options.termsOfServiceAgreed,
      challengePriority: ['http-01'],
      // The CA checks the challenge itself; a self-check from inside would fail behind NAT or split DNS.
      skipChallengeVerification: true,
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => {
        if (challenge.type !== 'http-01') throw new Error(`ACME offered no http-01 challenge (got ${challenge.type})`);
        this.challenges.set(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (_authz, challenge) => {
        this.challenges.delete(challenge.token);
      },
    });
    const accountRecord: AccountRecord = { directoryUrl, accountUrl: client.getAccountUrl(), email: email ?? null };
    if (!account || account.accountUrl !== accountRecord.accountUrl || account.email !== accountRecord.email) {
      await writeFileAtomic(this.paths.account, `${JSON.stringify(accountRecord, null, 2)}\n`, 0o600);
    }
    const cert = loadCertificate(chain, certKey.toString('utf8'), this.options.minVersion, 'certificate issued by the ACME server');
    const missing = domains.filter((d) => cert.leaf.checkHost(d, { subject: 'never' }) === undefined);
    if (missing.length > 0) throw new CertificateError(`the issued certificate does not cover ${missing.join(', ')}`);
    // Key first: a crash between the two writes leaves a pair that does not match, which start() discards.
    await writeFileAtomic(this.paths.key, certKey, 0o600);
    await writeFileAtomic(this.paths.cert, chain, 0o644);
    if (this.closed && this.hasCertificate()) {
      this.log.info({ ...describeCertificate(cert) }, 'ACME: certificate stored after close; it is served from the next start');
      return cert;
    }
    this.install(cert);
    this.log.info({ ms: this.now() - started, ...describeCertificate(cert) }, 'ACME: certificate installed');
    const lifetime = cert.notAfter.getTime() - cert.notBefore.getTime();
    if (lifetime <= this.options.renewBefore && !this.warnedLifetime) {
      this.warnedLifetime = true;
      this.log.warn(
        { renewBeforeMs: this.options.renewBefore, lifetimeMs: lifetime },
        'ACME: renewBefore is not shorter than the certificate lifetime: it will be renewed at every check',
      );
    }
    return cert;
  }
}
