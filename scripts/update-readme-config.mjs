// Regenerates the configuration reference in README.md from the config schema (run after `npm run build`).
import { readFileSync, writeFileSync } from 'node:fs';
import { configReference } from '../dist/src/config/reference.js';

const start = '<!-- config-reference:start -->';
const end = '<!-- config-reference:end -->';
const readme = readFileSync('README.md', 'utf8');
const i = readme.indexOf(start);
const j = readme.indexOf(end);
if (i === -1 || j === -1) throw new Error('README.md lacks the config-reference markers');
writeFileSync('README.md', `${readme.slice(0, i + start.length)}\n${configReference()}${readme.slice(j)}`);
