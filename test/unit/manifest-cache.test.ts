// The shared manifest-body cache: one buffer per digest for every caller, bounded in bytes, least recently used out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManifestBodyCache } from '../../src/registry/manifest-cache.js';

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
