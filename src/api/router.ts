import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { apiError, RegistryError } from './errors.js';
import { requireName } from '../oci/names.js';
import type { Registry } from '../registry/registry.js';
import { isStorageFull } from '../registry/storage-full.js';
import { readOnlyMessage } from '../registry/read-only.js';
import type { AccessController } from '../auth/access.js';
import { sendJson, type RequestContext, type RequestInfo } from './context.js';
import { routes, type Operation, type Route } from './routes.js';
import { UploadSlots, uploadClientKey } from './upload-slots.js';

interface Match {
  readonly route: Route;
  readonly params: Record<string, string>;
}

function match(path: string): Match | null {
  for (const route of routes) {
    const m = route.pattern.exec(path);
    if (m) return { route, params: { ...m.groups } };
  }
  return null;
}

function decodeParams(params: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    try {
      out[key] = decodeURIComponent(value);
    } catch {
      throw new RegistryError('NAME_INVALID', 'malformed percent-encoding in the URL path');
    }
  }
  return out;
}

function isClientGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}

export class Router {
  private readonly uploadSlots: UploadSlots;

  constructor(
    // The services, not the store or the driver behind them: requests reach those only through a service.
    private readonly registry: Pick<Registry, 'config' | 'metrics' | 'services' | 'readOnly'>,
    private readonly access: AccessController,
  ) {
    this.uploadSlots = new UploadSlots(registry.config.registry);
  }

  /** Never rejects: whatever goes wrong, including while answering with an error, ends this request only. */
  async handle(req: IncomingMessage, res: ServerResponse, log: Logger, info: RequestInfo): Promise<void> {
    try {
      await this.dispatch(req, res, log, info);
    } catch (err) {
      try {
        this.fail(req, res, log, err);
      } catch (failure) {
        log.error({ err: failure }, 'could not send the error response');
        res.destroy();
      }
    }
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse, log: Logger, info: RequestInfo): Promise<void> {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const found = match(path);
    if (!found) throw new RegistryError('UNSUPPORTED', 'no such endpoint', { path: path.slice(0, 200) }, { status: 404 });
    info.route = found.route.name;
    const operation: Operation | undefined = found.route.methods[req.method ?? ''];
    if (!operation) {
      throw new RegistryError('UNSUPPORTED', `method ${req.method} not allowed here`, undefined, {
        headers: { Allow: Object.keys(found.route.methods).join(', ') },
      });
    }
    info.action = operation.action;
    const params = decodeParams(found.params);
    if (params.name !== undefined) info.repository = requireName(params.name);
    if (operation.deletes && !this.registry.config.registry.deleteEnabled) {
      throw new RegistryError('UNSUPPORTED', 'deletes are disabled on this registry');
    }
    // Before authentication, like deleteEnabled: the answer is the registry's state, the same for everyone.
    if ((operation.action === 'push' && req.method !== 'GET') || operation.deletes) {
      if (this.registry.readOnly.enabled) throw new RegistryError('UNSUPPORTED', readOnlyMessage);
    }
    const ctx: RequestContext = {
      req,
      res,
      config: this.registry.config,
      services: this.registry.services,
      readOnly: this.registry.readOnly,
      access: this.access,
      log,
      params,
      query: new URLSearchParams(q === -1 ? '' : url.slice(q + 1)),
      info,
    };
    info.principal = await this.access.authorize(req, { repository: params.name ?? null, action: operation.action });
    if (!operation.upload) {
      await operation.handler(ctx);
      return;
    }
    const gone = new AbortController();
    const onClose = () => gone.abort();
    res.once('close', onClose);
    const pending = this.uploadSlots.acquire(uploadClientKey(info.principal?.name, info.clientAddr), gone.signal);
    this.registry.metrics.uploadsWaiting.set(this.uploadSlots.waiting);
    const slot = await pending;
    this.registry.metrics.uploadsWaiting.set(this.uploadSlots.waiting);
    res.off('close', onClose);
    if (typeof slot === 'string') {
      const message = slot === 'client' ? 'too many concurrent uploads from this client; retry later' : 'too many concurrent uploads; retry later';
      throw new RegistryError('TOOMANYREQUESTS', message, undefined, { headers: { 'Retry-After': '1' } });
    }
    this.registry.metrics.uploadsInProgress.inc();
    try {
      await operation.handler(ctx);
    } finally {
      slot();
      this.registry.metrics.uploadsInProgress.dec();
    }
  }

  private fail(req: IncomingMessage, res: ServerResponse, log: Logger, err: unknown): void {
    const answer = apiError(err);
    // A full disk while the client is also gone is still a full disk: it must be logged as the error it is.
    if (!isStorageFull(err) && (isClientGone(err) || (req.destroyed && answer === null))) {
      log.debug({ err: (err as Error).message }, 'client went away');
      res.destroy();
      return;
    }
    if (answer === null || isStorageFull(err)) log.error({ err }, 'request failed');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const error = answer ?? new RegistryError('UNKNOWN', 'internal error; see the server log');
    // A request whose body we never read would otherwise be drained before the connection can be reused.
    const headers: Record<string, string> = { ...error.headers };
    if (!req.complete) headers.Connection = 'close';
    sendJson(res, error.status, error.toJSON(), headers);
  }
}
