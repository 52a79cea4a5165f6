import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configLeaves, envName } from '../../../src/config/introspect.js';
import { fsckConfigSchema } from '../../../src/fsck/config.js';
import { formatProblem, formatSummary, hints, progressLine, summaryJson } from '../../../src/cli/fsck-report.js';

describe('fsck config', () => {
  test('defaults: scrub off, 50 MiB/s, a round a day', () => {
    assert.deepEqual(fsckConfigSchema.parse(undefined), { scrub: { enabled: false, rate: 50 * 1024 * 1024, interval: 86_400_000 } });
    assert.deepEqual(fsckConfigSchema.parse({ scrub: { enabled: true, rate: 1000, interval: '90m' } }), { scrub: { enabled: true, rate: 1000, interval: 5_400_000 } });
  });

  test('rejects what it does not understand', () => {
    for (const bad of [{ scrub: { rate: 0 } }, { scrub: { rate: '50MiB' } }, { scrub: { interval: 'soon' } }, { scrub: { speed: 1 } }, { repair: true }]) {
      assert.equal(fsckConfigSchema.safeParse(bad).success, false, JSON.stringify(bad));
    }
  });

  test('fits the config reference and environment overrides (every leaf has a type and a description)', () => {
    const leaves = configLeaves(fsckConfigSchema, ['fsck']);
    assert.deepEqual(
      leaves.map((l) => [l.path.join('.'), l.type, envName(l.path)]),
      [
        ['fsck.scrub.enabled', 'boolean', 'WHARF_FSCK__SCRUB__ENABLED'],
        ['fsck.scrub.rate', 'number', 'WHARF_FSCK__SCRUB__RATE'],
        ['fsck.scrub.interval', 'duration', 'WHARF_FSCK__SCRUB__INTERVAL'],
      ],
    );
    assert.ok(leaves.every((l) => l.description.length > 0));
    assert.equal(leaves.find((l) => l.type === 'duration')!.fallback, '24h');
  });
});

describe('fsck output', () => {
  const problem = {
    kind: 'corrupt' as const,
    digest: `sha256:${'a'.repeat(64)}`,
    size: 2048,
    recorded: true,
    key: `blobs/sha256/aa/${'a'.repeat(64)}`,
    actualDigest: `sha256:${'b'.repeat(64)}`,
    manifests: ['app@sha256:1', 'other@sha256:2'],
    detail: 'its bytes do not match the digest',
    repair: { action: 'quarantined' as const, quarantineKey: 'quarantine/x', detail: 'moved to quarantine/x' },
  };

  test('a problem names the blob, what it breaks and what was done', () => {
    const text = formatProblem(problem);
    assert.match(text, /^corrupt +sha256:a{64} \(2\.0 KiB\): its bytes do not match the digest\n/);
    assert.match(text, /breaks: app@sha256:1, other@sha256:2\n/);
    assert.match(text, /quarantined: moved to quarantine\/x\n$/);
  });

  test('summary in text and JSON', () => {
    const report = {
      repair: true,
      blobs: 10,
      bytes: 3 * 1024 * 1024,
      files: 11,
      manifests: 4,
      problems: [problem],
      counts: { corrupt: 1, missing: 0, orphan: 0, 'size-mismatch': 0 },
      durationMs: 1500,
    };
    assert.equal(formatSummary(report), 'checked 10 blobs (3.0 MiB read), 11 files and 4 manifests in 1.50 s: 1 corrupt\nrepair: 1 quarantined\n');
    const json = JSON.parse(summaryJson(report)) as Record<string, unknown>;
    assert.equal(json.kind, 'summary');
    assert.equal(json.problems, 1);
    assert.deepEqual(json.counts, report.counts);
    assert.deepEqual(json.checked, { blobs: 10, bytes: 3 * 1024 * 1024, files: 11, manifests: 4 });
  });

  test('progress: a bar by bytes, with counts and rate', () => {
    const line = progressLine({ phase: 'blobs', blobs: 5, blobsTotal: 10, bytes: 512 * 1024, bytesDone: 512 * 1024, bytesTotal: 1024 * 1024, files: 0, manifests: 0, elapsedMs: 1000 }, 10);
    assert.equal(line, 'fsck [#####-----]  50%  5/10 blobs  512.0 KiB/1.0 MiB  512.0 KiB/s');
    assert.match(progressLine({ phase: 'references', blobs: 10, blobsTotal: 10, bytes: 0, bytesDone: 0, bytesTotal: 0, files: 3, manifests: 7, elapsedMs: 5 }), /7 manifests/);
  });

  test('hints say what --repair can do, and what only a push can', () => {
    const base = { repair: false, blobs: 1, bytes: 1, files: 1, manifests: 1, counts: { corrupt: 0, missing: 0, orphan: 0, 'size-mismatch': 0 }, durationMs: 1 };
    const { repair: _, ...unrepaired } = problem;
    assert.deepEqual(hints({ ...base, problems: [] }), []);
    const found = hints({ ...base, problems: [unrepaired] });
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^1 of these can be repaired: `wharf fsck --repair`/);
    const after = hints({ ...base, repair: true, problems: [problem] });
    assert.deepEqual(after, ['a blob the registry no longer has comes back when a client pushes it again (pushing the image does); or delete the manifests that need it']);
    const left = hints({ ...base, problems: [{ ...unrepaired, kind: 'missing', recorded: false }, { ...unrepaired, kind: 'orphan', recorded: false, actualDigest: undefined }] });
    assert.equal(left.length, 2);
    assert.match(left[0]!, /pushes it again/);
    assert.match(left[1]!, /orphans are left alone/);
  });
});
