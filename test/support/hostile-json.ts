// Generators of hostile manifest text for the property tests: well-formed manifest skeletons whose fields are
// replaced by absurd JSON (deep nesting, huge numbers, wrong types, odd unicode, long strings), duplicate keys, or
// no JSON at all. Built as text, because JSON.stringify can produce neither duplicate keys nor lone surrogates.
import fc from 'fast-check';

export const manifestTypes = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
] as const;

const digest = `"sha256:${'a'.repeat(64)}"`;

function nest(depth: number, open: string, close: string, core: string): string {
  return `${open.repeat(depth)}${core}${close.repeat(depth)}`;
}

/** A JSON value (as text) chosen to hurt: every entry is valid JSON except where noted. */
export const hostileValue: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 1, max: 8000 }).map((d) => nest(d, '[', ']', '')),
  fc.integer({ min: 1, max: 8000 }).map((d) => nest(d, '{"a":', '}', '1')),
  fc.integer({ min: 1, max: 40 }).map((d) => nest(d, '[', ']', digest)),
  fc.constantFrom('1e400', '-1e400', '1e-400', '-0', '0.5', '9007199254740993', '-1', `1${'0'.repeat(5000)}`, '0x10', 'NaN'),
  fc.constantFrom('null', 'true', 'false', '{}', '[]', '""', '"\\ud800"', '"\\u0000"', '"\\ufeff"', digest),
  fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => JSON.stringify(s)),
  fc.integer({ min: 300, max: 200_000 }).map((n) => JSON.stringify('x'.repeat(n))),
  fc.json({ maxDepth: 4 }),
);

/** A descriptor whose fields are good or hostile, with an occasional duplicated key. */
const descriptorText: fc.Arbitrary<string> = fc
  .record({
    mediaType: fc.oneof(fc.constant('"application/vnd.oci.image.layer.v1.tar"'), fc.constantFrom(...manifestTypes).map((t) => `"${t}"`), hostileValue),
    digest: fc.oneof(fc.constant(digest), hostileValue),
    size: fc.oneof(fc.constant('13'), hostileValue),
    extra: fc.option(fc.tuple(fc.constantFrom('digest', 'size', 'urls', 'annotations', 'platform', 'artifactType'), hostileValue)),
  })
  .map(({ mediaType, digest: d, size, extra }) => {
    const fields = [`"mediaType":${mediaType}`, `"digest":${d}`, `"size":${size}`];
    if (extra) fields.push(`"${extra[0]}":${extra[1]}`);
    return `{${fields.join(',')}}`;
  });

/** A whole manifest or index document as text, hostile somewhere (or, now and then, valid). */
export const hostileManifest: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({
      schemaVersion: fc.oneof(fc.constant('2'), hostileValue),
      mediaType: fc.option(fc.oneof(fc.constantFrom(...manifestTypes).map((t) => `"${t}"`), hostileValue)),
      config: fc.oneof(descriptorText, hostileValue),
      layers: fc.oneof(fc.array(descriptorText, { maxLength: 4 }).map((l) => `[${l.join(',')}]`), hostileValue),
      manifests: fc.option(fc.oneof(fc.array(descriptorText, { maxLength: 4 }).map((l) => `[${l.join(',')}]`), hostileValue)),
      subject: fc.option(fc.oneof(descriptorText, hostileValue)),
      annotations: fc.option(fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), hostileValue, { maxKeys: 3 }).map((d) => `{${Object.entries(d).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`), hostileValue)),
      artifactType: fc.option(hostileValue),
      duplicate: fc.option(fc.tuple(fc.constantFrom('schemaVersion', 'mediaType', 'config', 'layers', 'manifests'), hostileValue)),
    })
    .map((m) => {
      const fields = [`"schemaVersion":${m.schemaVersion}`];
      if (m.mediaType !== null) fields.push(`"mediaType":${m.mediaType}`);
      fields.push(`"config":${m.config}`, `"layers":${m.layers}`);
      if (m.manifests !== null) fields.push(`"manifests":${m.manifests}`);
      if (m.subject !== null) fields.push(`"subject":${m.subject}`);
      if (m.annotations !== null) fields.push(`"annotations":${m.annotations}`);
      if (m.artifactType !== null) fields.push(`"artifactType":${m.artifactType}`);
      if (m.duplicate !== null) fields.push(`"${m.duplicate[0]}":${m.duplicate[1]}`);
      return `{${fields.join(',')}}`;
    }),
  hostileValue,
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString('latin1')),
);

/** A Content-Type a client might send with it. */
export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constantFrom(...manifestTypes),
  fc.constantFrom(undefined, 'application/json', 'application/octet-stream', 'text/plain', 'application/vnd.oci.image.manifest.v1+json; charset=utf-8'),
);
