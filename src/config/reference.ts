import { configLeaves, envName, sectionDescriptions } from './introspect.js';

function formatDefault(value: unknown): string {
  if (value === undefined) return '—';
  return `\`${typeof value === 'string' ? value : JSON.stringify(value)}\``;
}

/** The README's configuration reference, generated from the schema (`wharf config reference`). */
export function configReference(): string {
  const sections = sectionDescriptions();
  const lines: string[] = [];
  let current = '';
  for (const leaf of configLeaves()) {
    const top = leaf.path[0]!;
    if (top !== current) {
      current = top;
      lines.push('', `#### \`${top}\` — ${sections.get(top) ?? ''}`, '', '| key | type | default | env | description |', '|---|---|---|---|---|');
    }
    const type = leaf.type === 'enum' ? leaf.values!.map((v) => `\`${v}\``).join(' \\| ') : leaf.type;
    lines.push(`| \`${leaf.path.join('.')}\` | ${type} | ${formatDefault(leaf.fallback)} | \`${envName(leaf.path)}\` | ${leaf.description} |`);
  }
  return lines.join('\n').trim() + '\n';
}
