// The top-level folders of src/ are the features; they must form a layered graph. A cycle between two folders
// means neither can be understood, tested or changed without the other, so one is caught here and not in review.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const srcRoot = fileURLToPath(new URL('../../../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** Static, type-only, re-export and dynamic imports alike: a type-only cycle still couples the two folders. */
const importPattern = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;

function topFolder(file: string): string {
  return relative(srcRoot, file).split(sep)[0]!;
}

function folderGraph(root: string = srcRoot): Map<string, Map<string, string>> {
  const graph = new Map<string, Map<string, string>>();
  for (const file of sourceFiles(root)) {
    const from = topFolder(file);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(importPattern)) {
      const to = topFolder(resolve(file, '..', spec!));
      if (to === from || to.startsWith('..')) continue;
      const edges = graph.get(from) ?? new Map<string, string>();
      // One witness per edge, so a failure names the file to change.
      if (!edges.has(to)) edges.set(to, `${relative(root, file)} imports ${spec}`);
      graph.set(from, edges);
    }
  }
  return graph;
}

/** The first cycle a depth-first walk meets, as the list of edges that close it; null when the graph is acyclic. */
function findCycle(graph: Map<string, Map<string, string>>): string[] | null {
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): string[] | null => {
    const at = path.indexOf(node);
    if (at >= 0) {
      const loop = [...path.slice(at), node];
      return loop.slice(1).map((to, i) => `${loop[i]} -> ${to}  (${graph.get(loop[i]!)!.get(to)})`);
    }
    if (done.has(node)) return null;
    path.push(node);
    for (const next of [...(graph.get(node)?.keys() ?? [])].sort()) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    done.add(node);
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

test('no import cycle between the top-level folders of src/', () => {
  const cycle = findCycle(folderGraph());
  assert.equal(cycle, null, `import cycle between folders:\n  ${cycle?.join('\n  ')}`);
});

test('the cycle check finds a cycle and names the imports that close it', () => {
  const graph = new Map([
    ['a', new Map([['b', 'a/x.ts imports ../b/y.js']])],
    ['b', new Map([['c', 'b/y.ts imports ../c/z.js']])],
    ['c', new Map([['a', 'c/z.ts imports ../a/x.js']])],
    ['d', new Map([['a', 'd/w.ts imports ../a/x.js']])],
  ]);
  assert.deepEqual(findCycle(graph), [
    'a -> b  (a/x.ts imports ../b/y.js)',
    'b -> c  (b/y.ts imports ../c/z.js)',
    'c -> a  (c/z.ts imports ../a/x.js)',
  ]);
  graph.get('c')!.delete('a');
  assert.equal(findCycle(graph), null);
});
