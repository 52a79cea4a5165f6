// notifications and health: webhooks and the storage health check.
import { asBoolean, asList, goDuration } from './values.js';
import { parseDuration } from '../../config-fields/duration.js';
import { dropped, durationTo, refused, to, type Ctx, type Rule } from './rule.js';

const endpoint = (ctx: Ctx) => Number(ctx.path[2]);
const allActions = ['push', 'pull', 'delete', 'mount'];
const blobType = 'application/octet-stream';

function ignoredTypes(v: unknown, ctx: Ctx): void {
  const types = asList(v).map(String);
  const others = types.filter((t) => t !== blobType);
  // Wharf's only events with a non-manifest media type are blob mounts and blob deletes.
  if (others.length) ctx.fail(`Wharf cannot filter events by media type ${others.join(', ')}: use the endpoint's actions and repositories instead`);
  if (types.includes(blobType)) ctx.state.set(`endpoint.${endpoint(ctx)}.noBlobs`, true);
}

export const eventRules: Rule[] = [
  to('notifications.endpoints.*.name', 'webhooks.endpoints[].name', '', (v, ctx) => {
    const name = String(v);
    const safe = name.replace(/[^A-Za-z0-9_.-]+/g, '-').slice(0, 64);
    if (safe !== name) ctx.warn(`endpoint name ${JSON.stringify(name)} becomes ${JSON.stringify(safe)} (letters, digits, _ . - only)`);
    return safe;
  }),
  { key: 'notifications.endpoints.*.disabled', status: 'mapped', wharf: '—', note: '`true`: the endpoint is left out', apply: (v, ctx) => void (asBoolean(v) === true && ctx.state.set(`endpoint.${endpoint(ctx)}.disabled`, true)) },
  to('notifications.endpoints.*.url', 'webhooks.endpoints[].url'),
  to('notifications.endpoints.*.headers', 'webhooks.endpoints[].headers', 'a list of values becomes one comma-separated value', (v) =>
    Object.fromEntries(Object.entries((v ?? {}) as Record<string, unknown>).map(([k, list]) => [k, asList(list).map(String).join(', ')])),
  ),
  durationTo('notifications.endpoints.*.timeout', 'webhooks.endpoints[].timeout'),
  dropped('notifications.endpoints.*.threshold', 'Wharf retries every failed delivery with exponential backoff up to webhooks.maxAttempts, then dead-letters it (`wharf webhooks`)'),
  {
    key: 'notifications.endpoints.*.backoff',
    status: 'mapped',
    wharf: 'webhooks.initialBackoff',
    note: 'one value for all endpoints (the smallest); doubles up to webhooks.maxBackoff',
    apply: (v, ctx) => {
      const d = goDuration(v);
      if (d === null) ctx.fail(`expected a duration such as 1s or 500ms, got ${JSON.stringify(v)}`);
      else ctx.state.set(`backoff.${endpoint(ctx)}`, d);
    },
  },
  { key: 'notifications.endpoints.*.ignoredmediatypes', status: 'mapped', wharf: 'webhooks.endpoints[].actions', note: '`application/octet-stream` (blob events) drops `mount`; Wharf sends no blob push/pull events; other media types are an error', apply: ignoredTypes },
  { key: 'notifications.endpoints.*.ignore.mediatypes', status: 'mapped', wharf: 'webhooks.endpoints[].actions', note: 'as ignoredmediatypes', apply: ignoredTypes },
  {
    key: 'notifications.endpoints.*.ignore.actions',
    status: 'mapped',
    wharf: 'webhooks.endpoints[].actions',
    note: 'actions = push, pull, delete, mount (Distribution sends all) minus these',
    apply: (v, ctx) => {
      const ignored = asList(v).map(String);
      const unknown = ignored.filter((a) => !allActions.includes(a));
      if (unknown.length) ctx.fail(`unknown actions ${unknown.join(', ')} (push, pull, delete, mount)`);
      ctx.state.set(`endpoint.${endpoint(ctx)}.ignore`, ignored);
    },
  },
  dropped('notifications.events.includereferences', 'Wharf events carry no references list', [false, null]),
  dropped('health.storagedriver.enabled', 'Wharf always checks storage and metadata (/readyz) and cannot turn the check off', [true, null]),
  durationTo('health.storagedriver.interval', 'health.interval'),
  to('health.storagedriver.threshold', 'health.failureThreshold'),
  refused('health.file', 'Wharf has no file health checks: have your orchestrator or monitor check the file'),
  refused('health.http', 'Wharf has no HTTP health checks of other services: check them from your monitor'),
  refused('health.tcp', 'Wharf has no TCP health checks of other services: check them from your monitor'),
];

/** Endpoint actions and the shared backoff, once every key of every endpoint has been seen. */
export function finishEndpoints(out: Record<string, unknown>, state: Map<string, unknown>, warn: (m: string) => void): void {
  const webhooks = out.webhooks as { endpoints?: (Record<string, unknown> | undefined)[] } | undefined;
  if (!webhooks?.endpoints) return;
  const kept: Record<string, unknown>[] = [];
  webhooks.endpoints.forEach((e, i) => {
    if (!e || state.get(`endpoint.${i}.disabled`)) return;
    const ignored = (state.get(`endpoint.${i}.ignore`) as string[] | undefined) ?? [];
    if (state.get(`endpoint.${i}.noBlobs`)) ignored.push('mount');
    e.actions = allActions.filter((a) => !ignored.includes(a));
    kept.push(e);
  });
  webhooks.endpoints = kept;
  const backoffs = [...state.entries()].filter(([k]) => k.startsWith('backoff.')).map(([, v]) => v);
  if (backoffs.length) {
    const sorted = [...new Set(backoffs.map(String))].sort((a, b) => parseDuration(a)! - parseDuration(b)!);
    (out.webhooks as Record<string, unknown>).initialBackoff = sorted[0];
    if (sorted.length > 1) warn(`notifications.endpoints.*.backoff: Wharf has one initial backoff for all endpoints: ${sorted[0]} is used`);
  }
}
