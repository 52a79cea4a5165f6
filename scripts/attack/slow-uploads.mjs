// usage: node scripts/attack/slow-uploads.mjs WHARF_ROOT — default config; 256 PATCH uploads from 127.0.0.1 trickling 1 byte / 3 s;
// then a blob upload from 127.0.0.2 at 2 s, and how many trickling requests are still open at 40 s.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
const root = process.argv[2];
const port = 40000 + Math.floor(Math.random() * 10000);
const dataDir = mkdtempSync(join(tmpdir(), 'lim-trickle-'));
const child = spawn(process.execPath, [join(root, 'dist/src/cli/main.js'), 'serve', '--addr', `127.0.0.1:${port}`, '--data-dir', dataDir],
  { env: { ...process.env, WHARF_METRICS__ADDR: '127.0.0.1:0' }, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
child.stdout.on('data', (d) => (out += d)); child.stderr.on('data', (d) => (out += d));
for (let i = 0; i < 100 && !out.includes('wharf listening'); i++) await new Promise((r) => setTimeout(r, 100));
function req(localAddress, method, path, body) {
  return new Promise((resolve) => {
    const r = request({ host: '127.0.0.1', port, method, path, localAddress, agent: false, headers: { 'Content-Length': body?.length ?? 0 } }, (res) => {
      let b = ''; res.on('data', (d) => (b += d)); res.on('end', () => resolve({ status: res.statusCode, location: res.headers.location, body: b }));
    });
    r.on('error', (e) => resolve({ status: e.code })); r.end(body);
  });
}
const socks = []; let open = 0; const answers = {};
for (let i = 0; i < 256; i++) {
  const { location } = await req('127.0.0.1', 'POST', '/v2/victim/blobs/uploads/');
  const s = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.1' });
  s.on('error', () => {});
  open++;
  s.on('data', (d) => { const st = /^HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1]; if (st) answers[st] = (answers[st] ?? 0) + 1; });
  s.on('close', () => open--);
  const u = new URL(location, `http://127.0.0.1:${port}`); s.write(`PATCH ${u.pathname}${u.search} HTTP/1.1\r\nHost: r\r\nContent-Length: 100000\r\n\r\nx`);
  socks.push(s);
}
const timer = setInterval(() => { for (const s of socks) if (!s.destroyed) s.write('x'); }, 3000);
await new Promise((r) => setTimeout(r, 2000));
const blob = Buffer.from('hello from 127.0.0.2');
const digest = 'sha256:' + createHash('sha256').update(blob).digest('hex');
const other = await req('127.0.0.2', 'POST', `/v2/other/blobs/uploads/?digest=${digest}`, blob);
const t0 = Date.now();
await new Promise((r) => setTimeout(r, 38000));
console.log(JSON.stringify({ root, otherAddressUploadAt2s: other.status, tricklersStillOpenAt40s: open, answersToTricklers: answers, cutLogLines: (out.match(/too slowly/g) ?? []).length }));
clearInterval(timer);
for (const s of socks) s.destroy();
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
