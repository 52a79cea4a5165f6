// The one test suite every MetadataStore must pass; each store's test file calls it with a factory. The contract
// is in parts (conformance/*.ts), each written from the interface's documented behaviour in src/metadata/store.ts.
import { afterEach, beforeEach, describe } from 'node:test';
import type { MetadataStore } from '../../../src/metadata/store.js';
import { boundedWorkContract } from './conformance/bounded-work.js';
import { browseContract } from './conformance/browse.js';
import { clusterContract } from './conformance/cluster.js';
import { contentContract } from './conformance/content.js';
import { exportContract } from './conformance/export.js';
import { gcBlobContract } from './conformance/gc-blobs.js';
import { gcManifestContract } from './conformance/gc-manifests.js';
import { outboxContract } from './conformance/outbox.js';
import { usageContract } from './conformance/usage.js';
import type { StoreFixture } from './conformance/support.js';

export type { StoreFixture } from './conformance/support.js';

export function metadataStoreConformance(name: string, create: () => Promise<StoreFixture>): void {
  describe(`MetadataStore conformance: ${name}`, () => {
    let fx: StoreFixture | undefined;
    beforeEach(async () => {
      fx = await create();
    });
    afterEach(async () => {
      await fx?.cleanup();
      fx = undefined;
    });
    const store = (): MetadataStore => {
      if (!fx) throw new Error('no store: the suite creates one per test');
      return fx.store;
    };
    contentContract(store);
    outboxContract(store);
    gcBlobContract(store);
    gcManifestContract(store);
    usageContract(store);
    boundedWorkContract(store);
    exportContract(store, create);
    browseContract(store);
    clusterContract(() => {
      if (!fx) throw new Error('no store: the suite creates one per test');
      return fx;
    });
  });
}
