import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { IncomingMessage } from 'node:http';
import { badgesOf, configOf, historyOf, platformsOf } from '../../../src/ui/image.js';
import { SessionStore, sessionCookie } from '../../../src/ui/sessions.js';

const layer = (n: number) => ({ digest: `sha256:${n}`, mediaType: 'l', size: n });

test('history steps take layers in order; empty_layer steps take none; missing layers stay null', () => {
  const config = { history: [{ created_by: 'ADD a' }, { created_by: 'ENV x=1', empty_layer: true }, { created_by: 'RUN b' }, { created_by: 'RUN c' }] };
  assert.deepEqual(
    historyOf(config, [layer(1), layer(2)]).map((h) => [h.createdBy, h.layer?.size ?? null]),
    [['ADD a', 1], ['ENV x=1', null], ['RUN b', 2], ['RUN c', null]],
  );
  assert.deepEqual(historyOf({ history: 'nonsense' }, [layer(1)]), []);
});

test('platforms of an index leave out attestation entries and malformed ones', () => {
  const body = Buffer.from(
    JSON.stringify({
      manifests: [
        { digest: 'a', platform: { os: 'linux', architecture: 'amd64' } },
        { digest: 'b', platform: { os: 'unknown', architecture: 'unknown' } },
        { digest: 'c', platform: { os: 'linux' } },
        { digest: 'd', platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        'junk',
      ],
    }),
  );
  assert.deepEqual(platformsOf(body), [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
  ]);
  assert.deepEqual(platformsOf(Buffer.from('{not json')), []);
  assert.deepEqual(platformsOf(null), []);
});

test('config fields of any shape never throw; labels keep strings only', () => {
  const c = configOf({ config: { Env: ['A=1', 2], ExposedPorts: { '80/tcp': {} }, Labels: { a: 'b', n: 1 }, User: '' } });
  assert.deepEqual([c.env, c.exposedPorts, c.labels, c.user, c.entrypoint], [['A=1'], ['80/tcp'], { a: 'b' }, null, null]);
  assert.deepEqual(configOf({ config: 'x' }).env, []);
});

test('badges from referrer artifact types', () => {
  assert.deepEqual(badgesOf(['application/vnd.dev.cosign.artifact.sig.v1+json', 'application/spdx+json']), { signed: true, sbom: true, attestations: 2 });
  assert.deepEqual(badgesOf(['application/vnd.cncf.notary.signature']), { signed: true, sbom: false, attestations: 1 });
  assert.deepEqual(badgesOf(['application/vnd.cyclonedx+json']), { signed: false, sbom: true, attestations: 1 });
  assert.deepEqual(badgesOf(['application/vnd.in-toto+json']), { signed: false, sbom: false, attestations: 1 });
});

test('sessions end after the idle time and after the maximum age, however active', () => {
  let now = 0;
  const store = new SessionStore({ ttl: 1000, maxAge: 5000, now: () => now });
  const s = store.create('alice');
  const req = { headers: { cookie: `other=1; ${sessionCookie}=${s.id}` } } as IncomingMessage;
  for (now = 900; now <= 4900; now += 900) assert.equal(store.find(req)?.user, 'alice', `active at ${now}`);
  now = 5001;
  assert.equal(store.find(req), null, 'past the maximum age');
  const t = store.create(null);
  const idle = { headers: { cookie: `${sessionCookie}=${t.id}` } } as IncomingMessage;
  now += 1001;
  assert.equal(store.find(idle), null, 'idle too long');
  assert.equal(store.find({ headers: { cookie: `${sessionCookie}=forged` } } as IncomingMessage), null);
  assert.equal(store.find({ headers: {} } as IncomingMessage), null);
});
