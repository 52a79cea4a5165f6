import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJson } from '../api/context.js';
import type { HealthMonitor } from './monitor.js';

/** Answers /healthz and /readyz; returns false for any other path. Never behind auth: orchestrators call them. */
export function handleHealth(req: IncomingMessage, res: ServerResponse, monitor: HealthMonitor): boolean {
  const path = req.url?.split('?')[0];
  if (path === '/healthz') {
    sendJson(res, 200, { status: 'ok' }, { 'Cache-Control': 'no-store' });
    return true;
  }
  if (path === '/readyz') {
    const { ready, checks } = monitor.readiness();
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'unready', checks }, { 'Cache-Control': 'no-store' });
    return true;
  }
  return false;
}
