import { createHash, type Hash } from 'node:crypto';
import { DomainError } from './errors.js';

export type DigestAlgorithm = 'sha256' | 'sha512';

const hexLength: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };
const digestPattern = /^(sha256|sha512):([a-f0-9]+)$/;

export interface ParsedDigest {
  readonly algorithm: DigestAlgorithm;
  readonly hex: string;
}

export function parseDigest(value: string): ParsedDigest | null {
  const m = digestPattern.exec(value);
  if (!m) return null;
  const algorithm = m[1] as DigestAlgorithm;
  const hex = m[2]!;
  return hex.length === hexLength[algorithm] ? { algorithm, hex } : null;
}

export function isDigest(value: string): boolean {
  return parseDigest(value) !== null;
}

/** Parses a digest a client sent, throwing DigestInvalid otherwise. */
export function requireDigest(value: string | null | undefined): ParsedDigest {
  if (!value) throw new DomainError('DigestInvalid', 'digest is missing', undefined);
  const parsed = parseDigest(value);
  if (!parsed) {
    throw new DomainError('DigestInvalid', 'provided digest is not a valid sha256 or sha512 digest', { digest: value.slice(0, 200) });
  }
  return parsed;
}

export function isDigestAlgorithm(value: string): value is DigestAlgorithm {
  return value === 'sha256' || value === 'sha512';
}

export function newHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(data: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}
