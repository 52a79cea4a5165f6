import { readFileSync } from 'node:fs';

/** The version of the package this build belongs to: dist/src/cli/version.js -> package.json, in the repository and installed alike. */
export function wharfVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
