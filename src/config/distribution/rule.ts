// The shape of one line of the Distribution -> Wharf mapping: the README's key table and the converter read the same list.
import { asBoolean, goDuration } from './values.js';

export type Tree = Record<string, unknown>;

export interface Ctx {
  /** The concrete path of the value in config.yml (list indexes and map keys included). */
  readonly path: readonly string[];
  /** Sets a Wharf key; a numeric segment indexes a list. */
  set(path: readonly (string | number)[], value: unknown): void;
  warn(message: string): void;
  fail(message: string): void;
  /** Remembered for the finishing pass (e.g. which endpoints are disabled). */
  readonly state: Map<string, unknown>;
}

export interface Rule {
  /** Dotted config.yml path; `*` stands for any map key or list index. */
  readonly key: string;
  /** `mapped`: has a Wharf equivalent; `dropped`: harmless to leave out (a warning); `refused`: an error. */
  readonly status: 'mapped' | 'dropped' | 'refused';
  /** The Wharf key(s) it becomes, for the table. */
  readonly wharf?: string;
  /** Why / what to do: the error or warning text, and the table's note. */
  readonly note: string;
  readonly apply?: (value: unknown, ctx: Ctx) => void;
  /** For the table, when the status depends on the value ("error unless `tcp`"). */
  readonly when?: string;
}

/** `webhooks.endpoints[].url` at config.yml's `notifications.endpoints.2.url` is `webhooks.endpoints.2.url`. */
export function target(wharf: string, ctx: Ctx): (string | number)[] {
  const index = Number(ctx.path.find((s) => /^\d+$/.test(s)));
  return wharf.split('.').flatMap((s) => (s.endsWith('[]') ? [s.slice(0, -2), index] : [s]));
}

/** A key that maps one to one, through `convert` when the value's form differs. */
export function to(key: string, wharf: string, note = '', convert: (v: unknown, ctx: Ctx) => unknown = (v) => v): Rule {
  return { key, status: 'mapped', wharf, note, apply: (v, ctx) => ctx.set(target(wharf, ctx), convert(v, ctx)) };
}

export function durationTo(key: string, wharf: string, note = ''): Rule {
  return to(key, wharf, note, (v, ctx) => {
    const d = goDuration(v);
    if (d === null) ctx.fail(`expected a duration such as 10s, 1h30m or 300ms, got ${JSON.stringify(v)}`);
    return d ?? v;
  });
}

export const booleanTo = (key: string, wharf: string, note = ''): Rule => to(key, wharf, note, (v) => asBoolean(v));

export const refused = (key: string, note: string): Rule => ({ key, status: 'refused', note });

const normal = (v: unknown) => {
  const b = asBoolean(v);
  return b === '' || b === undefined ? null : typeof b === 'string' ? b.toLowerCase() : b;
};
const isOneOf = (v: unknown, values: readonly unknown[]) => values.some((x) => normal(x) === normal(v));
const listed = (values: readonly unknown[]) => values.filter((x) => x !== null).map((x) => `\`${String(x)}\``).join(', ');

/** Harmless to leave out: a warning, unless the value is one of `quiet` (what Wharf does anyway). */
export function dropped(key: string, note: string, quiet: readonly unknown[] = []): Rule {
  return { key, status: 'dropped', note, ...(quiet.length ? { when: `warning unless ${listed(quiet)}` } : {}), apply: (v, ctx) => (isOneOf(v, quiet) ? undefined : ctx.warn(note)) };
}

/** Accepted only with a value Wharf's behaviour matches (null: empty); any other value is an error. */
export function onlyWhen(key: string, accepted: readonly unknown[], note: string): Rule {
  return { key, status: 'refused', note, when: `error unless ${listed(accepted)}`, apply: (v, ctx) => (isOneOf(v, accepted) ? undefined : ctx.fail(note)) };
}
