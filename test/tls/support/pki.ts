// Test certificates made with the real openssl binary: self-signed leaves, a CA and leaves it signs.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface Pem {
  readonly certPath: string;
  readonly keyPath: string;
  readonly certPem: string;
  readonly keyPem: string;
}

async function openssl(args: string[]): Promise<void> {
  try {
    await exec('openssl', args, { timeout: 30_000 });
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

async function read(certPath: string, keyPath: string): Promise<Pem> {
  return { certPath, keyPath, certPem: await readFile(certPath, 'utf8'), keyPem: await readFile(keyPath, 'utf8') };
}

const sanList = (names: readonly string[]): string => names.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`)).join(',');

/** A self-signed server certificate (EC P-256) for `names` (DNS names or IP addresses). */
export async function selfSigned(dir: string, name: string, names: readonly string[] = ['localhost', '127.0.0.1'], days = 2): Promise<Pem> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256',
    '-keyout', keyPath, '-out', certPath, '-days', String(days), '-subj', `/CN=${name}`,
    '-addext', `subjectAltName=${sanList(names)}`,
    '-addext', 'extendedKeyUsage=serverAuth',
  ]);
  return read(certPath, keyPath);
}

/** A CA certificate and key. */
export async function certificateAuthority(dir: string, name: string): Promise<Pem> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  await openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-sha256',
    '-keyout', keyPath, '-out', certPath, '-days', '3', '-subj', `/CN=${name} test CA`,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return read(certPath, keyPath);
}

/** A server certificate for `names` signed by `ca`. */
export async function issue(ca: Pem, dir: string, name: string, names: readonly string[] = ['localhost', '127.0.0.1']): Promise<Pem> {
  const certPath = join(dir, `${name}.crt`);
  const keyPath = join(dir, `${name}.key`);
  const csrPath = join(dir, `${name}.csr`);
  const extPath = join(dir, `${name}.ext`);
  await writeFile(
    extPath,
    `basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${sanList(names)}\n`,
  );
  await openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', csrPath, '-subj', `/CN=${name}`]);
  await openssl([
    'x509', '-req', '-in', csrPath, '-CA', ca.certPath, '-CAkey', ca.keyPath, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '2', '-sha256', '-extfile', extPath, '-out', certPath,
  ]);
  return read(certPath, keyPath);
}
