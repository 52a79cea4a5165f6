import { z } from 'zod';
import { section } from '../config-fields/fields.js';

export const logConfigSchema = section({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('Minimum level logged.'),
  format: z.enum(['json', 'text']).default('json').describe('JSON lines, or human-readable text.'),
}).describe('Logging.');

export type LogConfig = z.output<typeof logConfigSchema>;
