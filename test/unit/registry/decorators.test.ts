// The API reaches blobs and manifests only through the service interfaces, so a pull-through cache can wrap them:
// shown with two test decorators wired through the real server factory. A counting one around blobs sees every
// blob request; a caching one around manifests answers repeated pulls without asking the service it wraps.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { createApiServer, type ApiServer } from '../../../src/api/server.js';
import { resolvePaths, validateConfig } from '../../../src/config/load.js';
import { HealthMonitor } from '../../../src/health/monitor.js';
import { SqliteMetadataStore } from '../../../src/metadata/sqlite.js';
import { Registry } from '../../../src/registry/registry.js';
import type { Blobs, ManifestRecord, Manifests, Reference } from '../../../src/registry/services.js';
import { MemoryDriver } from '../../../src/storage/memory.js';
import { pullImage, pushImage } from '../../support/push.js';

class CountingBlobs implements Blobs {
  readonly calls: string[] = [];
  constructor(private readonly inner: Blobs) {}
  stat(...args: Parameters<Blobs['stat']>) {
    this.calls.push('stat');
    return this.inner.stat(...args);
  }
  serve(...args: Parameters<Blobs['serve']>) {
    this.calls.push('serve');
    return this.inner.serve(...args);
  }
  mount(...args: Parameters<Blobs['mount']>) {
    this.calls.push('mount');
    return this.inner.mount(...args);
  }
  delete(...args: Parameters<Blobs['delete']>) {
    this.calls.push('delete');
    return this.inner.delete(...args);
  }
}

/** What a pull-through cache does in miniature: a manifest fetched once is served from here afterwards. */
class CachingManifests implements Manifests {
  readonly cache = new Map<string, ManifestRecord>();
  innerGets = 0;
  constructor(private readonly inner: Manifests) {}
  async get(repository: string, reference: Reference): Promise<ManifestRecord> {
    const key = `${repository}@${'tag' in reference ? reference.tag : reference.digest}`;
    const cached = this.cache.get(key);
    if (cached) return cached;
    this.innerGets++;
    const record = await this.inner.get(repository, reference);
    this.cache.set(key, record);
    return record;
  }
  recordPull(...args: Parameters<Manifests['recordPull']>) {
    return this.inner.recordPull(...args);
  }
  referrers(...args: Parameters<Manifests['referrers']>) {
    return this.inner.referrers(...args);
  }
  push(...args: Parameters<Manifests['push']>) {
    return this.inner.push(...args);
  }
  delete(...args: Parameters<Manifests['delete']>) {
    return this.inner.delete(...args);
  }
}

const log = pino({ level: 'silent' });
let registry: Registry;
let api: ApiServer;
let url: string;
let blobs: CountingBlobs;
let manifests: CachingManifests;

before(async () => {
  const config = resolvePaths(validateConfig({ server: { addr: '127.0.0.1:0' }, storage: { dataDir: '/nonexistent-wharf-test' }, log: { level: 'silent' } }, 'test'));
  registry = new Registry(config, new MemoryDriver(), new SqliteMetadataStore({ path: ':memory:', synchronous: 'normal' }), log, {
    decorate: (services) => {
      blobs = new CountingBlobs(services.blobs);
      manifests = new CachingManifests(services.manifests);
      return { ...services, blobs, manifests };
    },
  });
  const health = new HealthMonitor({}, config.health, log);
  api = createApiServer(registry, log, health);
  const bound = await api.listen('127.0.0.1', 0);
  url = `http://127.0.0.1:${bound.port}`;
});

after(async () => {
  await api.close();
  await registry.close();
});

test('blob and manifest requests go through the decorated services', async () => {
  const pushed = await pushImage(url, 'deco/app', 'v1', randomBytes(100), { minLayer: 100, extraLayer: 100 });
  assert.ok(pushed);
  assert.deepEqual(blobs.calls, [], 'monolithic pushes are uploads, not blob-service calls');

  const first = await pullImage(url, 'deco/app', 'v1');
  assert.equal(first.digest, pushed.digest);
  assert.deepEqual(blobs.calls, ['stat', 'serve', 'stat', 'serve', 'stat', 'serve']);
  assert.equal(manifests.innerGets, 1);

  await registry.manifests.delete('deco/app', { tag: 'v1' });
  const second = await pullImage(url, 'deco/app', 'v1');
  assert.equal(second.digest, pushed.digest, 'served by the decorator after the service forgot the tag');
  assert.equal(manifests.innerGets, 1);

  const head = await fetch(`${url}/v2/deco/app/blobs/${pushed.blobs[0]}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(blobs.calls.at(-1), 'stat', 'a HEAD states the blob without serving it');
});
