import type { IncomingMessage } from 'node:http';
import { RegistryError } from './errors.js';

/** Reads a small request body (a manifest) into memory, refusing anything over the limit before reading it all. */
export async function readLimitedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new RegistryError('SIZE_INVALID', `manifest exceeds the limit of ${limit} bytes`, { limit }, { status: 413 });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      throw new RegistryError('SIZE_INVALID', `manifest exceeds the limit of ${limit} bytes`, { limit }, { status: 413 });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/** Whether a request carries a body at all (a PUT that only closes an upload usually has none). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (length !== undefined) return Number(length) > 0;
  return req.headers['transfer-encoding'] !== undefined;
}
