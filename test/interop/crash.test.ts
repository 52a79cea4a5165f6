// Crash test: 20 concurrent pushes over raw HTTP, SIGKILL of the registry mid-stream, restart on the same data
// directory, then: every acknowledged write is there intact, nothing unacknowledged is visible half-done,
// interrupted upload sessions either resume correctly or are cleanly unknown, and garbage requests never get a 5xx.
// Three kill/restart cycles at different moments, then a clean restart and a last full check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { freePort, tempDir } from '../support/processes.js';
import { describeResult, MANIFEST_ACCEPT, pool, RegistryHttp, type HttpResult } from './support/http.js';
import { OCI_MANIFEST } from './support/oci.js';
import { distributionEmptyLinks, startOnDataDir, type Incarnation } from './support/restartable.js';
import { targetName } from './support/target.js';

const WORKERS = 20;
const CYCLES = 3;
const KiB = 1024;
const MiB = 1024 * KiB;
/** Layer sizes, cycled through by the workers: from a few KiB to several MiB. */
const LAYER_SIZES = [4 * KiB, 40 * KiB, 300 * KiB, 1 * MiB, 2 * MiB + 123, 3 * MiB + 7, 5 * MiB + 1];
const CHUNK = 512 * KiB;
const MAX_IMAGES_PER_WORKER_PER_CYCLE = 40;
/** Kill windows (ms after the pushes start), one per cycle, each a random point in its window. */
const KILL_WINDOWS: readonly [number, number][] = [
  [100, 500],
  [500, 1000],
  [1000, 1500],
];
const MAX_RESUMES_PER_CYCLE = 10;

type BlobState = 'local' | 'finalSent' | 'committed';
interface BlobRec {
  readonly repo: string;
  readonly digest: string;
  readonly size: number;
  data: Buffer | undefined; // kept only while an upload of it might still be resumed
  state: BlobState;
}

interface Session {
  readonly cycle: number;
  readonly blob: BlobRec;
  location: string; // path + query
  acked: number; // bytes acknowledged by 202 responses
  sent: number; // bytes handed to the network (>= acked)
  finalSent: boolean; // the closing PUT ?digest= was started
}

type ManifestState = 'local' | 'sent' | 'acked';
interface ImageRec {
  readonly repo: string;
  readonly tag: string;
  readonly digest: string;
  readonly bytes: Buffer;
  readonly config: BlobRec;
  readonly layer: BlobRec;
  state: ManifestState;
}

interface LatestPut {
  readonly image: ImageRec;
  state: 'sent' | 'acked';
}

interface World {
  readonly blobs: BlobRec[];
  readonly images: ImageRec[];
  readonly sessions: Session[];
  readonly latest: Map<string, LatestPut[]>; // repo -> 'latest' tag PUTs in the order sent
}

interface CycleCtx {
  readonly cycle: number;
  readonly http: RegistryHttp;
  readonly world: World;
  killed: boolean;
  /** Responses no correct server gives, and transport failures before the kill. */
  readonly errors: string[];
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const repoOf = (w: number): string => `crash/w${String(w).padStart(2, '0')}`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Unexpected extends Error {}

function expectStatus(ctx: CycleCtx, res: HttpResult, status: number, what: string): void {
  if (res.status !== status) {
    const msg = `${what}: expected ${status}, got ${describeResult(res)}`;
    ctx.errors.push(msg);
    throw new Unexpected(msg);
  }
}

function requireLocation(ctx: CycleCtx, res: HttpResult, what: string): string {
  const loc = res.headers.get('location');
  if (!loc) {
    const msg = `${what}: no Location header: ${describeResult(res)}`;
    ctx.errors.push(msg);
    throw new Unexpected(msg);
  }
  return ctx.http.pathOf(loc);
}

function withDigest(location: string, digest: string): string {
  return `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
}

function newBlob(world: World, repo: string, data: Buffer): BlobRec {
  const blob: BlobRec = { repo, digest: sha256(data), size: data.length, data, state: 'local' };
  world.blobs.push(blob);
  return blob;
}

async function startUpload(ctx: CycleCtx, repo: string): Promise<string> {
  const res = await ctx.http.req('POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
  expectStatus(ctx, res, 202, 'POST upload');
  return requireLocation(ctx, res, 'POST upload');
}

/** POST, then one PUT ?digest= carrying the whole blob. */
async function uploadMonolithic(ctx: CycleCtx, blob: BlobRec): Promise<void> {
  const location = await startUpload(ctx, blob.repo);
  blob.state = 'finalSent';
  const res = await ctx.http.req('PUT', withDigest(location, blob.digest), {
    headers: { 'content-type': 'application/octet-stream' },
    body: blob.data,
  });
  expectStatus(ctx, res, 201, `PUT monolithic ${blob.digest}`);
  blob.state = 'committed';
  blob.data = undefined;
}

/** POST, PATCH chunks with Content-Range, then PUT ?digest= with no body. */
async function uploadChunked(ctx: CycleCtx, blob: BlobRec): Promise<void> {
  const data = blob.data;
  assert.ok(data);
  const session: Session = { cycle: ctx.cycle, blob, location: await startUpload(ctx, blob.repo), acked: 0, sent: 0, finalSent: false };
  ctx.world.sessions.push(session);
  for (let off = 0; off < data.length; off += CHUNK) {
    const end = Math.min(off + CHUNK, data.length);
    session.sent = end;
    const res = await ctx.http.req('PATCH', session.location, {
      headers: { 'content-type': 'application/octet-stream', 'content-range': `${off}-${end - 1}` },
      body: data.subarray(off, end),
    });
    expectStatus(ctx, res, 202, `PATCH ${off}-${end - 1} of ${blob.digest}`);
    session.location = requireLocation(ctx, res, 'PATCH');
    session.acked = end;
    const range = res.headers.get('range');
    if (range !== `0-${end - 1}`) {
      ctx.errors.push(`PATCH ${off}-${end - 1}: Range header ${JSON.stringify(range)}, expected "0-${end - 1}": ${describeResult(res)}`);
    }
  }
  session.finalSent = true;
  blob.state = 'finalSent';
  const res = await ctx.http.req('PUT', withDigest(session.location, blob.digest), { headers: { 'content-length': '0' } });
  expectStatus(ctx, res, 201, `PUT ?digest= closing ${blob.digest}`);
  blob.state = 'committed';
  blob.data = undefined;
}

async function putManifest(ctx: CycleCtx, image: ImageRec, tag: string, onSent: () => void, onAcked: () => void): Promise<void> {
  onSent();
  const res = await ctx.http.req('PUT', `/v2/${image.repo}/manifests/${tag}`, {
    headers: { 'content-type': OCI_MANIFEST },
    body: image.bytes,
  });
  expectStatus(ctx, res, 201, `PUT manifest ${image.repo}:${tag}`);
  onAcked();
  const dcd = res.headers.get('docker-content-digest');
  if (dcd !== null && dcd !== image.digest) ctx.errors.push(`PUT manifest ${image.repo}:${tag}: Docker-Content-Digest ${dcd}, expected ${image.digest}`);
}

async function pushImage(ctx: CycleCtx, w: number, n: number): Promise<void> {
  const repo = repoOf(w);
  const size = LAYER_SIZES[(w + n * 3 + ctx.cycle) % LAYER_SIZES.length] ?? 4 * KiB;
  const layer = newBlob(ctx.world, repo, randomBytes(size));
  const configJson = {
    architecture: 'amd64',
    os: 'linux',
    config: { Labels: { 'org.example.wharf.crash': `c${ctx.cycle}-w${w}-n${n}` } },
    rootfs: { type: 'layers', diff_ids: [layer.digest] },
    nonce: randomBytes(16).toString('hex'),
  };
  const config = newBlob(ctx.world, repo, Buffer.from(JSON.stringify(configJson)));
  await uploadMonolithic(ctx, config);
  await uploadChunked(ctx, layer);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: config.digest, size: config.size },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: layer.digest, size: layer.size }],
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const image: ImageRec = { repo, tag: `c${ctx.cycle}-w${w}-n${n}`, digest: sha256(bytes), bytes, config, layer, state: 'local' };
  ctx.world.images.push(image);
  await putManifest(
    ctx,
    image,
    image.tag,
    () => (image.state = 'sent'),
    () => (image.state = 'acked'),
  );
  const puts = ctx.world.latest.get(repo) ?? [];
  ctx.world.latest.set(repo, puts);
  const put: LatestPut = { image, state: 'sent' };
  await putManifest(
    ctx,
    image,
    'latest',
    () => puts.push(put),
    () => (put.state = 'acked'),
  );
}

async function worker(ctx: CycleCtx, w: number): Promise<void> {
  for (let n = 0; n < MAX_IMAGES_PER_WORKER_PER_CYCLE && !ctx.killed; n++) {
    try {
      await pushImage(ctx, w, n);
    } catch (err) {
      if (err instanceof Unexpected) return; // already recorded
      if (!ctx.killed) ctx.errors.push(`worker ${w}: request failed before the kill: ${err instanceof Error ? `${err.message} ${String(err.cause ?? '')}` : String(err)}`);
      return;
    }
  }
}

// ---------------------------------------------------------------- checks after a restart

interface Checker {
  readonly http: RegistryHttp;
  readonly problems: string[];
  /** Tolerated findings (e.g. known deviations of the reference registry), reported as diagnostics. */
  readonly notes: Set<string>;
  requests: number;
}

async function get(c: Checker, method: 'GET' | 'HEAD', path: string, headers: Record<string, string> = {}): Promise<HttpResult> {
  c.requests++;
  const res = await c.http.req(method, path, { headers });
  if (res.status >= 500) c.problems.push(`server error: ${describeResult(res)}`);
  return res;
}

/** GET and HEAD of a blob must give exactly its bytes / size. */
async function blobIntact(c: Checker, blob: BlobRec, why: string): Promise<void> {
  const path = `/v2/${blob.repo}/blobs/${blob.digest}`;
  const res = await get(c, 'GET', path);
  if (res.status !== 200) {
    c.problems.push(`${why}: blob ${blob.digest} (${blob.size} bytes) must be served, got ${describeResult(res)}`);
    return;
  }
  if (res.body.length !== blob.size || sha256(res.body) !== blob.digest) {
    c.problems.push(`${why}: blob ${path} served ${res.body.length} bytes hashing to ${sha256(res.body)}, expected ${blob.size} bytes ${blob.digest}`);
  }
  const head = await get(c, 'HEAD', path);
  if (head.status !== 200 || head.headers.get('content-length') !== String(blob.size)) {
    c.problems.push(`${why}: HEAD ${path} expected 200 with Content-Length ${blob.size}, got ${describeResult(head)}`);
  }
}

/** A blob whose upload was never completed must not exist. */
async function blobAbsent(c: Checker, blob: BlobRec, why: string): Promise<void> {
  const path = `/v2/${blob.repo}/blobs/${blob.digest}`;
  for (const method of ['HEAD', 'GET'] as const) {
    const res = await get(c, method, path);
    if (res.status !== 404) c.problems.push(`${why}: ${method} of a never-completed blob must be 404, got ${describeResult(res)}`);
  }
}

/** 404, or the whole blob. */
async function blobAbsentOrIntact(c: Checker, blob: BlobRec, why: string): Promise<boolean> {
  const path = `/v2/${blob.repo}/blobs/${blob.digest}`;
  const res = await get(c, 'GET', path);
  if (res.status === 404) return false;
  if (res.status !== 200) c.problems.push(`${why}: expected 404 or 200, got ${describeResult(res)}`);
  else if (res.body.length !== blob.size || sha256(res.body) !== blob.digest) {
    c.problems.push(`${why}: partial blob visible: ${path} served ${res.body.length} bytes hashing to ${sha256(res.body)}, expected ${blob.size} bytes`);
  }
  return res.status === 200;
}

async function manifestIs(c: Checker, image: ImageRec, reference: string, why: string): Promise<boolean> {
  const res = await get(c, 'GET', `/v2/${image.repo}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
  if (res.status !== 200) {
    c.problems.push(`${why}: GET manifest ${image.repo}:${reference} expected 200 with ${image.digest}, got ${describeResult(res)}`);
    return false;
  }
  if (!res.body.equals(image.bytes)) {
    c.problems.push(`${why}: GET manifest ${image.repo}:${reference} served other bytes (digest ${sha256(res.body)}, expected ${image.digest})`);
    return false;
  }
  return true;
}

async function listTags(c: Checker, repo: string): Promise<string[] | null> {
  const tags: string[] = [];
  let path: string | null = `/v2/${repo}/tags/list`;
  for (let page = 0; path && page < 100; page++) {
    const res = await get(c, 'GET', path);
    if (res.status === 404 && page === 0) return null;
    if (res.status !== 200) {
      c.problems.push(`tags list: ${describeResult(res)}`);
      return tags;
    }
    const body = JSON.parse(res.body.toString('utf8')) as { tags?: string[] | null };
    tags.push(...(body.tags ?? []));
    const link = res.headers.get('link');
    const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
    path = m?.[1] ? c.http.pathOf(m[1]) : null;
  }
  return tags;
}

async function verifyWorld(c: Checker, world: World): Promise<{ acked: number; sentVisible: number; sentAbsent: number }> {
  const counts = { acked: 0, sentVisible: 0, sentAbsent: 0 };
  const checkedBlobs = new Set<BlobRec>();
  await pool(world.images, 8, async (img) => {
    const label = `${img.repo}:${img.tag}`;
    if (img.state === 'acked') {
      counts.acked++;
      if (await manifestIs(c, img, img.tag, `acknowledged ${label}`)) await manifestIs(c, img, img.digest, `acknowledged ${label} by digest`);
      await blobIntact(c, img.config, `config of acknowledged ${label}`);
      await blobIntact(c, img.layer, `layer of acknowledged ${label}`);
      checkedBlobs.add(img.config).add(img.layer);
    } else if (img.state === 'sent') {
      const res = await get(c, 'GET', `/v2/${img.repo}/manifests/${img.tag}`, { accept: MANIFEST_ACCEPT });
      if (res.status === 404) counts.sentAbsent++;
      else if (res.status === 200 && res.body.equals(img.bytes)) {
        counts.sentVisible++;
        await blobIntact(c, img.config, `config of visible unacknowledged ${label}`);
        await blobIntact(c, img.layer, `layer of visible unacknowledged ${label}`);
        checkedBlobs.add(img.config).add(img.layer);
      } else c.problems.push(`manifest PUT in flight at the kill (${label}): expected 404 or exactly its bytes, got ${describeResult(res)}`);
    } else {
      for (const ref of [img.tag, img.digest]) {
        const res = await get(c, 'GET', `/v2/${img.repo}/manifests/${ref}`, { accept: MANIFEST_ACCEPT });
        if (res.status !== 404) c.problems.push(`never-sent manifest ${img.repo}:${ref} must be 404, got ${describeResult(res)}`);
      }
    }
  });
  const rest = world.blobs.filter((b) => !checkedBlobs.has(b));
  await pool(rest, 8, async (blob) => {
    if (blob.state === 'committed') await blobIntact(c, blob, 'acknowledged blob upload (201)');
    else if (blob.state === 'finalSent') await blobAbsentOrIntact(c, blob, 'blob whose closing PUT was in flight at the kill');
    else await blobAbsent(c, blob, 'upload never closed');
  });

  // 'latest' = the last acknowledged PUT of it, or one sent after that; never an older one.
  for (const [repo, puts] of world.latest) {
    let lastAcked = -1;
    puts.forEach((p, i) => {
      if (p.state === 'acked') lastAcked = i;
    });
    const allowed = puts.slice(Math.max(lastAcked, 0)).map((p) => p.image);
    const res = await get(c, 'GET', `/v2/${repo}/manifests/latest`, { accept: MANIFEST_ACCEPT });
    if (res.status === 404 && lastAcked < 0) continue;
    const hit = allowed.find((img) => img.bytes.equals(res.body));
    if (res.status !== 200 || !hit) {
      c.problems.push(
        `${repo}:latest must be ${lastAcked >= 0 ? 'the last acknowledged' : 'absent or one sent'} (${allowed.map((i) => i.digest).join(' or ')}), got ${describeResult(res)}`,
      );
    }
  }

  // tag lists: every acknowledged tag listed; nothing listed that was never sent; every listed tag resolves
  const repos = [...new Set(world.images.map((i) => i.repo))];
  await pool(repos, 4, async (repo) => {
    const tags = await listTags(c, repo);
    const mine = world.images.filter((i) => i.repo === repo);
    const mustHave = mine.filter((i) => i.state === 'acked').map((i) => i.tag);
    if (tags === null) {
      if (mustHave.length) c.problems.push(`tags list of ${repo} is 404 but ${mustHave.length} tags were acknowledged`);
      return;
    }
    const sentTags = new Set(mine.filter((i) => i.state !== 'local').map((i) => i.tag));
    if ((world.latest.get(repo) ?? []).length) sentTags.add('latest');
    const listed = new Set(tags);
    for (const t of mustHave) if (!listed.has(t)) c.problems.push(`acknowledged tag ${repo}:${t} missing from the tags list`);
    for (const t of tags) if (!sentTags.has(t)) c.problems.push(`tags list of ${repo} shows ${t}, which was never pushed`);
    for (const img of mine.filter((i) => i.state === 'sent' && listed.has(i.tag))) {
      if (targetName() === 'distribution') {
        // Distribution 2.8.2 creates the tag directory before the link file: a manifest PUT cut by the kill
        // can leave a listed tag that does not resolve. Tolerated for the reference registry only.
        const res = await get(c, 'GET', `/v2/${repo}/manifests/${img.tag}`, { accept: MANIFEST_ACCEPT });
        if (res.status === 404) {
          c.notes.add('distribution lists a tag whose manifest PUT was cut by the kill, but GET of it is 404');
          continue;
        }
      }
      await manifestIs(c, img, img.tag, `listed unacknowledged tag ${repo}:${img.tag}`);
    }
  });
  return counts;
}

/** Interrupted uploads: either resumable from the reported offset (and then correct), or 404 BLOB_UPLOAD_UNKNOWN. */
async function resumeSessions(c: Checker, world: World, cycle: number): Promise<{ resumed: number; unknown: number }> {
  const open = world.sessions.filter((s) => s.cycle === cycle && !s.finalSent);
  // a spread: sessions with nothing acknowledged, and some part-way through
  const picked = [...open.filter((s) => s.acked === 0).slice(0, 3), ...open.filter((s) => s.acked > 0)].slice(0, MAX_RESUMES_PER_CYCLE);
  const out = { resumed: 0, unknown: 0 };
  for (const s of picked) {
    const blob = s.blob;
    const data = blob.data;
    assert.ok(data);
    const what = `upload of ${blob.digest} (${blob.size} bytes, ${s.acked} acknowledged, ${s.sent} sent before the kill)`;
    const status = await get(c, 'GET', s.location);
    if (status.status === 404) {
      out.unknown++;
      const code = (() => {
        try {
          return (JSON.parse(status.body.toString('utf8')) as { errors?: { code?: string }[] }).errors?.[0]?.code;
        } catch {
          return undefined;
        }
      })();
      if (code !== 'BLOB_UPLOAD_UNKNOWN') {
        // Distribution 2.8.2 says 404 BLOB_UPLOAD_INVALID when its signed _state offset no longer matches the
        // bytes on disk (a PATCH was cut by the kill); tolerated for the reference registry only.
        if (targetName() === 'distribution' && code === 'BLOB_UPLOAD_INVALID') c.notes.add('distribution answers 404 BLOB_UPLOAD_INVALID for some interrupted uploads');
        else c.problems.push(`${what}: 404 without error code BLOB_UPLOAD_UNKNOWN: ${describeResult(status)}`);
      }
      await blobAbsent(c, blob, `${what}, reported unknown`);
      continue;
    }
    if (status.status !== 204) {
      c.problems.push(`${what}: GET upload status must be 204 (resumable) or 404 (unknown), got ${describeResult(status)}`);
      continue;
    }
    const range = status.headers.get('range');
    const m = range ? /^0-(\d+)$/.exec(range) : null;
    if (!m?.[1]) {
      c.problems.push(`${what}: 204 without a valid Range header: ${describeResult(status)}`);
      continue;
    }
    const end = Number(m[1]);
    const offset = end === 0 ? 0 : end + 1; // "0-0" is how empty sessions are reported
    if (offset > s.sent) {
      c.problems.push(`${what}: server reports ${offset} bytes received, more than were ever sent (${s.sent})`);
      continue;
    }
    if (offset < s.acked) c.notes.add(`an interrupted upload restarts below its acknowledged length (${s.acked} acknowledged, ${offset} kept); allowed, the client resumes from the Range`);
    let location = c.http.pathOf(status.headers.get('location') ?? s.location);
    if (offset < data.length) {
      const patch = await c.http.req('PATCH', location, {
        headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${data.length - 1}` },
        body: data.subarray(offset),
      });
      c.requests++;
      if (patch.status !== 202) {
        c.problems.push(`${what}: resuming at ${offset} (Range ${range}): PATCH ${offset}-${data.length - 1} expected 202, got ${describeResult(patch)}`);
        continue;
      }
      location = c.http.pathOf(patch.headers.get('location') ?? location);
    }
    const put = await c.http.req('PUT', withDigest(location, blob.digest), { headers: { 'content-length': '0' } });
    c.requests++;
    if (put.status !== 201) {
      c.problems.push(`${what}: resumed at ${offset} (Range ${range}), closing PUT expected 201, got ${describeResult(put)} — the bytes kept across the crash do not match what was sent`);
      continue;
    }
    out.resumed++;
    s.finalSent = true;
    blob.state = 'committed';
    blob.data = undefined;
    await blobIntact(c, blob, `${what}, resumed`);
  }
  // sessions that will not be tried again need not keep their data
  for (const s of world.sessions) if (s.cycle <= cycle && s.blob.state !== 'committed' && !picked.includes(s)) s.blob.data = undefined;
  return out;
}

/** Random and malformed requests: never a 5xx; well-formed unknown things are 404. */
async function garbage(c: Checker, world: World): Promise<void> {
  const hex = (): string => randomBytes(32).toString('hex');
  const existing = world.images[0]?.repo ?? repoOf(0);
  const notFound: [string, string][] = [];
  const anyNon5xx: [string, string][] = [];
  for (let i = 0; i < 6; i++) {
    notFound.push(['HEAD', `/v2/${existing}/blobs/sha256:${hex()}`], ['GET', `/v2/${existing}/blobs/sha256:${hex()}`]);
    notFound.push(['GET', `/v2/nope-${randomInt(1e9)}/blobs/sha256:${hex()}`], ['HEAD', `/v2/${existing}/manifests/sha256:${hex()}`]);
    notFound.push(['GET', `/v2/${existing}/manifests/t${randomBytes(6).toString('hex')}`]);
    notFound.push(['GET', `/v2/${existing}/blobs/uploads/${randomUUID()}`]);
  }
  anyNon5xx.push(
    ['GET', `/v2/${existing}/blobs/sha256:zzzz`],
    ['GET', `/v2/${existing}/blobs/md5:d41d8cd98f00b204e9800998ecf8427e`],
    ['GET', `/v2/${existing}/blobs/sha256:${hex().slice(1)}`],
    ['GET', `/v2/${existing}/manifests/-bad-tag-`],
    ['GET', `/v2/Upper/Case/tags/list`],
    ['GET', `/v2/a..b/tags/list`],
    ['GET', `/v2/${existing}/tags/list?n=1`],
    ['GET', `/v2/${existing}/tags/list?n=-5&last=zzz`],
    ['GET', `/v2/${randomBytes(20).toString('base64url')}/${randomBytes(9).toString('hex')}`],
    ['GET', `/v2/${existing}/blobs/uploads/${randomBytes(40).toString('hex')}`],
    ['GET', '/v2/_catalog?n=3'],
    ['GET', `/v2/${existing}/referrers/sha256:${hex()}`],
  );
  for (const [method, path] of notFound) {
    const res = await get(c, method as 'GET' | 'HEAD', path);
    if (res.status !== 404) c.problems.push(`garbage: expected 404, got ${describeResult(res)}`);
  }
  for (const [method, path] of anyNon5xx) await get(c, method as 'GET' | 'HEAD', path);
  // Distribution 2.8.2 answers 500 to an over-long digest (it takes it for a tag and builds an invalid path):
  // a bug of the reference registry, so this one is held against Wharf only.
  const overlong = await c.http.req('HEAD', `/v2/${existing}/manifests/sha256:${hex()}0`);
  c.requests++;
  if (overlong.status >= 500) {
    if (targetName() === 'wharf') c.problems.push(`server error: ${describeResult(overlong)}`);
    else c.notes.add(`distribution: ${overlong.method} manifest by an over-long digest -> ${overlong.status}`);
  }
}

/**
 * Reference registry only: Distribution is not crash-safe (it truncates link files, then writes them), so a kill
 * can leave empty link files that it answers with 500 forever. When such files exist on disk and every problem
 * found is such a 5xx, the problems become a note; anything else (wrong bytes, lost data answered 404) still fails.
 */
async function tolerateDistributionTornLinks(c: Checker, dataDir: string): Promise<void> {
  if (targetName() !== 'distribution' || c.problems.length === 0) return;
  const empty = await distributionEmptyLinks(dataDir);
  if (empty.length === 0 || !c.problems.every((p) => / -> 5\d\d /.test(p))) return;
  c.notes.add(`distribution answered ${c.problems.length} requests with 5xx after the kill; zero-length link files on disk: ${empty.join(', ')}`);
  c.problems.length = 0;
}

test(`crash: 20 concurrent pushes, kill -9 mid-stream, restart, acknowledged data intact (${targetName()})`, { timeout: 240_000 }, async (t) => {
  const dataDir = await tempDir('crash-data');
  const port = await freePort();
  const world: World = { blobs: [], images: [], sessions: [], latest: new Map() };
  let reg: Incarnation | undefined;
  const logs: string[] = [];
  const fail = (msg: string): never => assert.fail(`${msg}\n--- registry log (tail) ---\n${logs.join('\n').slice(-5000)}`);
  let totalAcked = 0;
  let cyclesWithInFlight = 0;
  try {
    reg = await startOnDataDir(dataDir, port);
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const window = KILL_WINDOWS[(cycle - 1) % KILL_WINDOWS.length] ?? [100, 1500];
      const delay = randomInt(window[0], window[1] + 1);
      const http = new RegistryHttp(reg.url);
      const ctx: CycleCtx = { cycle, http, world, killed: false, errors: [] };
      const ackedBefore = world.images.filter((i) => i.state === 'acked').length;
      const closingBefore = new Set(world.blobs.filter((b) => b.state === 'finalSent'));
      const workers = Array.from({ length: WORKERS }, (_, w) => worker(ctx, w));
      await sleep(delay);
      ctx.killed = true;
      const inFlight = {
        uploads: world.sessions.filter((s) => s.cycle === cycle && !s.finalSent).length,
        patchesMidBody: world.sessions.filter((s) => s.cycle === cycle && s.sent > s.acked).length,
        closing: world.blobs.filter((b) => b.state === 'finalSent' && !closingBefore.has(b)).length,
        manifests: world.images.filter((i) => i.state === 'sent' && i.tag.startsWith(`c${cycle}-`)).length,
      };
      await reg.kill();
      logs.push(`--- incarnation before kill ${cycle}\n${reg.output().slice(-3000)}`);
      await Promise.all(workers);
      await http.close();
      if (inFlight.uploads + inFlight.closing + inFlight.manifests > 0) cyclesWithInFlight++;
      const ackedNow = world.images.filter((i) => i.state === 'acked').length;
      t.diagnostic(
        `cycle ${cycle}: SIGKILL after ${delay} ms; manifests acknowledged this cycle ${ackedNow - ackedBefore}; in flight: ` +
          `${inFlight.uploads} open uploads (${inFlight.patchesMidBody} mid-PATCH), ${inFlight.closing} closing PUTs, ${inFlight.manifests} manifest PUTs`,
      );
      if (ctx.errors.length) fail(`cycle ${cycle}: wrong responses while pushing (before the kill):\n${ctx.errors.slice(0, 20).join('\n')}`);

      reg = await startOnDataDir(dataDir, port);
      const checkHttp = new RegistryHttp(reg.url);
      const checker: Checker = { http: checkHttp, problems: [], notes: new Set(), requests: 0 };
      const started = Date.now();
      const counts = await verifyWorld(checker, world);
      const resumed = await resumeSessions(checker, world, cycle);
      await garbage(checker, world);
      await checkHttp.close();
      t.diagnostic(
        `cycle ${cycle} after restart: ${counts.acked} acknowledged images intact-checked, unacknowledged manifest PUTs visible ${counts.sentVisible} / absent ${counts.sentAbsent}; ` +
          `interrupted uploads resumed ${resumed.resumed}, unknown ${resumed.unknown}; ${checker.requests} requests in ${Date.now() - started} ms`,
      );
      await tolerateDistributionTornLinks(checker, dataDir);
      for (const note of checker.notes) t.diagnostic(`note: ${note}`);
      if (checker.problems.length) {
        logs.push(`--- incarnation after kill ${cycle}\n${reg.output().slice(-3000)}`);
        fail(`cycle ${cycle}: ${checker.problems.length} problems after restart:\n${checker.problems.slice(0, 25).join('\n')}`);
      }
      totalAcked = counts.acked;
    }

    // a clean stop and start must not lose anything either
    await reg.stop();
    reg = await startOnDataDir(dataDir, port);
    const finalHttp = new RegistryHttp(reg.url);
    const checker: Checker = { http: finalHttp, problems: [], notes: new Set(), requests: 0 };
    const counts = await verifyWorld(checker, world);
    await finalHttp.close();
    await tolerateDistributionTornLinks(checker, dataDir);
    for (const note of checker.notes) t.diagnostic(`note: ${note}`);
    if (checker.problems.length) fail(`after a clean restart: ${checker.problems.length} problems:\n${checker.problems.slice(0, 25).join('\n')}`);
    t.diagnostic(`final clean restart: ${counts.acked} acknowledged images intact, ${world.blobs.filter((b) => b.state === 'committed').length} acknowledged blobs`);
    assert.ok(totalAcked > 0, 'no manifest was acknowledged before any kill: the test proved nothing');
    assert.ok(cyclesWithInFlight > 0, 'no request was in flight at any kill: the test proved nothing');
    await reg.stop();
    reg = undefined;
  } finally {
    if (reg) await reg.kill();
    // CRASH_KEEP_DATA=1 keeps the data directory of a failed run for a post-mortem
    if (process.env.CRASH_KEEP_DATA && reg) t.diagnostic(`data directory kept: ${dataDir}`);
    else await rm(dataDir, { recursive: true, force: true });
  }
});
