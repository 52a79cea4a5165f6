import pino, { type Logger } from 'pino';
import type { LogConfig } from './config.js';

// Whatever a request carries that could authenticate it is never written out.
const redact = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', '*.password', '*.token'];

// Level names and ISO-8601 times, as operators filter logs (`jq 'select(.level=="error")'`) and as log shippers
// parse them; pino's numbers (50, epoch ms) need a lookup table in every query.
const jsonFormat: pino.LoggerOptions = {
  formatters: { level: (label) => ({ level: label }) },
  timestamp: pino.stdTimeFunctions.isoTime,
};

export function createLogger(config: LogConfig, destination: pino.DestinationStream = pino.destination({ sync: false })): Logger {
  const options: pino.LoggerOptions = { level: config.level, redact, base: { service: 'wharf' } };
  if (config.format === 'text') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: false, translateTime: 'SYS:standard', ignore: 'service,pid,hostname' } },
    });
  }
  return pino({ ...options, ...jsonFormat }, destination);
}
