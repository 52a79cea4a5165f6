// The wharf process as an operator runs it: start, shutdown on SIGTERM, restart on the same data, CLI exit codes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startWharf, tempDir, wharfMain } from '../support/processes.js';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [wharfMain, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A monolithic upload whose body trickles in, so that it is still in flight when the server is told to stop. */
function slowUpload(url: string, data: Buffer, chunks: number, delayMs: number): Promise<number> {
  const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v2/slow/blobs/uploads/?digest=${digest}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    const size = Math.ceil(data.length / chunks);
    let i = 0;
    const next = () => {
      if (i >= chunks) return void req.end();
      req.write(data.subarray(i * size, (i + 1) * size));
      i++;
      setTimeout(next, delayMs);
    };
    next();
  });
}

test('SIGTERM lets an upload in flight finish, then exits 0; the data survives a restart', async () => {
  const dataDir = await tempDir('lifecycle');
  const wharf = await startWharf({ dataDir });
  const data = randomBytes(2 * 1024 * 1024);
  const upload = slowUpload(wharf.url, data, 10, 100);
  await new Promise((r) => setTimeout(r, 300));
  const exited = new Promise<number | null>((resolve) => wharf.process.once('exit', (code) => resolve(code)));
  wharf.process.kill('SIGTERM');
  assert.equal(await upload, 201, 'the upload that was in flight completes');
  assert.equal(await exited, 0);
  await assert.rejects(fetch(`${wharf.url}/v2/`), 'no longer accepting');

  const again = await startWharf({ dataDir });
  try {
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const res = await fetch(`${again.url}/v2/slow/blobs/${digest}`);
    assert.equal(res.status, 200);
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(createHash('sha256').update(body).digest('hex'), digest.slice(7));
  } finally {
    await again.stop();
  }
});

test('wharf config check: 0 for a valid file, 2 with every problem and its path for a bad one', async () => {
  const dir = await tempDir('cli');
  const good = join(dir, 'good.yaml');
  const bad = join(dir, 'bad.yaml');
  await writeFile(good, 'server:\n  addr: 127.0.0.1:5000\nregistry:\n  deleteEnabled: false\n');
  await writeFile(bad, 'server:\n  addr: nowhere\nregistry:\n  maxConcurrentUploads: 0\n  surprise: true\n');
  const ok = await cli(['config', 'check', good]);
  assert.equal(ok.code, 0, ok.stderr);
  const ko = await cli(['config', 'check', bad]);
  assert.equal(ko.code, 2);
  assert.match(ko.stderr, /server\.addr: expected HOST:PORT/);
  assert.match(ko.stderr, /registry\.maxConcurrentUploads/);
  assert.match(ko.stderr, /surprise/);
  assert.doesNotMatch(ko.stderr, /    at /, 'no stack trace');
  const serve = await cli(['serve', '--config', bad]);
  assert.equal(serve.code, 2);
  assert.match(serve.stderr, /server\.addr/);
  assert.doesNotMatch(serve.stderr, /    at /);
});

test('wharf --help and unknown commands', async () => {
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /wharf serve/);
  const unknown = await cli(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command: frobnicate/);
});
