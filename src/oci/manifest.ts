import { DomainError, type ErrorDetail } from './errors.js';
import { isDigest } from './digest.js';
import { imageManifestTypes, indexManifestTypes, isManifestMediaType, mediaTypes } from './media-types.js';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly urls?: readonly string[];
  readonly artifactType?: string;
  readonly annotations?: Record<string, string>;
}

/** A descriptor whose target must already be in the repository, with the size the manifest claims for it. */
export interface RequiredContent {
  readonly digest: string;
  readonly size: number;
  /** A child manifest of an index (checked against stored manifests) rather than a blob. */
  readonly manifest: boolean;
}

export interface ParsedManifest {
  readonly mediaType: string;
  readonly artifactType: string | null;
  readonly subject: string | null;
  readonly annotations: Record<string, string> | null;
  /** Config and layers that must be present in the repository (foreign layers with urls excluded). */
  readonly blobs: readonly string[];
  /** Child manifests of an index. */
  readonly manifests: readonly string[];
  /** Every required blob and child manifest with its declared size, duplicates kept (they may disagree). */
  readonly references: readonly RequiredContent[];
}

/**
 * Real manifests nest five levels at most (index, manifests, descriptor, platform, os.features); anything far
 * deeper is an attack on whatever walks the document later (a recursive serialiser, a log formatter).
 */
export const maxManifestDepth = 32;

/** Rejects documents nested deeper than the limit in one pass over the text, before JSON.parse builds them. */
function checkDepth(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: the next character is escaped, whatever it is
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxManifestDepth) throw invalid(`manifest nests deeper than ${maxManifestDepth} levels`, { maxDepth: maxManifestDepth });
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

type Json = Record<string, unknown>;

function invalid(message: string, detail?: ErrorDetail): DomainError<'ManifestInvalid'> {
  return new DomainError('ManifestInvalid', message, detail);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown, where: string): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw invalid(`${where} must be a map of strings`);
  }
  return value as Record<string, string>;
}

function descriptor(value: unknown, where: string): Descriptor {
  if (!isObject(value)) throw invalid(`${where} must be a descriptor object`);
  const { mediaType, digest, size, urls, artifactType } = value;
  if (typeof mediaType !== 'string' || mediaType.length === 0) throw invalid(`${where}.mediaType must be a non-empty string`);
  if (typeof digest !== 'string' || !isDigest(digest)) throw invalid(`${where}.digest is not a valid digest`, { digest });
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw invalid(`${where}.size must be a non-negative integer`);
  if (urls !== undefined && (!Array.isArray(urls) || urls.some((u) => typeof u !== 'string'))) {
    throw invalid(`${where}.urls must be an array of strings`);
  }
  if (artifactType !== undefined && typeof artifactType !== 'string') throw invalid(`${where}.artifactType must be a string`);
  return {
    mediaType,
    digest,
    size,
    urls: urls as string[] | undefined,
    artifactType: artifactType as string | undefined,
    annotations: stringMap(value.annotations, `${where}.annotations`),
  };
}

function descriptorList(value: unknown, where: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(`${where} must be an array`);
  return value.map((d, i) => descriptor(d, `${where}[${i}]`));
}

/**
 * Which manifest type the pushed bytes are. The body's mediaType wins when present (and must agree with a specific
 * Content-Type); without it (umoci writes none) the Content-Type decides, then the shape of the document.
 */
function resolveMediaType(doc: Json, contentType: string | undefined): string {
  const declared = doc.mediaType;
  if (declared !== undefined && typeof declared !== 'string') throw invalid('mediaType must be a string');
  const header = contentType?.split(';')[0]?.trim().toLowerCase();
  const headerIsManifest = header !== undefined && isManifestMediaType(header);
  if (declared !== undefined) {
    if (!isManifestMediaType(declared)) throw invalid(`unsupported manifest media type ${declared}`, { mediaType: declared });
    if (headerIsManifest && header !== declared) {
      throw invalid('Content-Type does not match the manifest mediaType', { contentType: header, mediaType: declared });
    }
    return declared;
  }
  if (headerIsManifest) return header;
  if (header && header !== 'application/json' && header !== 'application/octet-stream') {
    throw invalid(`unsupported manifest media type ${header}`, { mediaType: header });
  }
  if (Array.isArray(doc.manifests)) return mediaTypes.ociIndex;
  if (isObject(doc.config)) return mediaTypes.ociManifest;
  throw invalid('cannot tell the manifest type: no mediaType, and neither config nor manifests');
}

export function parseManifest(body: Buffer, contentType: string | undefined): ParsedManifest {
  const text = body.toString('utf8');
  checkDepth(text);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw invalid('manifest is not valid JSON');
  }
  if (!isObject(doc)) throw invalid('manifest must be a JSON object');
  if (doc.schemaVersion !== 2) throw invalid('schemaVersion must be 2', { schemaVersion: doc.schemaVersion });
  const mediaType = resolveMediaType(doc, contentType);
  const annotations = stringMap(doc.annotations, 'annotations') ?? null;
  const subject = doc.subject === undefined ? null : descriptor(doc.subject, 'subject').digest;
  if (doc.artifactType !== undefined && typeof doc.artifactType !== 'string') throw invalid('artifactType must be a string');
  const declaredArtifactType = (doc.artifactType as string | undefined) ?? null;

  if (imageManifestTypes.has(mediaType)) {
    const config = descriptor(doc.config, 'config');
    const layers = descriptorList(doc.layers ?? [], 'layers');
    if (mediaType === mediaTypes.dockerManifest && layers.length === 0) throw invalid('a Docker image manifest needs at least one layer');
    // Non-distributable (foreign) layers live elsewhere: the registry never had them, so it cannot require them.
    const required = [config, ...layers].filter((d) => !(d.urls && d.urls.length > 0));
    const blobs = required.map((d) => d.digest);
    // The referrers API reports config.mediaType when a manifest declares no artifactType, even the empty config.
    const artifactType = declaredArtifactType ?? config.mediaType;
    const references = required.map((d) => ({ digest: d.digest, size: d.size, manifest: false }));
    return { mediaType, artifactType, subject, annotations, blobs: [...new Set(blobs)], manifests: [], references };
  }
  if (indexManifestTypes.has(mediaType)) {
    const children = descriptorList(doc.manifests, 'manifests');
    // An index may also point at plain blobs (some artifact tools do); those must be present like layers.
    const manifests = children.filter((c) => isManifestMediaType(c.mediaType)).map((c) => c.digest);
    const blobs = children.filter((c) => !isManifestMediaType(c.mediaType)).map((c) => c.digest);
    return {
      mediaType,
      artifactType: declaredArtifactType,
      subject,
      annotations,
      blobs: [...new Set(blobs)],
      manifests: [...new Set(manifests)],
      references: children.map((c) => ({ digest: c.digest, size: c.size, manifest: isManifestMediaType(c.mediaType) })),
    };
  }
  throw invalid(`unsupported manifest media type ${mediaType}`);
}
