// The one description of Wharf's configuration: defaults, validation and the README's reference all come from here.
import { z } from 'zod';
import { duration, positiveInt, section } from '../config-fields/fields.js';
import { webhooksConfigSchema } from '../events/config.js';
import { authConfigSchema } from '../auth/config.js';
import { quotasConfigSchema } from '../quota/config.js';
import { fsckConfigSchema } from '../fsck/config.js';
import { retentionConfigSchema } from '../retention/config.js';
import { corsConfigSchema } from '../http/cors.js';
import { securityHeadersConfigSchema } from '../http/security-headers.js';
import { tlsConfigSchema } from '../tls/config.js';
import { logConfigSchema } from '../log/config.js';
import { postgresConfigSchema, requirePostgresUrl } from '../metadata/postgres/config.js';
import { uiConfigSchema } from '../ui/config.js';
import { s3ConfigSchema } from '../storage/s3/config.js';

const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;

export const configSchema = section({
  server: section({
    addr: z.string().regex(hostPort, 'expected HOST:PORT, e.g. 0.0.0.0:5000').default('0.0.0.0:5000').describe('Address the registry listens on.'),
    relativeUrls: z
      .boolean()
      .default(false)
      .describe('Send relative Location headers instead of absolute URLs built from Host and X-Forwarded-* headers.'),
    trustProxyHeaders: z
      .boolean()
      .default(true)
      .describe('Build absolute URLs from X-Forwarded-Proto and X-Forwarded-Host (set false when clients reach Wharf directly).'),
    headersTimeout: duration('60s').describe('Time a client has to send the request headers.'),
    idleTimeout: duration('2m').describe('A connection that sends or receives nothing for this long is closed (stalled clients).'),
    keepAliveTimeout: duration('65s').describe('How long an idle keep-alive connection stays open between requests.'),
    shutdownTimeout: duration('30s').describe('On SIGTERM, how long requests in flight may take before they are cut.'),
    maxConnections: positiveInt(4096).describe(
      'Open connections at most; more are closed at accept. Lowered at start to what the open-file limit allows (half of `ulimit -n` less 128).',
    ),
    maxConnectionsPerAddress: z
      .number()
      .int()
      .nonnegative()
      .default(1024)
      .describe("Open connections from one client address at most (0: no cap). Behind a proxy every client has the proxy's address: raise it to maxConnections."),
    pressureIdleTimeout: duration('5s').describe(
      'Above 80% of maxConnections, a connection with no request in flight for this long is closed (instead of keepAliveTimeout / idleTimeout).',
    ),
    minRequestBodyRate: z
      .number()
      .int()
      .nonnegative()
      .default(1024)
      .describe('Bytes per second a request body must average over requestBodyRateWindow while Wharf reads it; slower clients are cut (408). 0: off.'),
    requestBodyRateWindow: duration('30s').describe('Window over which minRequestBodyRate is measured.'),
  }).describe('HTTP listener.'),
  storage: section({
    dataDir: z.string().min(1).default('./data').describe('Directory for all state: blobs (filesystem driver) and the SQLite database.'),
    driver: z.enum(['filesystem', 's3']).default('filesystem').describe('Where blob bytes are kept.'),
    filesystem: section({
      root: z.string().min(1).optional().describe('Blob directory; default `<dataDir>/storage`.'),
    }),
    s3: s3ConfigSchema,
  })
    .refine((s) => s.driver !== 's3' || s.s3.bucket !== undefined, { path: ['s3', 'bucket'], message: 'storage.driver s3 needs storage.s3.bucket' })
    .refine((s) => (s.s3.accessKeyId === undefined) === (s.s3.secretAccessKey === undefined), {
      path: ['s3', 'secretAccessKey'],
      message: 'give both accessKeyId and secretAccessKey, or neither (the SDK default chain)',
    })
    .describe('Blob storage.'),
  metadata: section({
    driver: z
      .enum(['sqlite', 'postgres'])
      .default('sqlite')
      .describe('Where repositories, manifests, tags and upload sessions are recorded: a file of this node, or PostgreSQL shared by several.'),
    sqlite: section({
      path: z.string().min(1).optional().describe('Database file; default `<dataDir>/wharf.db`.'),
      synchronous: z
        .enum(['normal', 'full'])
        .default('normal')
        .describe('`normal`: no commit is lost when the process dies; `full`: none is lost on power failure either (slower writes).'),
    }),
    postgres: postgresConfigSchema,
  })
    .superRefine(requirePostgresUrl)
    .describe('Metadata store.'),
  registry: section({
    deleteEnabled: z.boolean().default(true).describe('Allow DELETE of manifests, tags and blobs (405 UNSUPPORTED when false).'),
    maxManifestSize: positiveInt(4 * 1024 * 1024).describe('Largest manifest accepted, in bytes (413 beyond).'),
    maxConcurrentUploads: positiveInt(256).describe('Upload requests (POST/PATCH/PUT) served at once; more get 429 TOOMANYREQUESTS.'),
    maxConcurrentUploadsPerClient: positiveInt(32).describe(
      'Upload requests one client (its user when authenticated, else its address) may have in flight at once; more get 429 TOOMANYREQUESTS.',
    ),
    uploadQueueTimeout: duration('5s').describe(
      'How long an upload request over maxConcurrentUploads or maxConcurrentUploadsPerClient waits for a slot before 429 TOOMANYREQUESTS (0s: refuse at once).',
    ),
    maxQueuedUploads: positiveInt(1024).describe('Upload requests that may wait for a slot at once; more get 429 TOOMANYREQUESTS at once.'),
    readOnly: z
      .boolean()
      .default(false)
      .describe(
        'Maintenance mode (Distribution\'s maintenance.readonly): pulls go on, pushes and deletes get 405 UNSUPPORTED; scheduled GC, retention and upload purges pause. Switch it without a restart with PUT /admin/v1/read-only.',
      ),
    uploadChunkMinLength: z.number().int().nonnegative().default(0).describe('Advertised as OCI-Chunk-Min-Length when > 0.'),
    uploadSessionMaxAge: duration('24h').describe('Upload sessions idle for longer than this are purged, with their staged bytes.'),
    uploadSessionEmptyMaxAge: duration('10m').describe(
      'Upload sessions that never received a byte are purged once idle this long (clients send the first chunk within seconds of opening one).',
    ),
    uploadPurgeInterval: duration('1m').describe('How often abandoned upload sessions are looked for (one indexed query when there are none).'),
    maxUploadSessions: positiveInt(10_000).describe('Open upload sessions in the whole registry; a new one beyond gets 429 TOOMANYREQUESTS.'),
    maxUploadSessionsPerRepository: positiveInt(500).describe('Open upload sessions per repository; a new one beyond gets 429 TOOMANYREQUESTS.'),
    maxPageSize: positiveInt(1000).describe('Largest `n` served by tag and catalog listings.'),
  }).describe('Registry API behaviour and limits.'),
  metrics: section({
    enabled: z.boolean().default(true).describe('Serve Prometheus metrics (and /healthz, /readyz) on a separate listener.'),
    addr: z.string().regex(hostPort, 'expected HOST:PORT').default('127.0.0.1:5001').describe('Metrics listener; loopback by default so it is not public.'),
  }).describe('Prometheus metrics.'),
  health: section({
    interval: duration('10s').describe('How often readiness checks (storage write/read/delete, metadata query) run.'),
    timeout: duration('5s').describe('A check that takes longer has failed.'),
    failureThreshold: positiveInt(3).describe('Consecutive failures of one check that make /readyz answer 503.'),
  }).describe('Health checks.'),
  gc: section({
    enabled: z.boolean().default(true).describe('Run online garbage collection on a schedule (it never stops or freezes the registry).'),
    interval: duration('1h').describe('Time between scheduled passes.'),
    gracePeriod: duration('1h').describe('Blobs, links and manifests younger than this are never deleted (pushes in progress).'),
    deleteUntagged: z
      .boolean()
      .default(false)
      .describe('Scheduled passes also delete manifests no tag reaches (an index keeps its children, a surviving subject its referrers).'),
  }).describe('Online garbage collection.'),
  fsck: fsckConfigSchema,
  retention: retentionConfigSchema,
  quotas: quotasConfigSchema,
  webhooks: webhooksConfigSchema.describe('Event notifications, delivered from a durable outbox.'),
  tls: tlsConfigSchema,
  securityHeaders: securityHeadersConfigSchema,
  cors: corsConfigSchema,
  auth: authConfigSchema,
  log: logConfigSchema,
  ui: uiConfigSchema,
});

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
