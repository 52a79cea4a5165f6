// Regenerates the generated parts of README.md (run after `npm run build`): the configuration reference, from the
// config schema, and the "Coming from Distribution" key table, from the Distribution mapping rules.
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference } from '../dist/src/config/reference.js';
import { distributionKeyTable } from '../dist/src/config/distribution/table.js';

let readme = readFileSync('README.md', 'utf8');
for (const [name, text] of [
  ['config-reference', configReference()],
  ['distribution-keys', distributionKeyTable()],
]) {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const i = readme.indexOf(start);
  const j = readme.indexOf(end);
  if (i === -1 || j === -1) throw new Error(`README.md lacks the ${name} markers`);
  readme = `${readme.slice(0, i + start.length)}\n${text}${readme.slice(j)}`;
}
writeFileSync('README.md', readme);
