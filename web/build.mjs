// Builds the web UI into dist/web: one hashed script and one hashed stylesheet (served with a year's cache), and
// manifest.json naming them for the server's page. Run by `npm run build`; nothing is fetched at run time.
import { build } from 'esbuild';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const out = join(root, 'dist', 'web');
await rm(out, { recursive: true, force: true });
await mkdir(join(out, 'assets'), { recursive: true });
const result = await build({
  entryPoints: [join(root, 'web', 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: '[name]-[hash]',
  outdir: join(out, 'assets'),
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const files = Object.keys(result.metafile.outputs).map((f) => basename(f));
const manifest = { js: files.find((f) => f.endsWith('.js')), css: files.find((f) => f.endsWith('.css')) };
if (!manifest.js || !manifest.css) throw new Error(`web build produced ${files.join(', ')}`);
await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
console.log(`web UI built: dist/web/assets/${manifest.js}, ${manifest.css}`);
