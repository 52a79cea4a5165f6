// A real full filesystem (a 64 MiB ext4 image, loop-mounted) under a real Wharf process: pushes that meet ENOSPC
// get 507 with an OCI error, the failure is logged at error level, nothing is left staged or visible, and pushes
// work again once space is freed. It needs root to mount (as CI and these machines run), so it lives in the
// stress tier with the other tests that need the machine itself, and fails, never skips, without it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { startWharf, tempDir } from '../support/processes.js';

const MiB = 1024 * 1024;

function digest(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

async function push(url: string, repo: string, data: Buffer): Promise<Response> {
  return fetch(`${url}/v2/${repo}/blobs/uploads/?digest=${digest(data)}`, {
    method: 'POST',
    body: new Uint8Array(data),
    headers: { 'Content-Type': 'application/octet-stream' },
  });
}

test('disk full: 507 with an OCI error, logged as an error, nothing staged or visible, recovery once space returns', async () => {
  assert.equal(process.getuid?.(), 0, 'needs root to loop-mount a small filesystem (run the stress tier as root, as CI does)');
  const work = await tempDir('diskfull');
  const image = join(work, 'fs.img');
  const mount = join(work, 'mnt');
  await mkdir(mount);
  execFileSync('truncate', ['-s', '64M', image]);
  execFileSync('mkfs.ext4', ['-q', '-F', image]);
  execFileSync('mount', ['-o', 'loop', image, mount]);
  try {
    const dataDir = join(mount, 'data');
    const wharf = await startWharf({ dataDir });
    try {
      // Most of the space goes to a filler file, so a few pushes reach the end of the disk.
      const filler = join(mount, 'filler');
      await writeFile(filler, Buffer.alloc(44 * MiB));
      let full: Response | null = null;
      let refused: Buffer | null = null;
      for (let i = 0; i < 12 && !full; i++) {
        const data = randomBytes(4 * MiB);
        const res = await push(wharf.url, 'disk/full', data);
        if (res.status === 201) continue;
        full = res;
        refused = data;
      }
      assert.ok(full && refused, 'the disk filled up within 12 pushes of 4 MiB');
      assert.equal(full.status, 507);
      const body = (await full.json()) as { errors: { code: string; message: string }[] };
      assert.equal(body.errors[0]!.code, 'UNKNOWN');
      assert.match(body.errors[0]!.message, /storage is full/);

      assert.deepEqual(await readdir(join(dataDir, 'storage', '_uploads')), [], 'nothing staged is left behind');
      const head = await fetch(`${wharf.url}/v2/disk/full/blobs/${digest(refused)}`, { method: 'HEAD' });
      assert.equal(head.status, 404, 'the refused blob is not visible');
      await new Promise((r) => setTimeout(r, 200)); // the access line is written after the answer
      const lines = wharf.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      assert.ok(lines.some((l) => l.level === 'error' && /ENOSPC|storage is full/.test(JSON.stringify(l))), 'logged at error level');
      assert.ok(!lines.some((l) => l.msg === 'client went away'), 'never mistaken for a client that left');
      assert.ok(lines.some((l) => l.msg === 'request' && l.status === 507), 'the access log records 507');

      await rm(filler);
      const again = await push(wharf.url, 'disk/full', refused);
      assert.equal(again.status, 201, 'pushes work again once space is freed');
      assert.equal((await fetch(`${wharf.url}/v2/disk/full/blobs/${digest(refused)}`, { method: 'HEAD' })).status, 200);
    } finally {
      await wharf.stop();
    }
  } finally {
    execFileSync('umount', [mount]);
    await rm(work, { recursive: true, force: true });
  }
});
