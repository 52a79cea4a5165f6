import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../http/send.js';
import type { HealthMonitor } from './monitor.js';

/**
 * Answers /healthz and /readyz; returns false for any other path. Never behind auth: orchestrators call them.
 * Check details (absolute paths, errno text) are for operators only: the public listener passes `details: false`
 * and answers with the status alone; the metrics listener, which is not public by default, keeps them.
 */
export function handleHealth(req: IncomingMessage, res: ServerResponse, monitor: HealthMonitor, options: { details: boolean }): boolean {
  const path = req.url?.split('?')[0];
  if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok' }, { 'Cache-Control': 'no-store' });
    return true;
  }
  if (path === '/readyz') {
    const { ready, checks } = monitor.readiness();
    const status = ready ? 'ready' : 'unready';
    sendJson(res, ready ? 200 : 503, options.details ? { status, checks } : { status }, { 'Cache-Control': 'no-store' });
    return true;
  }
  return false;
}
