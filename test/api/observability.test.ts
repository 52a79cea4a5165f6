import assert from 'node:assert/strict';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client } from './support/http.js';
import { pushImage, repoName } from './support/registry.js';

async function scrape(srv: TestServer): Promise<string> {
  const res = await fetch(`${srv.metricsUrl}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return res.text();
}

function sample(text: string, name: string, labels: Record<string, string> = {}): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('metrics, health and the dashboard', () => {
  let srv: TestServer;
  let c: Client;
  before(async () => {
    srv = await startTestServer({ health: { interval: '50ms', failureThreshold: 2 } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('requests, latency, bytes, stored content and process metrics are exported with Prometheus names', async () => {
    const repo = repoName('metrics');
    const image = await pushImage(c, repo, { tag: 'v1', layers: 2 });
    for (let i = 0; i < 3; i++) assert.equal((await c.get(`/v2/${repo}/manifests/v1`, { Accept: 'application/vnd.oci.image.manifest.v1+json' })).status, 200);
    assert.equal((await c.get(`/v2/${repo}/manifests/nope`)).status, 404);
    const text = await scrape(srv);
    assert.ok((sample(text, 'wharf_http_requests_total', { route: 'manifest', method: 'GET', status: '200' }) ?? 0) >= 3);
    assert.ok((sample(text, 'wharf_http_requests_total', { route: 'manifest', method: 'GET', status: '404' }) ?? 0) >= 1);
    assert.ok((sample(text, 'wharf_http_request_duration_seconds_count', { route: 'manifest', method: 'GET' }) ?? 0) >= 4);
    const received = (sample(text, 'wharf_http_received_bytes_total', { route: 'upload' }) ?? 0) + (sample(text, 'wharf_http_received_bytes_total', { route: 'upload-start' }) ?? 0);
    assert.ok(received >= image.config.size + image.layers[0]!.size + image.layers[1]!.size, 'every blob byte pushed is counted');
    assert.ok((sample(text, 'wharf_http_sent_bytes_total', { route: 'manifest' }) ?? 0) > 0);
    assert.ok((sample(text, 'wharf_blobs') ?? 0) >= 3, 'config and two layers');
    assert.ok((sample(text, 'wharf_repositories') ?? 0) >= 1);
    assert.ok((sample(text, 'wharf_manifests') ?? 0) >= 1);
    assert.ok((sample(text, 'wharf_blob_bytes') ?? 0) >= image.config.size);
    assert.equal(sample(text, 'wharf_uploads_in_progress'), 0);
    assert.ok((sample(text, 'wharf_process_resident_memory_bytes') ?? 0) > 0);
    for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE '))) {
      const [, , name, type] = line.split(' ');
      assert.match(name!, /^wharf_[a-z0-9_]+$/);
      if (type === 'counter') assert.match(name!, /_total$/, `${name} is a counter: Prometheus convention ends it in _total`);
    }
  });

  it('the metrics listener is separate from the registry port', async () => {
    assert.notEqual(new URL(srv.metricsUrl).port, new URL(srv.url).port);
    assert.equal((await fetch(`${srv.url}/metrics`)).status, 404);
  });

  it('/healthz and /readyz answer on both listeners; only the metrics listener shows per-check details', async () => {
    for (const base of [srv.url, srv.metricsUrl]) {
      const live = await fetch(`${base}/healthz`);
      assert.equal(live.status, 200);
      assert.equal((await fetch(`${base}/readyz`)).status, 200);
    }
    assert.deepEqual(await (await fetch(`${srv.url}/readyz`)).json(), { status: 'ready' });
    const body = (await (await fetch(`${srv.metricsUrl}/readyz`)).json()) as { status: string; checks: Record<string, { ok: boolean; consecutiveFailures: number }> };
    assert.equal(body.status, 'ready');
    assert.deepEqual(Object.keys(body.checks).sort(), ['metadata', 'storage']);
    assert.ok(body.checks.storage!.ok);
  });

  it('readiness fails after repeated storage failures and recovers when storage does', async () => {
    const root = join(srv.dataDir, 'storage');
    await rename(root, `${root}.moved`);
    await writeFile(root, 'not a directory'); // every write below root now fails, even for root
    try {
      await waitFor(async () => (await fetch(`${srv.url}/readyz`)).status === 503, 'readiness to fail');
      const body = (await (await fetch(`${srv.metricsUrl}/readyz`)).json()) as { checks: Record<string, { ok: boolean; consecutiveFailures: number; lastError: string }> };
      assert.equal(body.checks.storage!.ok, false);
      assert.ok(body.checks.storage!.consecutiveFailures >= 2);
      assert.ok(body.checks.metadata!.ok);
      assert.ok(body.checks.storage!.lastError.length > 0, 'operators see why');
      // The public port says only that it is not ready: no paths or errno text for anyone who can reach it.
      const pub = await fetch(`${srv.url}/readyz`);
      assert.equal(pub.status, 503);
      const text = await pub.text();
      assert.deepEqual(JSON.parse(text), { status: 'unready' });
      assert.ok(!text.includes(srv.dataDir), text);
      assert.equal((await fetch(`${srv.url}/healthz`)).status, 200, 'liveness does not depend on storage');
    } finally {
      await rm(root);
      await rename(`${root}.moved`, root);
    }
    await waitFor(async () => (await fetch(`${srv.url}/readyz`)).status === 200, 'readiness to recover');
  });

  it('every metric the shipped Grafana dashboard queries is exported by Wharf', async () => {
    const dashboard = JSON.parse(await readFile(new URL('../../../deploy/grafana/wharf-dashboard.json', import.meta.url), 'utf8')) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exported = new Set(
      (await scrape(srv))
        .split('\n')
        .filter((l) => l.startsWith('# TYPE '))
        .map((l) => l.split(' ')[2]!),
    );
    const queried = new Set<string>();
    for (const panel of dashboard.panels) {
      assert.ok(panel.targets.length > 0, `${panel.title} has no query`);
      for (const target of panel.targets) for (const m of target.expr.matchAll(/\b(wharf_[a-z0-9_]+)/g)) queried.add(m[1]!);
    }
    assert.ok(queried.size >= 10);
    for (const name of queried) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(exported.has(name) || exported.has(base), `dashboard queries ${name}, which Wharf does not export`);
    }
  });
});
