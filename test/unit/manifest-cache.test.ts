// The shared manifest-body cache: one buffer per digest for every caller, bounded in bytes, least recently used out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManifestBodyCache, ManifestLookupCache } from '../../src/registry/manifest-cache.js';
import type { ManifestRecord } from '../../src/metadata/store.js';

describe('manifest body cache', () => {
  it('hands every caller the first buffer seen for a digest', () => {
    const cache = new ManifestBodyCache(1000);
    const first = Buffer.from('{"a":1}');
    assert.equal(cache.share('d1', first), first);
    const again = cache.share('d1', Buffer.from('{"a":1}'));
    assert.equal(again, first, 'a second read of the same digest gets the shared copy, not its own');
  });

  it('stays within its capacity, evicting the least recently used', () => {
    const cache = new ManifestBodyCache(1000);
    const a = Buffer.alloc(200, 'a');
    cache.share('a', a);
    cache.share('b', Buffer.alloc(200, 'b'));
    cache.share('c', Buffer.alloc(200, 'c'));
    cache.share('a', Buffer.alloc(200, 'a')); // a is now the most recently used
    cache.share('d', Buffer.alloc(200, 'd'));
    cache.share('e', Buffer.alloc(200, 'e'));
    assert.deepEqual(cache.size, { entries: 5, bytes: 1000 });
    cache.share('f', Buffer.alloc(200, 'f'));
    assert.deepEqual(cache.size, { entries: 5, bytes: 1000 });
    assert.equal(cache.share('a', Buffer.alloc(200, 'a')), a, 'recently used a survived');
    const b = Buffer.alloc(200, 'b');
    assert.equal(cache.share('b', b), b, 'b, the least recently used, was evicted');
  });

  it('never keeps a body larger than a quarter of its capacity', () => {
    const cache = new ManifestBodyCache(1000);
    const big = Buffer.alloc(251);
    assert.equal(cache.share('big', big), big);
    assert.deepEqual(cache.size, { entries: 0, bytes: 0 });
  });
});

const record = (digest: string, bytes: number): ManifestRecord => ({
  repository: 'r',
  digest,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: bytes,
  body: Buffer.alloc(bytes),
  artifactType: null,
  subject: null,
  createdAt: 0,
});

describe('manifest lookup cache', () => {
  it('answers only at the version it was filled at, and empties when the version moves on', () => {
    const cache = new ManifestLookupCache(1000);
    assert.equal(cache.get('v1', 'k'), undefined);
    const a = record('a', 10);
    cache.set('v1', 'k', a);
    assert.equal(cache.get('v1', 'k'), a);
    assert.equal(cache.get('v2', 'k'), undefined, 'a newer version never sees the older answer');
    assert.deepEqual(cache.size, { entries: 0, bytes: 0 });
    cache.set('v1', 'k', a); // read under v1, finished after v2 was seen: stale, dropped
    assert.equal(cache.get('v2', 'k'), undefined);
  });

  it('stays within its byte and entry bounds, oldest out first, and never keeps a body over a quarter of it', () => {
    const cache = new ManifestLookupCache(1000, 3);
    cache.get('v', 'x');
    for (const k of ['a', 'b', 'c', 'd']) cache.set('v', k, record(k, 200));
    assert.deepEqual(cache.size, { entries: 3, bytes: 600 });
    assert.equal(cache.get('v', 'a'), undefined);
    cache.set('v', 'big', record('big', 251));
    assert.equal(cache.get('v', 'big'), undefined);
    const bytes = new ManifestLookupCache(1000, 100);
    bytes.get('v', 'x');
    for (const k of ['a', 'b', 'c', 'd', 'e', 'f']) bytes.set('v', k, record(k, 200));
    assert.deepEqual(bytes.size, { entries: 5, bytes: 1000 });
  });
});
