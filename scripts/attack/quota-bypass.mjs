// node scripts/attack/quota-bypass.mjs WHARF_ROOT/dist/src/cli/main.js — a 1 MiB quota on q/**: a chunked 20 MiB POST, 10 concurrent 900 KiB pushes, a flood of upload sessions
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
const main = process.argv[2];
const dir = mkdtempSync(join(tmpdir(), 'qmeasure-'));
const cfg = join(dir, 'c.yaml');
writeFileSync(cfg, 'quotas:\n  - repositories: ["q/**"]\n    maxBytes: 1MiB\n');
const port = 20000 + Math.floor(Math.random() * 20000);
const child = spawn(process.execPath, [main, 'serve', '--addr', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--config', cfg], { env: { ...process.env, WHARF_METRICS__ADDR: '127.0.0.1:0', WHARF_LOG__LEVEL: 'silent' }, stdio: 'ignore' });
const url = `http://127.0.0.1:${port}`;
for (let i = 0; i < 100; i++) { try { await fetch(`${url}/v2/`); break; } catch { await new Promise((r) => setTimeout(r, 100)); } }
const sha = (b) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const staged = () => { try { return readdirSync(join(dir, 'data', 'storage', '_uploads')).length; } catch { return 0; } };
function chunked(path, total, body) {
  return new Promise((resolve) => {
    const req = request(`${url}${path}`, { method: 'POST' });
    req.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    req.on('error', (e) => resolve(`error ${e.code}`));
    let w = 0;
    const pump = () => { while (w < total) { const piece = body.subarray(w, w + 65536); w += piece.length; if (!req.write(piece)) return void req.once('drain', pump); } req.end(); };
    pump();
  });
}
const data20 = randomBytes(20 * 1024 * 1024);
console.log('chunked 20 MiB monolithic POST into 1 MiB quota:', await chunked(`/v2/q/a/blobs/uploads/?digest=${sha(data20)}`, 20 * 1024 * 1024, data20), 'staged files after:', staged());
const blobs = Array.from({ length: 10 }, () => randomBytes(900 * 1024));
const st = await Promise.all(blobs.map((b) => fetch(`${url}/v2/q/b/blobs/uploads/?digest=${sha(b)}`, { method: 'POST', body: b }).then((r) => r.status)));
const usage = await (await fetch(`${url}/admin/v1/repositories/q/b`)).json();
console.log('10 concurrent 900 KiB pushes into 1 MiB:', JSON.stringify(st.reduce((m, s) => ((m[s] = (m[s] ?? 0) + 1), m), {})), 'usage bytes', usage.bytes);
// sessions: at most 12000 POSTs, 32 at a time, at most 6 s
let opened = 0, refused = 0, other = 0; const t0 = Date.now(); let sent = 0;
await Promise.all(Array.from({ length: 32 }, async () => {
  while (sent < 12000 && Date.now() - t0 < 6000) { sent++; const r = await fetch(`${url}/v2/s/r/blobs/uploads/`, { method: 'POST' }); await r.arrayBuffer(); if (r.status === 202) opened++; else if (r.status === 429) refused++; else other++; }
}));
console.log(`upload sessions in one repository: ${sent} POSTs in ${Date.now() - t0} ms -> ${opened} opened, ${refused} refused (429), ${other} other`);
child.kill('SIGTERM');
await new Promise((r) => child.on('exit', r));
rmSync(dir, { recursive: true, force: true });
