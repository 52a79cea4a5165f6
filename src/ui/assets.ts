// The UI's built files (dist/web, produced by `npm run build` with esbuild): loaded and gzipped once at start,
// served from memory with hashed names and a year's cache; the page itself is small and never cached.
import { readFileSync, readdirSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** The built UI, next to the compiled server: dist/web beside dist/src. */
export const defaultAssetDir = fileURLToPath(new URL('../../web', import.meta.url));

/** Only what the UI's own files need: scripts, styles, images and connections to this origin. */
export const uiContentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const contentTypes: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json',
};

interface Asset {
  readonly type: string;
  readonly body: Buffer;
  readonly gzip: Buffer;
}

function asset(type: string, body: Buffer): Asset {
  return { type, body, gzip: gzipSync(body, { level: 9 }) };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export class UiAssets {
  private readonly files = new Map<string, Asset>();
  private readonly page: Asset;

  /** Throws when the UI was not built (then the server refuses to start with ui.enabled, naming the fix). */
  constructor(
    readonly base: string,
    title: string,
    dir: string = defaultAssetDir,
  ) {
    let manifest: { js: string; css: string };
    try {
      manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { js: string; css: string };
    } catch {
      throw new Error(`the web UI is not built (no ${join(dir, 'manifest.json')}): run \`npm run build\`, or set ui.enabled: false`);
    }
    for (const name of readdirSync(join(dir, 'assets'))) {
      const type = contentTypes[extname(name)];
      if (type) this.files.set(name, asset(type, readFileSync(join(dir, 'assets', name))));
    }
    const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${base}assets/${manifest.css}">
<script type="module" src="${base}assets/${manifest.js}"></script>
</head><body><div id="app" data-base="${escapeHtml(base)}"></div></body></html>
`;
    this.page = asset('text/html; charset=utf-8', Buffer.from(html));
  }

  /** Serves the page or an asset for a GET/HEAD under the UI's path; false when `path` is neither. */
  serve(req: IncomingMessage, res: ServerResponse, path: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let found: Asset | undefined;
    let cache: string;
    if (path === this.base || path === `${this.base}index.html`) {
      found = this.page;
      cache = 'no-cache';
    } else if (path.startsWith(`${this.base}assets/`)) {
      found = this.files.get(path.slice(this.base.length + 'assets/'.length));
      cache = 'public, max-age=31536000, immutable';
    } else {
      return false;
    }
    if (!found) return false;
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gzip ? found.gzip : found.body;
    res.setHeader('Content-Security-Policy', uiContentSecurityPolicy);
    res.writeHead(200, {
      'Content-Type': found.type,
      'Content-Length': body.length,
      'Cache-Control': cache,
      Vary: 'Accept-Encoding',
      ...(gzip ? { 'Content-Encoding': 'gzip' } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
