// Readiness must notice when the SQLite file under a running server is deleted or replaced: the open connection
// keeps answering from the old inode, so pushes would be acknowledged into a file no restart will open.
import assert from 'node:assert/strict';
import { copyFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';

interface Readiness {
  status: string;
  checks: Record<string, { ok: boolean; lastError: string | null }>;
}

async function readiness(srv: TestServer): Promise<{ status: number; body: Readiness }> {
  const res = await fetch(`${srv.metricsUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as Readiness };
}

async function until(srv: TestServer, want: number): Promise<Readiness> {
  for (let i = 0; i < 400; i++) {
    const r = await readiness(srv);
    if (r.status === want) return r.body;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`readiness never answered ${want}`);
}

describe('readiness and the database file', () => {
  let srv: TestServer;
  afterEach(async () => {
    await srv.close();
  });

  it('fails when the database file is deleted, naming it', async () => {
    srv = await startTestServer({ health: { interval: '50ms', failureThreshold: 2 } });
    await until(srv, 200);
    const db = join(srv.dataDir, 'wharf.db');
    await rm(db);
    const body = await until(srv, 503);
    assert.equal(body.checks.metadata!.ok, false);
    assert.match(body.checks.metadata!.lastError ?? '', /wharf\.db is gone/);
    assert.ok(body.checks.storage!.ok, 'storage itself is fine');
  });

  it('fails when the database file is replaced by another file, and recovers when the original is back', async () => {
    srv = await startTestServer({ health: { interval: '50ms', failureThreshold: 2 } });
    await until(srv, 200);
    const db = join(srv.dataDir, 'wharf.db');
    await copyFile(db, `${db}.copy`);
    await rename(db, `${db}.orig`);
    await rename(`${db}.copy`, db); // same content, different file: what a restore over a live server does
    const body = await until(srv, 503);
    assert.match(body.checks.metadata!.lastError ?? '', /replaced/);
    await rename(`${db}.orig`, db);
    await until(srv, 200);
  });
});
