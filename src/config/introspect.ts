// Walks the config schema, so the environment overrides and the README reference follow it without a second list.
import { z } from 'zod';
import { configSchema } from './schema.js';

export interface ConfigLeaf {
  readonly path: string[];
  readonly type: 'string' | 'number' | 'boolean' | 'duration' | 'enum' | 'list';
  readonly values?: readonly string[];
  readonly fallback?: unknown;
  readonly description: string;
}

interface Unwrapped {
  schema: z.ZodType;
  fallback?: unknown;
  description?: string;
  kind?: string;
}

function unwrap(schema: z.ZodType): Unwrapped {
  const out: Unwrapped = { schema };
  let current: z.ZodType = schema;
  for (;;) {
    out.description ??= current.description;
    const meta = z.globalRegistry.get(current) as { kind?: string; fallback?: unknown } | undefined;
    if (meta?.kind) {
      out.kind = meta.kind;
      out.fallback = meta.fallback;
    }
    const def = current._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType; defaultValue?: unknown };
    if (def.type === 'default' || def.type === 'prefault') {
      if (out.fallback === undefined && def.type === 'default') out.fallback = def.defaultValue;
      current = def.innerType!;
    } else if (def.type === 'optional' || def.type === 'nullable') {
      current = def.innerType!;
    } else if (def.type === 'pipe') {
      current = def.in!;
    } else {
      out.schema = current;
      return out;
    }
  }
}

export function configLeaves(schema: z.ZodType = configSchema, path: string[] = []): ConfigLeaf[] {
  const { schema: inner, fallback, description, kind } = unwrap(schema);
  const def = inner._zod.def as { type: string; shape?: Record<string, z.ZodType>; entries?: Record<string, string> };
  if (def.type === 'object') {
    return Object.entries(def.shape!).flatMap(([key, child]) => configLeaves(child, [...path, key]));
  }
  const base = { path, fallback, description: description ?? '' };
  if (kind === 'duration') return [{ ...base, type: 'duration' }];
  if (def.type === 'enum') return [{ ...base, type: 'enum', values: Object.values(def.entries!) }];
  if (def.type === 'string' || def.type === 'number' || def.type === 'boolean') return [{ ...base, type: def.type }];
  if (def.type === 'array') return [{ ...base, type: 'list' }];
  throw new Error(`config schema: unsupported type ${def.type} at ${path.join('.')}`);
}

export function sectionDescriptions(): Map<string, string> {
  const out = new Map<string, string>();
  const { schema } = unwrap(configSchema);
  const shape = (schema._zod.def as unknown as { shape: Record<string, z.ZodType> }).shape;
  for (const [key, child] of Object.entries(shape)) out.set(key, unwrap(child).description ?? '');
  return out;
}

export function envName(path: readonly string[]): string {
  return `WHARF_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('__')}`;
}
