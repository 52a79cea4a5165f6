// Reading what the UI shows out of manifests and image configs: platforms of an index, a config's settings, the
// history lined up with the layers it produced (a "Dockerfile view"), and what referrers say about an image.
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export interface Child {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  readonly platform: Platform | null;
  readonly artifactType?: string;
}

export interface Layer {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
}

export interface HistoryStep {
  readonly createdBy: string;
  readonly created: string | null;
  readonly comment: string | null;
  /** The layer this step produced; null for a step that changed only metadata (ENV, CMD...). */
  readonly layer: Layer | null;
}

export interface ImageConfig {
  readonly os: string | null;
  readonly architecture: string | null;
  readonly created: string | null;
  readonly env: readonly string[];
  readonly entrypoint: readonly string[] | null;
  readonly cmd: readonly string[] | null;
  readonly workingDir: string | null;
  readonly user: string | null;
  readonly exposedPorts: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
}

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const strings = (v: unknown): string[] | null => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : null);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export function parseJson(body: Buffer): Json {
  try {
    return obj(JSON.parse(body.toString('utf8')));
  } catch {
    return {};
  }
}

function platform(v: unknown): Platform | null {
  const p = obj(v);
  const os = str(p.os);
  const architecture = str(p.architecture);
  if (os === null || architecture === null) return null;
  const variant = str(p.variant);
  return variant === null ? { os, architecture } : { os, architecture, variant };
}

export function childrenOf(index: Json): Child[] {
  return (Array.isArray(index.manifests) ? index.manifests : []).map((m) => {
    const d = obj(m);
    const artifactType = str(d.artifactType);
    return {
      digest: str(d.digest) ?? '',
      mediaType: str(d.mediaType) ?? '',
      size: num(d.size),
      platform: platform(d.platform),
      ...(artifactType === null ? {} : { artifactType }),
    };
  });
}

/** Platforms of an index's image children (attestation manifests, platform unknown/unknown, left out). */
export function platformsOf(indexBody: Buffer | null): Platform[] {
  if (indexBody === null) return [];
  return childrenOf(parseJson(indexBody))
    .map((c) => c.platform)
    .filter((p): p is Platform => p !== null && p.os !== 'unknown');
}

export function layersOf(manifest: Json): Layer[] {
  return (Array.isArray(manifest.layers) ? manifest.layers : []).map((l) => {
    const d = obj(l);
    return { digest: str(d.digest) ?? '', mediaType: str(d.mediaType) ?? '', size: num(d.size) };
  });
}

export function configOf(config: Json): ImageConfig {
  const c = obj(config.config);
  return {
    os: str(config.os),
    architecture: str(config.architecture),
    created: str(config.created),
    env: strings(c.Env) ?? [],
    entrypoint: strings(c.Entrypoint),
    cmd: strings(c.Cmd),
    workingDir: str(c.WorkingDir) || null,
    user: str(c.User) || null,
    exposedPorts: Object.keys(obj(c.ExposedPorts)),
    labels: Object.fromEntries(Object.entries(obj(c.Labels)).filter((e): e is [string, string] => typeof e[1] === 'string')),
  };
}

/** Each history step with the layer it made: steps marked empty_layer made none, the others take layers in order. */
export function historyOf(config: Json, layers: readonly Layer[]): HistoryStep[] {
  const steps = Array.isArray(config.history) ? config.history : [];
  let next = 0;
  return steps.map((s) => {
    const h = obj(s);
    const layer = h.empty_layer === true ? null : (layers[next++] ?? null);
    return { createdBy: str(h.created_by) ?? '', created: str(h.created), comment: str(h.comment), layer };
  });
}

/** Badges from the artifact types of an image's referrers. */
export function badgesOf(referrerTypes: readonly string[]): { signed: boolean; sbom: boolean; attestations: number } {
  const signed = referrerTypes.some((t) => /sig|signature|notary|cosign/i.test(t));
  const sbom = referrerTypes.some((t) => /sbom|spdx|cyclonedx/i.test(t));
  return { signed, sbom, attestations: referrerTypes.length };
}
