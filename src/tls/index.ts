// TLS for the API listener: choose the certificate source from the configuration.
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { FileCertificateSource, type CertificateSource } from './certificates.js';
import type { TlsConfig } from './config.js';

export {
  attachCertificateSource,
  CertificateError,
  FileCertificateSource,
  loadCertificate,
  tlsServerOptions,
  type CertificateSource,
  type LoadedCertificate,
} from './certificates.js';
export { Http01ChallengeResponder } from './challenges.js';
export { tlsConfigSchema, type TlsConfig } from './config.js';
export { startPlainHttpListener, type PlainHttpListener } from './listener.js';
export { createPlainHttpHandler, httpsLocation, type PlainHttpOptions, type RequestHandler } from './redirect.js';

export interface CertificateSourceDeps {
  /** The resolved storage.dataDir; ACME state goes to `<dataDir>/acme`. */
  dataDir: string;
  log: Logger;
}

/**
 * null for mode `none`; otherwise a source to start() (after the plain-HTTP listener is up, before the HTTPS one
 * listens). The ACME client is loaded only when used: it is most of a registry's start-up memory otherwise.
 */
export async function createCertificateSource(config: TlsConfig, deps: CertificateSourceDeps): Promise<CertificateSource | null> {
  const log = deps.log.child({ component: 'tls' });
  switch (config.mode) {
    case 'none':
      return null;
    case 'files':
      if (!config.certificate || !config.key) throw new Error('tls.certificate and tls.key are required when tls.mode is files');
      return new FileCertificateSource(config.certificate, config.key, { log, minVersion: config.minVersion });
    case 'acme': {
      const { acme } = config;
      const { AcmeCertificateSource } = await import('./acme.js');
      return new AcmeCertificateSource({
        domains: acme.domains,
        ...(acme.email ? { email: acme.email } : {}),
        directoryUrl: acme.directoryUrl,
        termsOfServiceAgreed: acme.termsOfServiceAgreed,
        keyType: acme.keyType,
        renewBefore: acme.renewBefore,
        checkInterval: acme.checkInterval,
        initialBackoff: acme.initialBackoff,
        maxBackoff: acme.maxBackoff,
        ...(acme.caBundle ? { caBundle: resolve(acme.caBundle) } : {}),
        ...(acme.eabKeyId && acme.eabHmacKey ? { externalAccountBinding: { kid: acme.eabKeyId, hmacKey: acme.eabHmacKey } } : {}),
        storeDir: join(deps.dataDir, 'acme'),
        log,
        minVersion: config.minVersion,
      });
    }
  }
}
