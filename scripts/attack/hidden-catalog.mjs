// usage: node scripts/attack/hidden-catalog.mjs WHARF_ROOT  — 20k hidden repos, anonymous may pull 5; times catalog calls and /healthz under 8 callers.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from '/work/wt-limits/node_modules/better-sqlite3/lib/index.js';
const root = process.argv[2];
const { validateConfig, resolvePaths } = await import(join(root, 'dist/src/config/load.js'));
const { startServer } = await import(join(root, 'dist/src/cli/serve.js'));
const pino = (await import('/work/wt-limits/node_modules/pino/pino.js')).default;
const dataDir = await mkdtemp(join(tmpdir(), 'lim-bench-'));
const htp = join(dataDir, 'htpasswd');
await writeFile(htp, 'x:$2y$05$abcdefghijklmnopqrstuuD0y0A3g5Hk7m0wQ3o7Yk8o2a1k9C2aW\n');
const config = resolvePaths(validateConfig({ server: { addr: '127.0.0.1:0' }, storage: { dataDir }, metrics: { enabled: false }, log: { level: 'silent' },
  auth: { mode: 'basic', htpasswd: { path: htp }, anonymous: [{ repositories: ['vis/**'], actions: ['pull'] }] } }, 'bench'));
const srv = await startServer(config, pino({ level: 'silent' }));
const db = new Database(join(dataDir, 'wharf.db'));
const ins = db.prepare('INSERT INTO repositories (name, created_at) VALUES (?, ?)');
db.transaction(() => { for (let i = 0; i < 20000; i++) ins.run(`hidden/${String(i).padStart(5, '0')}`, Date.now()); for (const v of ['vis/a','vis/b','vis/c','vis/d','vis/e']) ins.run(v, Date.now()); })();
db.close();
const base = `http://127.0.0.1:${srv.port}`;
async function call(url) { const t = performance.now(); const r = await fetch(base + url); await r.arrayBuffer(); return { ms: performance.now() - t, link: r.headers.get('link') }; }
const single = [];
for (let i = 0; i < 30; i++) single.push((await call('/v2/_catalog?n=100')).ms);
single.sort((a, b) => a - b);
let stop = false; let calls = 0;
const callers = Array.from({ length: 8 }, async () => { while (!stop) { await call('/v2/_catalog?n=100'); calls++; } });
const hz = [];
for (let i = 0; i < 40; i++) { hz.push((await call('/healthz')).ms); }
stop = true; await Promise.all(callers);
hz.sort((a, b) => a - b);
const full = performance.now(); let url = '/v2/_catalog?n=100'; let pages = 0;
while (url) { const r = await call(url); pages++; url = r.link ? /<([^>]+)>/.exec(r.link)[1] : null; }
console.log(JSON.stringify({ root, catalogCallMedianMs: +single[15].toFixed(1), catalogCallMaxMs: +single[29].toFixed(1), healthzWith8CallersMedianMs: +hz[20].toFixed(1), healthzWith8CallersP95Ms: +hz[38].toFixed(1), fullListingMs: +(performance.now() - full).toFixed(1), fullListingCalls: pages }));
await srv.stop();
