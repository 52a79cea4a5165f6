// A real browser (Chromium, headless) on another origin calls the registry the way browser UIs do (joxit's
// docker-registry-ui sends Cache-Control): the preflight passes and the page reads the answer. With Cache-Control
// missing from the allowed headers the browser's fetch fails ("Failed to fetch"), which is what users saw.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startWharf, tempDir } from '../support/processes.js';

const run = promisify(execFile);

test('Chromium on another origin: fetch with Cache-Control and Authorization headers reads the catalog', async () => {
  const base = 25700 + Math.floor(Math.random() * 40) * 2;
  const pagePort = base + 1;
  const origin = `http://127.0.0.1:${pagePort}`;
  const wharf = await startWharf({
    port: base,
    configYaml: ['cors:', '  enabled: true', `  allowedOrigins: ["${origin}"]`, '  allowedMethods: [HEAD, GET, OPTIONS, DELETE]'].join('\n'),
  });
  const page = `<!doctype html><html><body><div id="out">pending</div><script>
fetch('${wharf.url}/v2/_catalog', { headers: { 'Cache-Control': 'no-cache', Authorization: 'Basic Og==' } })
  .then((r) => r.text().then((t) => { document.getElementById('out').textContent = 'status ' + r.status + ' ' + t; }))
  .catch((e) => { document.getElementById('out').textContent = 'failed ' + e; });
</script></body></html>`;
  const pages = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(page));
  await new Promise<void>((resolve) => pages.listen(pagePort, '127.0.0.1', resolve));
  const profile = await tempDir('behave-chromium');
  try {
    const { stdout } = await run(
      'chromium',
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
        `--user-data-dir=${profile}`,
        '--virtual-time-budget=10000',
        '--dump-dom',
        `${origin}/`,
      ],
      { timeout: 60_000 },
    );
    const out = /<div id="out">([^<]*)<\/div>/.exec(stdout)?.[1];
    assert.equal(out, 'status 200 {"repositories":[]}', `what the page saw: ${out}`);
  } finally {
    pages.closeAllConnections();
    await new Promise<void>((resolve) => pages.close(() => resolve()));
    await wharf.stop();
    await rm(profile, { recursive: true, force: true });
  }
});
