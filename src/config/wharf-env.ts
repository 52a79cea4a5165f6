// WHARF_* variables that look like configuration but name no key are errors, with the key they probably meant:
// a mistyped WHARF_AUTH_MODE=basic (one underscore) must not leave the registry open.
import { configLeaves, envName } from './introspect.js';
import { didYouMean } from './suggest.js';

let names: Set<string> | undefined;
let sections: string[] | undefined;

function known(): { names: Set<string>; sections: string[] } {
  names ??= new Set(configLeaves().map((leaf) => envName(leaf.path)));
  sections ??= [...new Set(configLeaves().map((leaf) => envName([leaf.path[0]!])))];
  return { names, sections };
}

/**
 * Configuration-shaped: a `__` separator, or a section's name after WHARF_ (WHARF_AUTH_…). Other WHARF_ names
 * (WHARF_URL and WHARF_ADMIN_PASSWORD for the CLI, Kubernetes' WHARF_SERVICE_HOST, test knobs) are not config.
 */
export function isConfigShaped(name: string): boolean {
  if (!name.startsWith('WHARF_')) return false;
  return name.includes('__') || known().sections.some((s) => name === s || name.startsWith(`${s}_`));
}

export function unknownWharfVariables(env: NodeJS.ProcessEnv): string[] {
  const { names: valid } = known();
  return Object.keys(env)
    .filter((name) => isConfigShaped(name) && !valid.has(name))
    .sort()
    .map((name) => `${name}: no such configuration variable${didYouMean(name, valid)} (sections and keys are separated by two underscores: WHARF_SECTION__KEY)`);
}
