import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { promisify } from 'node:util';
import pino from 'pino';
import { validateConfig, resolvePaths } from '../../../src/config/load.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import type { TagDetail } from '../../../src/metadata/store.js';
import { parseDigest } from '../../../src/oci/digest.js';
import { openRegistry, type Registry } from '../../../src/registry/registry.js';
import { retentionRuleSchema } from '../../../src/retention/config.js';
import { tagsToDelete } from '../../../src/retention/retention.js';
import { wharfMain } from '../../support/processes.js';

const day = 86_400_000;
const now = Date.UTC(2026, 10, 22);
const tag = (name: string, ageDays: number, pulledDaysAgo: number | null = null): TagDetail => ({
  name,
  digest: `sha256:${name.padEnd(64, '0').slice(0, 64).replace(/[^a-f0-9]/g, 'a')}`,
  updatedAt: now - ageDays * day,
  lastPulledAt: pulledDaysAgo === null ? null : now - pulledDaysAgo * day,
});
const rule = (r: object) => retentionRuleSchema.parse({ repositories: ['**'], ...r });
const names = (out: { tag: TagDetail }[]) => out.map((o) => o.tag.name).sort();

test('keepLast alone keeps the N most recently pushed tags', () => {
  const tags = [tag('a', 1), tag('b', 2), tag('c', 3), tag('d', 4)];
  assert.deepEqual(names(tagsToDelete(tags, rule({ keepLast: 2 }), [], now)), ['c', 'd']);
});

test('olderThan and notPulledFor delete old or idle tags, but never the keepLast newest or a keepTags match', () => {
  const tags = [tag('v1.0.0', 400), tag('old', 100), tag('idle', 10, 40), tag('busy', 100, 1), tag('new', 1)];
  const r = rule({ keepLast: 1, keepTags: ['^v\\d+\\.\\d+\\.\\d+$'], olderThan: '90d' });
  assert.deepEqual(names(tagsToDelete(tags, r, [/^v\d+\.\d+\.\d+$/], now)), ['busy', 'old']);
  const idle = rule({ notPulledFor: '30d' });
  assert.deepEqual(names(tagsToDelete(tags, idle, [], now)), ['idle', 'old', 'v1.0.0'], 'never pulled counts from the push');
});

test('a rule must say what to delete; bad patterns are config errors', () => {
  assert.throws(() => retentionRuleSchema.parse({ repositories: ['**'], keepTags: ['x'] }));
  assert.throws(() => retentionRuleSchema.parse({ repositories: ['**'], keepLast: 1, keepTags: ['('] }));
});

describe('retention against a real registry', () => {
  let dir: string;
  let reg: Registry;
  const open = (extra: ConfigInput) => openRegistry(resolvePaths(validateConfig({ storage: { dataDir: dir }, gc: { enabled: false }, ...extra }, 'test')), pino({ level: 'silent' }));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wharf-retention-'));
    reg = open({
      retention: [
        { repositories: ['apps/**'], keepLast: 2, keepTags: ['^stable$'], olderThan: '30d', untaggedOlderThan: '7d' },
        { repositories: ['idle/*'], notPulledFor: '30d' },
      ],
    });
  });
  afterEach(async () => {
    await reg.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function image(repo: string, ref: { tag: string } | null): Promise<string> {
    const data = Buffer.from(JSON.stringify({ n: randomBytes(8).toString('hex') }));
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    await reg.uploads.monolithic(repo, parseDigest(digest)!, Readable.from([data]));
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: data.length }, layers: [] }));
    const manifestDigest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
    await reg.manifests.push(repo, ref ?? { digest: manifestDigest }, body, 'application/vnd.oci.image.manifest.v1+json', []);
    return manifestDigest;
  }

  test('tags beyond keepLast and older than the limit go, stable stays, old untagged manifests go; dry run changes nothing', async () => {
    for (const t of ['t1', 't2', 't3', 'stable']) {
      await image('apps/web', { tag: t });
      await new Promise((r) => setTimeout(r, 3));
    }
    const untagged = await image('apps/web', null);
    await image('other/repo', { tag: 'old' });
    const later = Date.now() + 40 * day;
    const preview = await reg.retention.apply(true, later);
    assert.deepEqual(preview.map((a) => a.tag ?? a.reason).sort(), ['t1', 't2', 'untaggedOlderThan'].sort());
    assert.equal((await reg.metadata.listTagDetails('apps/web')).length, 4, 'dry run deleted nothing');
    const applied = await reg.retention.apply(false, later);
    // The manifests t1 and t2 pointed at are untagged now, and old: untaggedOlderThan takes them in the same pass.
    assert.deepEqual(applied.map((a) => a.tag ?? a.reason).sort(), ['t1', 't2', 'untaggedOlderThan', 'untaggedOlderThan', 'untaggedOlderThan'].sort());
    assert.deepEqual((await reg.metadata.listTagDetails('apps/web')).map((t) => t.name).sort(), ['stable', 't3']);
    assert.equal(await reg.metadata.getManifest('apps/web', { digest: untagged }), null);
    assert.equal((await reg.metadata.listTagDetails('other/repo')).length, 1, 'no rule matches other/repo');
  });

  test('notPulledFor keeps tags that are pulled', async () => {
    await image('idle/app', { tag: 'pulled' });
    const quiet = await image('idle/app', { tag: 'quiet' });
    const pulledDigest = (await reg.metadata.getManifest('idle/app', { tag: 'pulled' }))!.digest;
    const later = Date.now() + 60 * day;
    await reg.metadata.recordPulls([{ repository: 'idle/app', digest: pulledDigest, tag: 'pulled', at: later - 5 * day }]);
    const applied = await reg.retention.apply(false, later);
    assert.deepEqual(applied.map((a) => [a.tag, a.digest, a.reason]), [['quiet', quiet, 'notPulledFor']]);
  });
});

test('wharf gc --dry-run previews retention and GC without changing anything', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-retention-cli-'));
  try {
    const configFile = join(dir, 'wharf.yaml');
    await writeFile(configFile, `storage:\n  dataDir: ${dir}/data\nretention:\n  - repositories: ["apps/**"]\n    keepLast: 0\n`);
    const reg = openRegistry(resolvePaths(validateConfig({ storage: { dataDir: join(dir, 'data') }, gc: { enabled: false } }, 'test')), pino({ level: 'silent' }));
    const data = Buffer.from('{"cli":true}');
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    await reg.uploads.monolithic('apps/cli', parseDigest(digest)!, Readable.from([data]));
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: data.length }, layers: [] }));
    await reg.manifests.push('apps/cli', { tag: 'doomed' }, body, 'application/vnd.oci.image.manifest.v1+json', []);
    await reg.close();
    const { stdout } = await promisify(execFile)(process.execPath, [wharfMain, 'gc', '--dry-run', '--config', configFile]);
    assert.match(stdout, /retention: would delete apps\/cli:doomed \(keepLast\)/);
    assert.match(stdout, /^dry run: would delete/m);
    const again = openRegistry(resolvePaths(validateConfig({ storage: { dataDir: join(dir, 'data') }, gc: { enabled: false } }, 'test')), pino({ level: 'silent' }));
    assert.ok(await again.metadata.getManifest('apps/cli', { tag: 'doomed' }), 'the dry run kept the tag');
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
