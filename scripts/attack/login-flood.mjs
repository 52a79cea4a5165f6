// Measures what a flood of wrong passwords does to everybody else: starts a real `wharf serve` (basic or token
// mode, users at bcrypt cost 10), pushes a small image, then sends N concurrent logins with wrong passwords (or for
// users that do not exist) and times an anonymous pull and /healthz while they are in flight. Loopback only.
//   node scripts/attack/login-flood.mjs [--wharf dist/src/cli/main.js] [--mode basic|token] [--from one|many] [--unknown]
//                               [--n 300] [--old]
// --from many spreads the flood over N addresses with X-Forwarded-For from a trusted proxy (127.0.0.1);
// --old writes the config of Wharf before auth.lockout.trustedProxies (trustForwardedFor: true).
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import bcrypt from 'bcrypt';

const { values: o } = parseArgs({
  options: {
    wharf: { type: 'string', default: 'dist/src/cli/main.js' },
    mode: { type: 'string', default: 'basic' },
    from: { type: 'string', default: 'one' },
    unknown: { type: 'boolean', default: false },
    n: { type: 'string', default: '300' },
    old: { type: 'boolean', default: false },
  },
});
const n = Number(o.n);
const port = await new Promise((res) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const p = s.address().port;
    s.close(() => res(p));
  });
});
const base = `http://127.0.0.1:${port}`;
const dir = await mkdtemp(join(tmpdir(), 'wharf-flood-'));
const hash = async (pw) => (await bcrypt.hash(pw, 10)).replace(/^\$2b\$/, '$2y$');
await writeFile(join(dir, 'htpasswd'), `admin:${await hash('admin-pw')}\nalice:${await hash('alice-pw')}\n`);
const lockout = o.old ? (o.from === 'many' ? '  lockout: {trustForwardedFor: true}' : '') : o.from === 'many' ? '  lockout: {trustedProxies: [127.0.0.1]}' : '';
await writeFile(
  join(dir, 'wharf.yaml'),
  [
    'auth:',
    `  mode: ${o.mode}`,
    `  htpasswd: {path: ${join(dir, 'htpasswd')}}`,
    `  token: {realm: "${base}/auth/token"}`,
    '  anonymous: [{repositories: ["public/**"], actions: [pull]}]',
    '  admins: [admin]',
    lockout,
    'log: {level: error}',
  ].join('\n'),
);
const child = spawn(process.execPath, [resolve(o.wharf), 'serve', '--addr', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--config', join(dir, 'wharf.yaml')], {
  env: { ...process.env, WHARF_METRICS__ENABLED: 'false' },
  stdio: ['ignore', 'inherit', 'inherit'],
});

function send(path, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((res, rej) => {
    const req = request(`${base}${path}`, { method, headers, agent: false }, (r) => {
      const chunks = [];
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', rej);
    req.end(body);
  });
}
const basic = (u, p) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
async function authHeader(user, password, scope) {
  if (o.mode === 'basic') return user ? { Authorization: basic(user, password) } : {};
  const r = await send(`/auth/token?service=wharf&scope=${encodeURIComponent(scope)}`, { headers: user ? { Authorization: basic(user, password) } : {} });
  return { Authorization: `Bearer ${JSON.parse(r.body).token}` };
}

for (let i = 0; ; i++) {
  try {
    await send('/v2/');
    break;
  } catch {
    if (i > 200) throw new Error('wharf did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
}
try {
  const push = await authHeader('admin', 'admin-pw', 'repository:public/img:pull,push');
  const blobs = [Buffer.from('{"architecture":"amd64","os":"linux"}'), randomBytes(4096)];
  const digests = [];
  for (const b of blobs) {
    const digest = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    digests.push(digest);
    const start = await send('/v2/public/img/blobs/uploads/', { method: 'POST', headers: push });
    const loc = new URL(start.headers.location, base);
    loc.searchParams.set('digest', digest);
    await send(loc.pathname + loc.search, { method: 'PUT', headers: { ...push, 'Content-Type': 'application/octet-stream', 'Content-Length': b.length }, body: b });
  }
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: digests[0], size: blobs[0].length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: digests[1], size: blobs[1].length }],
  });
  const put = await send('/v2/public/img/manifests/latest', { method: 'PUT', headers: { ...push, 'Content-Type': 'application/vnd.oci.image.manifest.v1+json' }, body: manifest });
  if (put.status !== 201) throw new Error(`push failed: ${put.status} ${put.body}`);

  const pull = async () => {
    const t = performance.now();
    const h = await authHeader(null, null, 'repository:public/img:pull');
    const m = await send('/v2/public/img/manifests/latest', { headers: { ...h, Accept: 'application/vnd.oci.image.manifest.v1+json' } });
    const b = await send(`/v2/public/img/blobs/${digests[1]}`, { headers: h });
    if (m.status !== 200 || b.status !== 200) throw new Error(`pull failed: ${m.status} ${b.status}`);
    return Math.round(performance.now() - t);
  };
  const healthz = async () => {
    const t = performance.now();
    await send('/healthz');
    return Math.round(performance.now() - t);
  };
  const idle = { pullMs: await pull(), healthzMs: await healthz() };

  const t0 = performance.now();
  const path = o.mode === 'basic' ? '/v2/' : '/auth/token?service=wharf';
  const flood = Array.from({ length: n }, (_, i) =>
    send(path, {
      headers: {
        Authorization: basic(o.unknown ? `ghost${i}` : 'alice', `guess-${i}`),
        ...(o.from === 'many' ? { 'X-Forwarded-For': `10.77.${i >> 8}.${i & 255}` } : {}),
      },
    }).then((r) => ({ status: r.status, ms: performance.now() - t0 })),
  );
  await new Promise((r) => setTimeout(r, 20));
  const [pullMs, healthzMs] = await Promise.all([pull(), healthz()]);
  const results = await Promise.all(flood);
  const statuses = {};
  for (const r of results) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  console.log(
    JSON.stringify({
      wharf: o.wharf,
      mode: o.mode,
      from: o.from,
      unknown: o.unknown,
      n,
      idle,
      duringFlood: { pullMs, healthzMs },
      floodMs: Math.round(Math.max(...results.map((r) => r.ms))),
      statuses,
    }),
  );
} finally {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await rm(dir, { recursive: true, force: true });
}
