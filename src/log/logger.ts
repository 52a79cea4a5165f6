import pino, { type Logger } from 'pino';
import type { LogConfig } from './config.js';

// Whatever a request carries that could authenticate it is never written out.
const redact = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', '*.password', '*.token'];

export function createLogger(config: LogConfig, destination: pino.DestinationStream = pino.destination({ sync: false })): Logger {
  const options: pino.LoggerOptions = { level: config.level, redact, base: { service: 'wharf' } };
  if (config.format === 'text') {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: false, translateTime: 'SYS:standard', ignore: 'service,pid,hostname' } },
    });
  }
  return pino(options, destination);
}
