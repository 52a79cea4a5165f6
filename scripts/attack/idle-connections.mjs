// usage: node scripts/attack/idle-connections.mjs WHARF_ROOT — a wharf process with `ulimit -n 1024`; 1100 idle connections from 127.0.0.1; then
// what a second address (127.0.0.2) gets from /healthz, /readyz and a monolithic blob upload.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
const root = process.argv[2];
const port = 40000 + Math.floor(Math.random() * 10000);
const dataDir = mkdtempSync(join(tmpdir(), 'lim-conns-'));
const child = spawn('prlimit', ['--nofile=1024:1024', process.execPath, join(root, 'dist/src/cli/main.js'), 'serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir],
  { env: { ...process.env, WHARF_METRICS__ADDR: '127.0.0.1:0', WHARF_HEALTH__INTERVAL: '200ms', WHARF_HEALTH__FAILURE_THRESHOLD: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
child.stdout.on('data', (d) => (out += d)); child.stderr.on('data', (d) => (out += d));
for (let i = 0; i < 100 && !out.includes('wharf listening'); i++) await new Promise((r) => setTimeout(r, 100));
const socks = []; let refused = 0;
for (let i = 0; i < 1100; i++) {
  const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
  s.on('error', () => {}); s.on('close', () => refused++);
  socks.push(s);
  await new Promise((r) => s.once('connect', r).once('error', r));
}
await new Promise((r) => setTimeout(r, 1000)); // readiness checks run
function req(method, path, body) {
  return new Promise((resolve) => {
    const r = request({ host: '127.0.0.1', port, method, path, localAddress: '127.0.0.2', agent: false, timeout: 5000, headers: { 'Content-Length': body?.length ?? 0 } }, (res) => {
      let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve(`${res.statusCode} ${b.slice(0, 80)}`));
    });
    r.on('error', (e) => resolve(`error ${e.code}`)); r.on('timeout', () => { r.destroy(); resolve('timeout'); });
    r.end(body);
  });
}
const blob = Buffer.from('hello from 127.0.0.2');
const digest = 'sha256:' + createHash('sha256').update(blob).digest('hex');
const result = { root, idleOpened: 1100, closedByServer: refused, healthz: await req('GET', '/healthz'), readyz: await req('GET', '/readyz'),
  upload: await req('POST', `/v2/other/blobs/uploads/?digest=${digest}`, blob), emfileInLog: /EMFILE/.test(out) };
console.log(JSON.stringify(result));
for (const s of socks) s.destroy();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
