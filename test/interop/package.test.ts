// The install a user makes, end to end: `npm pack` ships the built program (prepack builds it), `npm install -g`
// of the tarball into an empty prefix gives a `wharf` on PATH that answers every command and serves from outside
// the source tree, and an image equivalent to deploy/Containerfile (built with buildah from scratch: no base image
// can be pulled here) runs under podman as a non-root user, takes a push from skopeo and gives it back.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, projectRoot, tempDir } from '../support/processes.js';
import { run, runOk } from './support/exec.js';
import { buildHostImage, type HostImage } from './support/host-image.js';
import { buildImage, type BuiltImage } from './support/oci.js';
import { installWharf, packWharf, type InstalledWharf, type PackedWharf } from './support/package.js';
import { isolatedContainers, type Containers } from './support/podman.js';
import { skopeoCopy, skopeoInspectRaw } from './support/skopeo.js';

const commands = ['serve', 'status', 'config', 'user', 'auth', 'repo', 'gc', 'fsck', 'backup', 'restore', 'import', 'webhooks'];

async function waitFor200(url: string, isGone: () => string | null, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    const gone = isGone();
    if (gone) throw new Error(gone);
    const status = await fetch(url).then(
      async (r) => (await r.arrayBuffer(), r.status),
      () => 0,
    );
    if (status === 200) return Date.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
}

describe('the packed and installed wharf', () => {
  let work = '';
  let packed: PackedWharf;
  let installed: InstalledWharf;

  before(async () => {
    work = await tempDir('package');
    packed = await packWharf(work);
    installed = await installWharf(packed.tarball, work);
  });
  after(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('npm pack ships the compiled program, the built web UI and its README, no sources, tests or source maps', (t) => {
    const files = packed.files.map((f) => f.replace(/^package\//, ''));
    assert.ok(files.includes('dist/src/cli/main.js'), 'the bin');
    assert.ok(files.includes('dist/web/manifest.json'), 'the web UI, built by prepack');
    assert.ok(files.some((f) => /^dist\/web\/assets\/main-\w+\.js$/.test(f)), 'its hashed script');
    assert.ok(files.includes('package.json') && files.includes('README.md'));
    assert.deepEqual(files.filter((f) => !f.startsWith('dist/src/') && !f.startsWith('dist/web/') && f !== 'package.json' && f !== 'README.md'), [], 'nothing else at top level');
    assert.deepEqual(files.filter((f) => !/\.js$|\.json$|\.md$|^dist\/web\/assets\/[\w-]+\.css$/.test(f)), [], 'no .ts, .map or build info');
    assert.ok(packed.tarballBytes < 1024 * 1024, `tarball of ${packed.tarballBytes} bytes`);
    t.diagnostic(`tarball ${(packed.tarballBytes / 1024).toFixed(0)} KiB, ${files.length} files; npm pack (clean build) ${packed.packMs} ms; npm install -g ${installed.installMs} ms`);
  });

  test('wharf on PATH answers --help, --version and every command --help, from outside the source tree', async () => {
    const env = { ...process.env, PATH: `${join(installed.prefix, 'bin')}:${process.env.PATH}` };
    const cwd = join(work, 'elsewhere');
    const help = await runOk('wharf', ['--help'], { env, cwd });
    const text = help.stdout.toString();
    for (const c of commands) assert.match(text, new RegExp(`^  wharf ${c}\\b`, 'm'));
    const version = (await runOk('wharf', ['--version'], { env, cwd })).stdout.toString();
    const pkg = JSON.parse(await readFile(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    assert.equal(version, `wharf ${pkg.version}\n`);
    for (const c of commands) {
      const r = await run('wharf', [c, '--help'], { env, cwd });
      assert.equal(r.code, 0, `wharf ${c} --help: ${r.stderr}`);
      assert.match(r.stdout.toString(), new RegExp(`wharf ${c}`));
    }
  });

  test('wharf serve from the installed package answers GET /v2/ with 200, and wharf status sees it ready', async (t) => {
    const cwd = join(work, 'elsewhere');
    const dataDir = join(work, 'served-data');
    const port = await freePort();
    const child: ChildProcess = spawn(installed.bin, ['serve', '--addr', `127.0.0.1:${port}`, '--metrics-addr', `127.0.0.1:${await freePort()}`, '--data-dir', dataDir], {
      cwd,
      env: { ...process.env, PATH: `${join(installed.prefix, 'bin')}:${process.env.PATH}` },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      const ms = await waitFor200(`http://127.0.0.1:${port}/v2/`, () => (child.exitCode !== null ? `wharf serve exited ${child.exitCode}: ${stderr}` : null));
      t.diagnostic(`installed wharf serve: first 200 after ${ms} ms`);
      const page = await fetch(`http://127.0.0.1:${port}/`);
      assert.equal(page.status, 200, 'the web UI from the packed assets');
      const html = await page.text();
      const script = /src="([^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script, `the page names its script: ${html.slice(0, 300)}`);
      assert.equal((await fetch(new URL(script, `http://127.0.0.1:${port}/`))).status, 200, 'its hashed script is served');
      const status = await run(installed.bin, ['status', '--data-dir', dataDir], { cwd });
      assert.equal(status.code, 0, status.stdout.toString() + status.stderr);
      assert.match(status.stdout.toString(), /^server: +ready/m);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
    assert.equal(child.exitCode, 0, `clean shutdown: ${stderr}`);
  });

  describe('the image (deploy/Containerfile, built from scratch with this machine\'s Node)', () => {
    let containers: Containers;
    let image: HostImage;
    let container = '';
    let url = '';

    before(async () => {
      containers = await isolatedContainers(join(work, 'containers'));
      image = await buildHostImage(containers, { prefix: installed.prefix, containerfile: join(projectRoot, 'deploy', 'Containerfile'), work, name: 'localhost/wharf:interop' });
      const volume = join(work, 'volume');
      await mkdir(volume);
      await chown(volume, image.uid, image.uid);
      const port = await freePort();
      url = `http://127.0.0.1:${port}`;
      container = (
        await containers.podmanText([
          'run', '--detach', '--runtime', '/usr/sbin/runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=1024:1024',
          '--publish', `127.0.0.1:${port}:5000`, '--volume', `${volume}:/data`, 'localhost/wharf:interop',
        ])
      ).split('\n').pop()!;
    });
    after(async () => {
      if (container) await containers.podman(['rm', '--force', container]).catch(() => {});
    });

    test('runs as the non-root user, serves on 5000, and its healthcheck reports ready', async (t) => {
      const state = async () => (await containers.podmanText(['inspect', '--format', '{{.State.Status}}', container])).trim();
      const ms = await waitFor200(`${url}/v2/`, () => null).catch(async (err: Error) => {
        throw new Error(`${err.message}; container ${await state()}; logs:\n${(await containers.podman(['logs', container]).catch(() => null))?.stderr ?? ''}`);
      });
      t.diagnostic(`image built in ${image.buildMs} ms; container answered 200 after ${ms} ms`);
      const uid = await containers.podmanText(['exec', container, '/usr/local/bin/node', '-e', 'process.stdout.write(String(process.getuid()))']);
      assert.equal(uid, String(image.uid));
      const health = await containers.podman(['healthcheck', 'run', container]).catch((err: Error) => err);
      assert.ok(!(health instanceof Error), `healthcheck: ${health instanceof Error ? health.message : ''}`);
      const status = await containers.podmanText(['exec', container, 'wharf', 'status']);
      assert.match(status, /^server: +ready/m);
      assert.match(status, /^data: +\/data$/m);
    });

    test('skopeo pushes an image to it and pulls it back unchanged', async () => {
      const layout = join(work, 'oci');
      const built: BuiltImage = await buildImage(layout, 'v1', [{ files: [{ path: 'app/bin', size: 300_000 }] }, { files: [{ path: 'app/conf', content: 'x=1\n' }] }]);
      const ref = `docker://${url.slice('http://'.length)}/interop/app:v1`;
      await skopeoCopy(`oci:${layout}:v1`, ref);
      const pulled = join(work, 'pulled');
      await skopeoCopy(ref, `oci:${pulled}:v1`);
      const manifest = JSON.parse((await skopeoInspectRaw(ref)).toString()) as { layers: { digest: string }[]; config: { digest: string } };
      assert.equal(manifest.config.digest, built.configDigest);
      assert.deepEqual(manifest.layers.map((l) => l.digest), built.layerDigests);
      const back = await runOk('skopeo', ['inspect', '--raw', `oci:${pulled}:v1`]);
      assert.equal(back.stdout.toString(), (await skopeoInspectRaw(ref)).toString(), 'the pulled manifest is the served one');
    });
  });
});
