// Connection caps, the minimum request-body rate and per-client upload shares, through real sockets to a real server.
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.js';
import { Client, expectStatus, trapUncaught } from './support/http.js';
import { digestOf, pushBlob, randomData, repoName, startUpload } from './support/registry.js';
import { Conn, openPatch, requestFrom } from './support/sockets.js';

function catchEscapes(): void {
  let check: () => void = () => undefined;
  beforeEach(() => {
    check = trapUncaught();
  });
  afterEach(() => check());
}

/** Opens `count` idle connections from `address`, waiting until the server has seen each one (a request on it answers). */
async function idle(srv: TestServer, address: string, count: number): Promise<Conn[]> {
  const conns: Conn[] = [];
  for (let i = 0; i < count; i++) conns.push(await Conn.open(srv.url, address));
  return conns;
}

describe('server.maxConnections and server.maxConnectionsPerAddress', () => {
  let srv: TestServer;
  const open: Conn[] = [];
  catchEscapes();
  before(async () => {
    srv = await startTestServer({ server: { maxConnections: 8, maxConnectionsPerAddress: 3, pressureIdleTimeout: '1h' } });
  });
  after(async () => {
    for (const c of open) c.close();
    await srv.close();
  });

  it('the connection over the per-address cap is closed at accept; the address’s others and other addresses are served', async () => {
    open.push(...(await idle(srv, '127.0.0.1', 3)));
    const extra = await Conn.open(srv.url, '127.0.0.1');
    await extra.whenClosed();
    assert.equal(extra.text, '', 'closed before anything was parsed or answered');
    const other = await Conn.open(srv.url, '127.0.0.2');
    open.push(other);
    assert.equal((await other.get('/healthz')).status, 200);
    assert.equal((await open[0]!.get('/healthz')).status, 200, 'the first three from 127.0.0.1 stay open and served');
  });

  it('the connection over the total cap is closed; one closing makes room', async () => {
    open.push(...(await idle(srv, '127.0.0.3', 3)), ...(await idle(srv, '127.0.0.4', 1))); // 3 + 1 + 3 + 1 = 8
    const ninth = await Conn.open(srv.url, '127.0.0.5');
    await ninth.whenClosed();
    assert.equal(ninth.text, '');
    const leaving = open.pop()!;
    leaving.close();
    await leaving.whenClosed();
    let admitted: Conn | null = null;
    // The server hears of the close a moment after the client does: retry until it has.
    for (let i = 0; i < 50 && admitted === null; i++) {
      const c = await Conn.open(srv.url, '127.0.0.5');
      const res = await c.get('/healthz');
      if (res.status === 200) admitted = c;
      else await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(admitted, 'a new connection is admitted once one closed');
    open.push(admitted);
  });
});

describe('server.pressureIdleTimeout', () => {
  let srv: TestServer;
  let c: Client;
  catchEscapes();
  before(async () => {
    srv = await startTestServer({ server: { maxConnections: 10, maxConnectionsPerAddress: 0, pressureIdleTimeout: '100ms' } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('near the cap, connections idle past the timeout are closed; one with a request in flight is not', async () => {
    const repo = repoName('pressure');
    const data = randomData(2000);
    const { location } = await startUpload(c, repo);
    const busy = await openPatch(srv.url, location, data.length, data.subarray(0, 1000));
    const keptAlive = await Conn.open(srv.url);
    assert.equal((await keptAlive.get('/healthz')).status, 200);
    const idleOnes = await idle(srv, '127.0.0.1', 6); // 8 open: at the 80% mark
    await new Promise((r) => setTimeout(r, 200)); // older than pressureIdleTimeout
    const newcomer = await Conn.open(srv.url, '127.0.0.2');
    await Promise.all([keptAlive.whenClosed(), ...idleOnes.map((i) => i.whenClosed())]);
    assert.equal((await newcomer.get('/healthz')).status, 200);
    assert.equal(busy.closed, false, 'the upload in flight keeps its connection');
    busy.write(data.subarray(1000));
    await busy.until(/\r\n\r\n/);
    assert.match(busy.text, /^HTTP\/1\.1 202/);
    busy.close();
    newcomer.close();
  });
});

describe('server.minRequestBodyRate', () => {
  let srv: TestServer;
  let c: Client;
  catchEscapes();
  before(async () => {
    // One upload slot: a cut upload that did not give its slot back would fail every later upload here.
    srv = await startTestServer({ server: { minRequestBodyRate: 1024, requestBodyRateWindow: '300ms' }, registry: { maxConcurrentUploads: 1 } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  /** Sends `head` then one byte of the body every 30 ms until the server answers or closes; returns what came back. */
  async function trickle(head: string): Promise<Conn> {
    const conn = await Conn.open(srv.url);
    conn.write(head);
    const timer = setInterval(() => {
      if (!conn.closed) conn.write('x');
    }, 30);
    await conn.until(/^HTTP\/1\.1 (?!408)\d{3}|\r\n\r\n[\s\S]*\}\]\}/);
    clearInterval(timer);
    return conn;
  }

  /** A monolithic upload, retried while the only upload slot is still held: a cut handler lets go a moment after the client sees the close. */
  async function uploadOnceFree(repo: string): Promise<void> {
    const data = randomData(10);
    let res = await c.post(`/v2/${repo}/blobs/uploads/?digest=${digestOf(data)}`, { body: data });
    for (let i = 0; i < 50 && res.status === 429; i++) {
      await new Promise((r) => setTimeout(r, 20));
      res = await c.post(`/v2/${repo}/blobs/uploads/?digest=${digestOf(data)}`, { body: data });
    }
    expectStatus(res, 201);
  }

  function expect408(conn: Conn): void {
    assert.match(conn.text, /^HTTP\/1\.1 408 /, conn.text);
    const body = JSON.parse(conn.text.slice(conn.text.indexOf('\r\n\r\n') + 4)) as { errors: { code: string; message: string }[] };
    assert.equal(body.errors[0]!.code, 'UNKNOWN');
    assert.match(body.errors[0]!.message, /slower than 1024 bytes\/s/);
  }

  it('an upload trickling its body is answered 408 with an OCI error and its connection closed; the upload slot frees', async () => {
    const repo = repoName('trickle');
    const { location } = await startUpload(c, repo);
    const u = new URL(location, srv.url);
    const conn = await trickle(`PATCH ${u.pathname}${u.search} HTTP/1.1\r\nHost: r\r\nContent-Type: application/octet-stream\r\nContent-Length: 100000\r\n\r\n`);
    expect408(conn);
    await conn.whenClosed();
    await uploadOnceFree(repo);
  });

  it('a manifest PUT trickling its body is cut the same way', async () => {
    const conn = await trickle(`PUT /v2/${repoName('trickle')}/manifests/v1 HTTP/1.1\r\nHost: r\r\nContent-Type: application/vnd.oci.image.manifest.v1+json\r\nContent-Length: 4000\r\n\r\n`);
    expect408(conn);
    await conn.whenClosed();
  });

  it('a POST (monolithic upload) trickling its body is cut too', async () => {
    const digest = digestOf(randomData(4000));
    const repo = repoName('trickle');
    const conn = await trickle(`POST /v2/${repo}/blobs/uploads/?digest=${digest} HTTP/1.1\r\nHost: r\r\nContent-Length: 4000\r\n\r\n`);
    expect408(conn);
    await conn.whenClosed();
    await uploadOnceFree(repo);
  });

  it('a fast upload, a keep-alive connection idle between requests and a slow reader of a download are never cut', async () => {
    const repo = repoName('fast');
    const blob = await pushBlob(c, repo, randomData(4 * 1024 * 1024));
    const conn = await Conn.open(srv.url);
    assert.equal((await conn.get('/v2/')).status, 200);
    await new Promise((r) => setTimeout(r, 700)); // several windows with the client sending nothing
    assert.equal((await conn.get('/v2/')).status, 200);
    // A download the client does not read for several windows, then reads in full.
    const reader = await Conn.open(srv.url);
    reader.socket.pause();
    reader.write(`GET /v2/${repo}/blobs/${blob.digest} HTTP/1.1\r\nHost: r\r\n\r\n`);
    await new Promise((r) => setTimeout(r, 700));
    reader.socket.resume();
    await reader.until(/^HTTP\/1\.1 200[\s\S]*\r\n\r\n/);
    const headEnd = reader.text.indexOf('\r\n\r\n') + 4;
    await reader.untilLength(headEnd + blob.size);
    assert.equal(reader.text.length - headEnd, blob.size);
    reader.close();
    conn.close();
  });
});

describe('registry.maxConcurrentUploadsPerClient', () => {
  let srv: TestServer;
  let c: Client;
  catchEscapes();
  before(async () => {
    srv = await startTestServer({ registry: { maxConcurrentUploads: 3, maxConcurrentUploadsPerClient: 2 } });
    c = new Client(srv.url);
  });
  after(async () => {
    await srv.close();
  });

  it('one address holding its share of slow uploads gets 429; another address still uploads', async () => {
    const repo = repoName('share');
    const held: Conn[] = [];
    for (let i = 0; i < 2; i++) {
      const { location } = await startUpload(c, repo);
      held.push(await openPatch(srv.url, location, 5000, randomData(100)));
    }
    try {
      // The server has the two in flight once a third from the same address is refused.
      let third = await requestFrom(srv.url, '127.0.0.1', 'POST', `/v2/${repo}/blobs/uploads/`);
      for (let i = 0; i < 50 && third.status === 202; i++) {
        await new Promise((r) => setTimeout(r, 20));
        third = await requestFrom(srv.url, '127.0.0.1', 'POST', `/v2/${repo}/blobs/uploads/`);
      }
      assert.equal(third.status, 429, third.body.toString());
      assert.equal(third.headers['retry-after'], '1');
      const body = JSON.parse(third.body.toString()) as { errors: { code: string; message: string }[] };
      assert.equal(body.errors[0]!.code, 'TOOMANYREQUESTS');
      assert.match(body.errors[0]!.message, /from this client/);
      const data = randomData(1000);
      const other = await requestFrom(srv.url, '127.0.0.2', 'POST', `/v2/${repo}/blobs/uploads/?digest=${digestOf(data)}`, data);
      assert.equal(other.status, 201, other.body.toString());
      expectStatus(await c.head(`/v2/${repo}/blobs/${digestOf(data)}`), 200);
    } finally {
      for (const h of held) h.close();
    }
  });

  it('the total cap still holds across clients', async () => {
    const repo = repoName('share');
    const held: Conn[] = [];
    try {
      for (const address of ['127.0.0.1', '127.0.0.2', '127.0.0.3']) {
        // The previous test's held uploads free their slots only once the server has seen their sockets close.
        let start = await requestFrom(srv.url, address, 'POST', `/v2/${repo}/blobs/uploads/`);
        for (let i = 0; i < 100 && start.status === 429; i++) {
          await new Promise((r) => setTimeout(r, 20));
          start = await requestFrom(srv.url, address, 'POST', `/v2/${repo}/blobs/uploads/`);
        }
        assert.equal(start.status, 202);
        held.push(await openPatch(srv.url, String(start.headers.location), 5000, randomData(100), address));
      }
      let fourth = await requestFrom(srv.url, '127.0.0.4', 'POST', `/v2/${repo}/blobs/uploads/`);
      for (let i = 0; i < 50 && fourth.status === 202; i++) {
        await new Promise((r) => setTimeout(r, 20));
        fourth = await requestFrom(srv.url, '127.0.0.4', 'POST', `/v2/${repo}/blobs/uploads/`);
      }
      assert.equal(fourth.status, 429);
      const body = JSON.parse(fourth.body.toString()) as { errors: { code: string; message: string }[] };
      assert.equal(body.errors[0]!.code, 'TOOMANYREQUESTS');
      assert.doesNotMatch(body.errors[0]!.message, /from this client/);
    } finally {
      for (const h of held) h.close();
    }
  });
});
