// Browsing and deleting through the web UI: repositories (searched, sorted and paged by the store, filtered by what
// the caller may pull), a repository's tags, one image, and the three kinds of delete. Every call checks the policy.
import { Writable } from 'node:stream';
import type { RepositorySort } from '../../metadata/browse.js';
import { badgesOf, childrenOf, configOf, historyOf, layersOf, parseJson, platformsOf } from '../../ui/image.js';
import { imageManifestTypes, indexManifestTypes } from '../../oci/media-types.js';
import { parseReference } from '../../registry/manifests.js';
import { requireDigest } from '../../oci/digest.js';
import { requireTag } from '../../oci/names.js';
import { send, sendJson } from '../context.js';
import { RegistryError } from '../errors.js';
import { denied, eventOriginOf, type ApiV1Context, type ApiV1Handler } from './api-v1-context.js';

const imageConfigTypes = new Set(['application/vnd.oci.image.config.v1+json', 'application/vnd.docker.container.image.v1+json']);
const sorts: readonly RepositorySort[] = ['name', 'pushed', 'pulled', 'size', 'tags'];
/** Image configs are small; one larger than this is not read into memory for display. */
const maxConfigBytes = 4 * 1024 * 1024;

function intParam(query: URLSearchParams, name: string, fallback: number, min: number, max: number): number {
  const raw = query.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new RegistryError('UNSUPPORTED', `${name} must be an integer from ${min} to ${max}`, undefined, { status: 400 });
  }
  return Number(raw);
}

function actionsOn(ctx: ApiV1Context, repository: string): string[] {
  const deletes = ctx.deps.config.registry.deleteEnabled;
  return (['pull', 'push', 'delete'] as const).filter((a) => ctx.may(repository, a) && (a !== 'delete' || deletes));
}

export const listRepositories: ApiV1Handler = async (ctx) => {
  const { query, principal, deps } = ctx;
  if (!deps.web.mayBrowse(principal)) throw denied(principal, 'list repositories');
  const search = query.get('q') ?? '';
  if (search.length > 255) throw new RegistryError('UNSUPPORTED', 'q is too long', undefined, { status: 400 });
  const sort = (query.get('sort') ?? 'name') as RepositorySort;
  if (!sorts.includes(sort)) throw new RegistryError('UNSUPPORTED', `sort must be one of ${sorts.join(', ')}`, undefined, { status: 400 });
  const order = query.get('order') ?? (sort === 'name' ? 'asc' : 'desc');
  if (order !== 'asc' && order !== 'desc') throw new RegistryError('UNSUPPORTED', 'order must be asc or desc', undefined, { status: 400 });
  const page = intParam(query, 'page', 1, 1, 1_000_000);
  const pageSize = intParam(query, 'pageSize', 50, 1, 200);
  // Admins (and everyone when auth is off) see every repository: no filter to run per row.
  const visible = principal.admin ? null : (name: string) => ctx.may(name, 'pull');
  const listing = await deps.browse.browseRepositories({ search, sort, descending: order === 'desc', offset: (page - 1) * pageSize, limit: pageSize }, visible);
  sendJson(ctx.res, 200, {
    total: listing.total,
    page,
    pageSize,
    repositories: listing.items.map((r) => ({ ...r, actions: actionsOn(ctx, r.name) })),
  });
};

export const listTags: ApiV1Handler = async (ctx) => {
  const repository = ctx.params.name!;
  ctx.require(repository, 'pull');
  const tags = await ctx.deps.browse.browseTags(repository);
  if (tags === null) throw new RegistryError('NAME_UNKNOWN', 'repository name not known to registry', { name: repository });
  sendJson(ctx.res, 200, {
    repository,
    actions: actionsOn(ctx, repository),
    tags: tags.map((t) => ({
      name: t.name,
      digest: t.digest,
      mediaType: t.mediaType,
      artifactType: t.artifactType,
      size: t.contentSize + t.manifestSize,
      pushedAt: t.pushedAt,
      pulledAt: t.pulledAt,
      platforms: platformsOf(t.indexBody),
      referrers: badgesOf(t.referrerTypes),
      sharedWith: tags.filter((o) => o.digest === t.digest && o.name !== t.name).map((o) => o.name),
    })),
  });
};

async function readConfig(ctx: ApiV1Context, repository: string, digest: string): Promise<Record<string, unknown>> {
  const blob = await ctx.deps.services.blobs.stat(repository, digest);
  if (blob.size > maxConfigBytes) return {};
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  await ctx.deps.services.blobs.serve(repository, blob, undefined, sink, () => {});
  return parseJson(Buffer.concat(chunks));
}

export const getImage: ApiV1Handler = async (ctx) => {
  const repository = ctx.params.name!;
  ctx.require(repository, 'pull');
  const record = await ctx.deps.services.manifests.get(repository, parseReference(ctx.params.reference!));
  const manifest = parseJson(record.body);
  const tags = (await ctx.deps.browse.browseTags(repository)) ?? [];
  const referrers = (await ctx.deps.services.manifests.referrers(repository, record.digest)) as { manifests?: unknown };
  const base = {
    repository,
    digest: record.digest,
    mediaType: record.mediaType,
    // The store records an image's config type as its artifact type; only a real artifact's is worth showing.
    artifactType: record.artifactType !== null && !imageConfigTypes.has(record.artifactType) ? record.artifactType : null,
    size: record.size,
    pushedAt: record.createdAt,
    subject: record.subject,
    actions: actionsOn(ctx, repository),
    tags: tags.filter((t) => t.digest === record.digest).map((t) => t.name),
    referrers: childrenOf({ manifests: referrers.manifests }),
    annotations: manifest.annotations ?? null,
  };
  if (indexManifestTypes.has(record.mediaType)) {
    sendJson(ctx.res, 200, { ...base, kind: 'index', children: childrenOf(manifest) });
    return;
  }
  const layers = layersOf(manifest);
  const configDescriptor = (manifest.config ?? {}) as { digest?: unknown; mediaType?: unknown; size?: unknown };
  let config: Record<string, unknown> = {};
  if (imageManifestTypes.has(record.mediaType) && typeof configDescriptor.digest === 'string' && /image\.config|container\.image/.test(String(configDescriptor.mediaType))) {
    config = await readConfig(ctx, repository, configDescriptor.digest);
  }
  sendJson(ctx.res, 200, {
    ...base,
    kind: 'image',
    configDigest: typeof configDescriptor.digest === 'string' ? configDescriptor.digest : null,
    config: configOf(config),
    layers,
    totalSize: layers.reduce((sum, l) => sum + l.size, 0),
    history: historyOf(config, layers),
  });
};

export const deleteTag: ApiV1Handler = async (ctx) => {
  const repository = ctx.params.name!;
  ctx.require(repository, 'delete');
  await ctx.deps.services.manifests.delete(repository, { tag: requireTag(ctx.params.tag!) }, eventOriginOf(ctx));
  send(ctx.res, 204, {});
};

/** Deletes the manifest and with it every tag that points at it (the answer names them). */
export const deleteManifest: ApiV1Handler = async (ctx) => {
  const repository = ctx.params.name!;
  ctx.require(repository, 'delete');
  const digest = ctx.params.reference!;
  requireDigest(digest);
  const tags = ((await ctx.deps.browse.browseTags(repository)) ?? []).filter((t) => t.digest === digest).map((t) => t.name);
  await ctx.deps.services.manifests.delete(repository, { digest }, eventOriginOf(ctx));
  sendJson(ctx.res, 200, { deleted: digest, tags });
};

export const deleteRepository: ApiV1Handler = async (ctx) => {
  const repository = ctx.params.name!;
  ctx.require(repository, 'delete');
  await ctx.deps.services.repositories.delete(repository, eventOriginOf(ctx));
  send(ctx.res, 204, {});
};
