// A registry for the UI's tests: users with different rights, and content pushed through the real registry API
// (images with configs and history, a multi-arch index, referrers, several tags sharing a digest).
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuthorization, writeHtpasswd } from '../../api/support/auth.js';
import { startTestServer, type TestServer } from '../../support/server.js';

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const sha256 = (data: Buffer): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

export const users = {
  admin: { name: 'admin', password: 'admin-pass-1' },
  /** pull, push and delete on team-a/**, pull on team-b/**. */
  alice: { name: 'alice', password: 'alice-pass-1' },
  /** pull on team-a/** only: no delete, and secret/** stays hidden. */
  bob: { name: 'bob', password: 'bob-pass-1' },
} as const;

export interface UiRegistry extends TestServer {
  readonly admin: string;
}

/** `more`: other config sections (webhooks, …). */
export async function startUiRegistry(ui: Record<string, unknown> = {}, lockout: Record<string, unknown> = {}, more: Record<string, unknown> = {}): Promise<UiRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'ui-htpasswd-'));
  const htpasswd = await writeHtpasswd(dir, Object.values(users));
  const server = await startTestServer({
    ...more,
    ui,
    auth: {
      mode: 'basic',
      htpasswd: { path: htpasswd },
      admins: ['admin'],
      anonymous: [{ repositories: ['public/**'], actions: ['pull'] }],
      rules: [
        { users: ['alice'], repositories: ['team-a/**'], actions: ['pull', 'push', 'delete'] },
        { users: ['alice'], repositories: ['team-b/**'], actions: ['pull'] },
        { users: ['bob'], repositories: ['team-a/**'], actions: ['pull'] },
      ],
      lockout,
    },
  } as never);
  return {
    ...server,
    admin: basicAuthorization(users.admin.name, users.admin.password),
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function ok(res: Response, what: string): Promise<void> {
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${what}: HTTP ${res.status} ${text}`);
}

export async function pushBlob(r: UiRegistry, repo: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const res = await fetch(`${r.url}/v2/${repo}/blobs/uploads/?digest=${digest}`, {
    method: 'POST',
    body: new Uint8Array(data),
    headers: { 'Content-Type': 'application/octet-stream', Authorization: r.admin },
  });
  await ok(res, `blob push to ${repo}`);
  return digest;
}

export async function putManifest(r: UiRegistry, repo: string, reference: string, manifest: object, type = OCI_MANIFEST): Promise<string> {
  const body = Buffer.from(JSON.stringify(manifest));
  const res = await fetch(`${r.url}/v2/${repo}/manifests/${reference}`, { method: 'PUT', body: new Uint8Array(body), headers: { 'Content-Type': type, Authorization: r.admin } });
  await ok(res, `manifest push to ${repo}:${reference}`);
  return sha256(body);
}

export interface PushedImage {
  readonly digest: string;
  readonly size: number;
  readonly layers: readonly { digest: string; size: number }[];
}

/** An image with a real-looking config: env, entrypoint, cmd, ports, labels, and a history step per layer. */
export async function pushImage(r: UiRegistry, repo: string, tags: readonly string[], options: { arch?: string; variant?: string; layerSizes?: number[]; note?: string } = {}): Promise<PushedImage> {
  const sizes = options.layerSizes ?? [3000, 70_000];
  const layerData = sizes.map((n) => randomBytes(n));
  const layers = [];
  for (const data of layerData) layers.push({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await pushBlob(r, repo, data), size: data.length });
  const config = Buffer.from(
    JSON.stringify({
      architecture: options.arch ?? 'amd64',
      ...(options.variant ? { variant: options.variant } : {}),
      os: 'linux',
      created: '2026-11-01T10:00:00Z',
      config: {
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', `APP_NOTE=${options.note ?? 'ui-test'}`],
        Entrypoint: ['/usr/local/bin/app'],
        Cmd: ['--serve'],
        WorkingDir: '/srv',
        User: 'app',
        ExposedPorts: { '8080/tcp': {} },
        Labels: { 'org.opencontainers.image.source': 'https://example.com/app' },
      },
      rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) },
      history: [
        ...layers.map((_, i) => ({
          created: '2026-11-01T09:00:00Z',
          created_by: i === 0 ? '/bin/sh -c #(nop) ADD file:base.tar in / ' : `RUN apk add --no-cache tool-${i} # buildkit`,
        })),
        { created: '2026-11-01T10:00:00Z', created_by: 'CMD ["--serve"]', empty_layer: true },
      ],
    }),
  );
  const configDigest = await pushBlob(r, repo, config);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
    layers,
  };
  let digest = '';
  for (const tag of tags.length ? tags : ['']) digest = await putManifest(r, repo, tag || sha256(Buffer.from(JSON.stringify(manifest))), manifest);
  return { digest, size: Buffer.byteLength(JSON.stringify(manifest)), layers };
}

export async function pushIndex(r: UiRegistry, repo: string, tag: string, children: readonly { image: PushedImage; arch: string; variant?: string }[]): Promise<string> {
  return putManifest(
    r,
    repo,
    tag,
    {
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c) => ({
        mediaType: OCI_MANIFEST,
        digest: c.image.digest,
        size: c.image.size,
        platform: { os: 'linux', architecture: c.arch, ...(c.variant ? { variant: c.variant } : {}) },
      })),
    },
    OCI_INDEX,
  );
}

/** An artifact (signature, SBOM) whose subject is `subject`. */
export async function pushReferrer(r: UiRegistry, repo: string, subject: PushedImage, artifactType: string): Promise<string> {
  const emptyConfig = Buffer.from('{}');
  const empty = await pushBlob(r, repo, emptyConfig);
  const payload = Buffer.from(JSON.stringify({ artifactType, nonce: randomBytes(4).toString('hex') }));
  const layer = await pushBlob(r, repo, payload);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType,
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: empty, size: 2 },
    layers: [{ mediaType: 'application/json', digest: layer, size: payload.length }],
    subject: { mediaType: OCI_MANIFEST, digest: subject.digest, size: subject.size },
  };
  const digest = sha256(Buffer.from(JSON.stringify(manifest)));
  await putManifest(r, repo, digest, manifest);
  return digest;
}

export interface Seeded {
  readonly app: PushedImage;
  readonly old: PushedImage;
  readonly index: string;
  readonly amd64: PushedImage;
  readonly arm64: PushedImage;
}

/**
 * team-a/app: v1, latest and stable on one image (signed, with an SBOM), v0 and old on another; team-a/multi:1.0
 * a two-platform index; team-b/tool, public/hello and secret/db one image each.
 */
export async function seed(r: UiRegistry): Promise<Seeded> {
  const app = await pushImage(r, 'team-a/app', ['v1', 'latest', 'stable']);
  const old = await pushImage(r, 'team-a/app', ['v0', 'old'], { note: 'old' });
  await pushReferrer(r, 'team-a/app', app, 'application/vnd.dev.cosign.artifact.sig.v1+json');
  await pushReferrer(r, 'team-a/app', app, 'application/spdx+json');
  const amd64 = await pushImage(r, 'team-a/multi', [], { arch: 'amd64' });
  const arm64 = await pushImage(r, 'team-a/multi', [], { arch: 'arm64', variant: 'v8' });
  const index = await pushIndex(r, 'team-a/multi', '1.0', [
    { image: amd64, arch: 'amd64' },
    { image: arm64, arch: 'arm64', variant: 'v8' },
  ]);
  await pushImage(r, 'team-b/tool', ['1.2']);
  await pushImage(r, 'public/hello', ['latest']);
  await pushImage(r, 'secret/db', ['15']);
  return { app, old, index, amd64, arm64 };
}

/** `count` repositories `prefix/r000`, `prefix/r001`, … with one small config-only image each (for paging). */
export async function pushManyRepositories(r: UiRegistry, prefix: string, count: number): Promise<string[]> {
  const names = Array.from({ length: count }, (_, i) => `${prefix}/r${String(i).padStart(3, '0')}`);
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  for (let i = 0; i < names.length; i += 16) {
    await Promise.all(
      names.slice(i, i + 16).map(async (repo) => {
        const digest = await pushBlob(r, repo, config);
        await putManifest(r, repo, 'latest', {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST,
          config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: config.length },
          layers: [],
        });
      }),
    );
  }
  return names;
}
