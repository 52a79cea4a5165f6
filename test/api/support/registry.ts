// Registry-level helpers: digests, error bodies, pushing blobs and manifests, building OCI / Docker documents.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Client, show, expectStatus, json, requireHeader, type Res } from './http.js';

export type Algorithm = 'sha256' | 'sha512';

export function digestOf(data: Uint8Array | string, alg: Algorithm = 'sha256'): string {
  return `${alg}:${createHash(alg).update(data).digest('hex')}`;
}

export function randomData(size: number): Buffer {
  return randomBytes(size);
}

let counter = 0;
/** A fresh repository name (valid grammar), unique within the process. */
export function repoName(prefix: string): string {
  counter += 1;
  return `${prefix}/r${counter}-${randomBytes(3).toString('hex')}`;
}

export const MT = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  ociLayerNondist: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  ociEmpty: 'application/vnd.oci.empty.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  dockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
} as const;

export const EMPTY_JSON = Buffer.from('{}');

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  platform?: { architecture: string; os: string };
  data?: string;
}

export interface Index {
  schemaVersion: number;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** The codes the spec's error table allows, plus the legacy Docker codes it names as optional. */
export const SPEC_ERROR_CODES: ReadonlySet<string> = new Set([
  'BLOB_UNKNOWN',
  'BLOB_UPLOAD_INVALID',
  'BLOB_UPLOAD_UNKNOWN',
  'DIGEST_INVALID',
  'MANIFEST_BLOB_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNKNOWN',
  'NAME_INVALID',
  'NAME_UNKNOWN',
  'SIZE_INVALID',
  'UNAUTHORIZED',
  'DENIED',
  'UNSUPPORTED',
  'TOOMANYREQUESTS',
  'TAG_INVALID',
  'MANIFEST_UNVERIFIED',
]);

export interface ErrorEntry {
  code: string;
  message?: unknown;
  detail?: unknown;
}

/** Checks the error body format ({"errors":[{code,message,detail}]}, codes from the spec table); returns the codes. */
export function errorCodes(res: Res): string[] {
  if (res.method === 'HEAD') return [];
  assert.ok(res.body.length > 0, `error response has no body: ${show(res)}`);
  const ct = res.headers.get('content-type') ?? '';
  assert.match(ct, /json/i, `error body should be JSON: ${show(res)}`);
  const doc = json<{ errors?: unknown }>(res);
  assert.ok(doc !== null && typeof doc === 'object' && Array.isArray(doc.errors) && doc.errors.length > 0, `error body lacks an "errors" array: ${show(res)}`);
  const codes: string[] = [];
  for (const e of doc.errors as unknown[]) {
    assert.ok(e !== null && typeof e === 'object', `error entry is not an object: ${show(res)}`);
    const entry = e as ErrorEntry;
    assert.equal(typeof entry.code, 'string', `error entry lacks a code: ${show(res)}`);
    assert.match(entry.code, /^[A-Z_]+$/, `error code must be uppercase letters and underscores: ${show(res)}`);
    assert.ok(SPEC_ERROR_CODES.has(entry.code), `error code ${entry.code} is not one of the spec's codes: ${show(res)}`);
    if (entry.message !== undefined) assert.equal(typeof entry.message, 'string', `error message must be a string: ${show(res)}`);
    codes.push(entry.code);
  }
  return codes;
}

/** Status is exactly `status` and (except for HEAD) the body is a spec error naming one of `code`. */
export function expectError(res: Res, status: number | readonly number[], code: string | readonly string[]): void {
  expectStatus(res, status);
  if (res.method === 'HEAD') return;
  const codes = errorCodes(res);
  const wanted = typeof code === 'string' ? [code] : code;
  assert.ok(codes.some((c) => wanted.includes(c)), `expected error code ${wanted.join(' or ')}, got ${codes.join(',')}: ${show(res)}`);
}

/** Status as given; a body, if any, must be a well-formed spec error. */
export function expectErrorStatus(res: Res, status: number | readonly number[]): void {
  expectStatus(res, status);
  if (res.method !== 'HEAD' && res.body.length > 0) errorCodes(res);
}

// ---------------------------------------------------------------------------------------------------------------
// Blobs

export interface PushedBlob {
  readonly data: Buffer;
  readonly digest: string;
  readonly size: number;
}

/** POST then PUT ?digest= (the most basic push); asserts 201. */
export async function pushBlob(c: Client, repo: string, data: Buffer, alg: Algorithm = 'sha256'): Promise<PushedBlob> {
  const digest = digestOf(data, alg);
  const post = await c.post(`/v2/${repo}/blobs/uploads/`);
  expectStatus(post, 202);
  const loc = requireHeader(post, 'location');
  const put = await c.put(withQuery(loc, { digest }), {
    headers: { 'Content-Type': 'application/octet-stream' },
    body: data,
  });
  expectStatus(put, 201);
  return { data, digest, size: data.length };
}

export function pushRandomBlob(c: Client, repo: string, size = 256, alg: Algorithm = 'sha256'): Promise<PushedBlob> {
  return pushBlob(c, repo, randomData(size), alg);
}

/** Appends query parameters to a (possibly absolute, possibly already-queried) upload location. */
export function withQuery(location: string, params: Record<string, string>): string {
  const u = new URL(location, 'http://placeholder.invalid');
  for (const [k, v] of Object.entries(params)) u.searchParams.append(k, v);
  return /^[a-z]+:\/\//i.test(location) ? u.toString() : `${u.pathname}${u.search}`;
}

/** Starts an upload session; returns its Location (as sent) and the response. */
export async function startUpload(c: Client, repo: string, query = ''): Promise<{ location: string; res: Res }> {
  const res = await c.post(`/v2/${repo}/blobs/uploads/${query}`, { headers: { 'Content-Length': '0' } });
  expectStatus(res, 202);
  return { location: requireHeader(res, 'location'), res };
}

// ---------------------------------------------------------------------------------------------------------------
// Manifests

export interface PushedManifest {
  readonly bytes: Buffer;
  readonly digest: string;
  readonly mediaType: string;
  readonly descriptor: Descriptor;
  readonly res: Res;
}

export function manifestBytes(doc: unknown, indent?: number): Buffer {
  return Buffer.from(JSON.stringify(doc, null, indent));
}

/** PUT a manifest; does not assert the status. */
export function putManifest(c: Client, repo: string, ref: string, bytes: Buffer | string, contentType: string): Promise<Res> {
  return c.put(`/v2/${repo}/manifests/${ref}`, { headers: { 'Content-Type': contentType }, body: bytes });
}

/** PUT a manifest and assert 201; `ref` defaults to the sha256 digest. */
export async function pushManifest(
  c: Client,
  repo: string,
  bytes: Buffer,
  mediaType: string,
  ref?: string,
  alg: Algorithm = 'sha256',
): Promise<PushedManifest> {
  const digest = digestOf(bytes, alg);
  const res = await putManifest(c, repo, ref ?? digest, bytes, mediaType);
  expectStatus(res, 201);
  return { bytes, digest, mediaType, descriptor: { mediaType, digest, size: bytes.length }, res };
}

export interface ImageOptions {
  readonly tag?: string;
  readonly alg?: Algorithm;
  readonly docker?: boolean;
  readonly layers?: number;
  readonly artifactType?: string;
  readonly configMediaType?: string;
  /** Config blob content (default: a small unique JSON document). */
  readonly config?: Buffer;
  readonly subject?: Descriptor;
  readonly annotations?: Record<string, string>;
  /** Push by this reference rather than by tag / digest. */
  readonly ref?: string;
}

export interface PushedImage extends PushedManifest {
  readonly config: PushedBlob;
  readonly layers: readonly PushedBlob[];
}

/** Builds the document of an image manifest whose blobs are given. */
export function imageDoc(
  config: { digest: string; size: number; mediaType: string },
  layers: readonly { digest: string; size: number; mediaType: string }[],
  extra: Record<string, unknown> = {},
  docker = false,
): Record<string, unknown> {
  return {
    schemaVersion: 2,
    mediaType: docker ? MT.dockerManifest : MT.ociManifest,
    ...(extra.artifactType !== undefined ? { artifactType: extra.artifactType } : {}),
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'artifactType')),
  };
}

/** Pushes config + layers, then the manifest (by tag if given, else by digest). */
export async function pushImage(c: Client, repo: string, opts: ImageOptions = {}): Promise<PushedImage> {
  const alg = opts.alg ?? 'sha256';
  const docker = opts.docker ?? false;
  const configData = opts.config ?? Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', nonce: randomBytes(8).toString('hex') }));
  const config = await pushBlob(c, repo, configData, alg);
  const layers: PushedBlob[] = [];
  for (let i = 0; i < (opts.layers ?? 1); i += 1) layers.push(await pushRandomBlob(c, repo, 300 + i, alg));
  const configMediaType = opts.configMediaType ?? (docker ? MT.dockerConfig : MT.ociConfig);
  const layerMediaType = docker ? MT.dockerLayer : MT.ociLayer;
  const extra: Record<string, unknown> = {};
  if (opts.artifactType !== undefined) extra.artifactType = opts.artifactType;
  if (opts.subject) extra.subject = opts.subject;
  if (opts.annotations) extra.annotations = opts.annotations;
  const doc = imageDoc(
    { ...config, mediaType: configMediaType },
    layers.map((l) => ({ ...l, mediaType: layerMediaType })),
    extra,
    docker,
  );
  const bytes = manifestBytes(doc);
  const mediaType = docker ? MT.dockerManifest : MT.ociManifest;
  const pushed = await pushManifest(c, repo, bytes, mediaType, opts.ref ?? opts.tag, alg);
  return { ...pushed, config, layers };
}

export interface IndexOptions {
  readonly tag?: string;
  readonly docker?: boolean;
  readonly artifactType?: string;
  readonly subject?: Descriptor;
  readonly annotations?: Record<string, string>;
}

export async function pushIndex(c: Client, repo: string, children: readonly Descriptor[], opts: IndexOptions = {}): Promise<PushedManifest> {
  const mediaType = opts.docker ? MT.dockerList : MT.ociIndex;
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType };
  if (opts.artifactType !== undefined) doc.artifactType = opts.artifactType;
  doc.manifests = children;
  if (opts.subject) doc.subject = opts.subject;
  if (opts.annotations) doc.annotations = opts.annotations;
  return pushManifest(c, repo, manifestBytes(doc), mediaType, opts.tag);
}

/** The `platform`-annotated descriptor of a pushed manifest, for an index. */
export function platformDescriptor(m: PushedManifest, architecture: string): Descriptor {
  return { ...m.descriptor, platform: { architecture, os: 'linux' } };
}

// ---------------------------------------------------------------------------------------------------------------
// Links

/** Parses `Link: <url>; rel="next"` and returns the URL resolved against the request URL, or null. */
export function nextLink(res: Res): string | null {
  const link = res.headers.get('link');
  if (link === null) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m) continue;
    if (/(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2] ?? '')) return new URL(m[1] ?? '', res.url).toString();
  }
  assert.fail(`Link header without a well-formed rel="next" entry: ${show(res)}`);
}

export function asciiSorted(list: readonly string[]): string[] {
  return [...list].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export function lexicalSorted(list: readonly string[]): string[] {
  return [...list].sort((a, b) => {
    const la = a.toLowerCase();
    const lb = b.toLowerCase();
    if (la !== lb) return la < lb ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
}

/** The spec allows lexical (case-insensitive) or ASCIIbetical order. */
export function assertSorted(list: readonly string[], what: string): void {
  const ok = JSON.stringify(list) === JSON.stringify(asciiSorted(list)) || JSON.stringify(list) === JSON.stringify(lexicalSorted(list));
  assert.ok(ok, `${what} is not in lexical or ASCIIbetical order: ${JSON.stringify(list)}`);
}

export function splitHeaderList(v: string | null): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
