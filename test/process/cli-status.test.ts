// `wharf status` as a real process beside a real `wharf serve` process: what it reports must match what was done
// to the registry (pushes, a GC pass, a dead-lettered webhook, a lockout), found through the note the server
// leaves in its data directory; and a stopped registry is reported as such, with exit 1.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { randomBytes } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { test } from 'node:test';
import { hashPassword } from '../../src/auth/htpasswd.js';
import type { StatusReport } from '../../src/cli/commands/status-report.js';
import { wharfCli } from '../support/cli.js';
import { freePort, startWharf, tempDir } from '../support/processes.js';
import { pushImage } from '../support/push.js';
import { externalCertPem, externalKeyPem } from '../unit/auth/support.js';

const ADMIN_PASSWORD = 'status-admin-pw';

function failedLogin(url: string, from: string): Promise<number> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: Number(u.port), path: '/v2/', localAddress: from, agent: false, headers: { Authorization: `Basic ${Buffer.from('admin:wrong').toString('base64')}` } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('wharf status reports content, last GC, webhook dead letters, lockouts and readiness of the running server', async (t) => {
  const dir = await tempDir('status');
  t.after(() => rm(dir, { recursive: true, force: true }));
  const htpasswd = join(dir, 'htpasswd');
  await writeFile(htpasswd, `admin:${await hashPassword(ADMIN_PASSWORD, 4)}\n`);
  const deadPort = await freePort(); // nothing listens there: every delivery fails
  const metricsPort = await freePort();
  const config = join(dir, 'wharf.yaml');
  await writeFile(
    config,
    [
      'auth:',
      '  mode: basic',
      `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
      '  anonymous: [{repositories: ["**"], actions: [pull, push]}]',
      '  admins: [admin]',
      '  lockout: {maxFailures: 3}',
      'webhooks:',
      '  maxAttempts: 1',
      '  endpoints:',
      `    - {name: hook, url: "http://127.0.0.1:${deadPort}/hook", actions: [push]}`,
    ].join('\n'),
  );
  const wharf = await startWharf({ env: { WHARF_METRICS__ADDR: `127.0.0.1:${metricsPort}` }, args: ['--config', config] });
  t.after(() => wharf.stop());
  const shared = randomBytes(1000);
  for (const tag of ['a', 'b']) assert.ok(await pushImage(wharf.url, 'team/app', tag, shared, { minLayer: 2000, extraLayer: 10 }));
  assert.ok(await pushImage(wharf.url, 'team/tool', 'v1', shared, { minLayer: 2000, extraLayer: 10 }));
  for (let i = 0; i < 3; i++) assert.equal(await failedLogin(wharf.url, '127.0.0.9'), 401);
  const gc = await wharfCli(['gc', '--data-dir', wharf.dataDir]);
  assert.equal(gc.code, 0, gc.stderr);

  const env = { WHARF_ADMIN_USER: 'admin', WHARF_ADMIN_PASSWORD: ADMIN_PASSWORD };
  let report: StatusReport | null = null;
  for (const deadline = Date.now() + 20_000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 300))) {
    const r = await wharfCli(['status', '--json', '--config', config, '--data-dir', wharf.dataDir], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    report = JSON.parse(r.stdout) as StatusReport;
    if (report.webhooks.dead >= 3 && report.webhooks.pending === 0) break;
  }
  assert.ok(report);
  assert.equal(report.server.running, true);
  assert.equal(report.server.ready, true);
  assert.equal(report.server.pid, wharf.pid);
  assert.deepEqual(Object.keys(report.server.checks ?? {}).sort(), ['metadata', 'storage']);
  assert.equal(report.listeners.api, wharf.host, 'the address the server bound, not the configured default');
  assert.equal(report.listeners.metrics, `127.0.0.1:${metricsPort}`);
  assert.deepEqual(
    { ...report.content },
    { repositories: 2, tags: 3, manifests: 3, blobs: 7, openUploads: 0 }, // 3 configs + 3 layers + the shared one
  );
  assert.ok(report.storage.contentBytes > 3 * 2000);
  assert.ok(report.storage.filesystem.freeBytes > 0 && report.storage.filesystem.freeBytes <= report.storage.filesystem.sizeBytes);
  assert.equal(report.gc.last?.trigger, 'cli');
  assert.equal(report.gc.runs, 1);
  assert.ok(Date.now() - Date.parse(report.gc.last.finishedAt) < 60_000);
  assert.deepEqual(report.webhooks.endpoints, [{ name: 'hook', configured: true, pending: 0, dead: 3 }]);
  assert.deepEqual(report.lockouts.locks?.map((l) => [l.address, l.user]), [['127.0.0.9', 'admin']]);
  assert.equal(report.tls.mode, 'none');

  const text = await wharfCli(['status', '--config', config, '--data-dir', wharf.dataDir], { env });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^server: +ready \\(wharf [\\d.]+, pid ${wharf.pid},`, 'm'));
  assert.match(text.stdout, /^content: +2 repositories, 3 tags, 3 manifests, 7 blobs/m);
  assert.match(text.stdout, /^last gc: .*wharf gc/m);
  assert.match(text.stdout, /^webhooks: +0 pending, 3 dead-lettered/m);
  assert.match(text.stdout, /^lockouts: +1 locked\n  127\.0\.0\.9 user admin until /m);

  // The container healthcheck: the server found through its note, whatever port the metrics listener took.
  const ready = await wharfCli(['status', '--ready', '--data-dir', wharf.dataDir]);
  assert.deepEqual([ready.code, ready.stdout], [0, 'ready\n']);
});

test('wharf status on a stopped registry: not running, exit 1, the data still reported; the TLS certificate expiry read from its file', async (t) => {
  const wharf = await startWharf({ keepData: true });
  const dataDir = wharf.dataDir;
  t.after(() => rm(dataDir, { recursive: true, force: true }));
  assert.ok(await pushImage(wharf.url, 'solo', 'v1', randomBytes(100), { minLayer: 100, extraLayer: 1 }));
  await wharf.stop();
  const dir = await tempDir('status-tls');
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'cert.pem'), externalCertPem);
  await writeFile(join(dir, 'key.pem'), externalKeyPem);
  const config = join(dir, 'wharf.yaml');
  await writeFile(config, `tls: {mode: files, certificate: ${join(dir, 'cert.pem')}, key: ${join(dir, 'key.pem')}}\nmetrics: {addr: "127.0.0.1:${await freePort()}"}\n`);
  const r = await wharfCli(['status', '--json', '--config', config, '--data-dir', dataDir]);
  assert.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout) as StatusReport;
  assert.equal(report.server.running, false);
  assert.match(report.server.error ?? '', /ECONNREFUSED/);
  assert.equal(report.content.repositories, 1);
  assert.equal(report.gc.last, null);
  assert.equal(report.tls.certificate?.notAfter, new Date(new X509Certificate(externalCertPem).validTo).toISOString());
  const text = await wharfCli(['status', '--config', config, '--data-dir', dataDir]);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^server: +not running/m);
  assert.match(text.stdout, /^tls: +files: .* expires \d{4}-/m);
  const ready = await wharfCli(['status', '--ready', '--config', config, '--data-dir', dataDir]);
  assert.equal(ready.code, 1);
  assert.match(ready.stdout, /^not ready: no answer: ECONNREFUSED/);

  // The last GC pass is read from the metadata store, so a pass run while the server is down still shows.
  const gc = await wharfCli(['gc', '--data-dir', dataDir]);
  assert.equal(gc.code, 0, gc.stderr);
  const after = JSON.parse((await wharfCli(['status', '--json', '--config', config, '--data-dir', dataDir])).stdout) as StatusReport;
  assert.equal(after.gc.runs, 1);
  assert.equal(after.gc.last?.trigger, 'cli');
  assert.deepEqual([after.gc.last.manifestsDeleted, after.gc.last.blobsDeleted, after.gc.last.bytesFreed], [0, 0, 0]);
  assert.ok(Date.now() - Date.parse(after.gc.last.finishedAt) < 60_000);
  assert.match((await wharfCli(['status', '--config', config, '--data-dir', dataDir])).stdout, /^last gc: .*, wharf gc\): freed 0 B, 0 manifests and 0 blobs deleted; .*1 passes/m);
});
