import { distributionRules } from './rules.js';

const status = { mapped: 'mapped', dropped: 'warning, dropped', refused: 'error' } as const;
const cell = (s: string) => s.replace(/\|/g, '\\|');

/** The README's "Coming from Distribution" key table, printed from the rules the converter applies. */
export function distributionKeyTable(): string {
  const rows = [...distributionRules]
    .sort((a, b) => a.key.localeCompare(b.key))
    .map((r) => `| \`${r.key}\` | ${r.when ?? status[r.status]} | ${r.wharf ? `\`${cell(r.wharf)}\`` : '—'} | ${cell(r.note)} |`);
  return ['| config.yml key | Wharf | becomes | notes |', '|---|---|---|---|', ...rows].join('\n') + '\n';
}
