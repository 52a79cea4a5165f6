// Building blocks every config section uses, so each kind of value is parsed, validated and documented one way.
import { z } from 'zod';
import { parseDuration } from './duration.js';

const durationMessage = "expected a duration such as '500ms', '30s', '5m', '24h', '7d' or '0'";

/** A duration written as '30s', '5m', '24h', '7d' or '0'; parsed to milliseconds. */
export const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((v) => parseDuration(v) !== null, { message: durationMessage })
    .transform((v) => parseDuration(v)!)
    .meta({ kind: 'duration', fallback });

/** A duration without a default (the key may be absent). */
export const optionalDuration = () =>
  z
    .string()
    .refine((v) => parseDuration(v) !== null, { message: durationMessage })
    .transform((v) => parseDuration(v)!)
    .meta({ kind: 'duration' });

export const positiveInt = (fallback: number) => z.number().int().positive().default(fallback);

/** A config section: unknown keys are errors, and an absent section gets every default. */
export const section = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict().prefault({} as never);
