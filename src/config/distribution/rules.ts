// Every config.yml key Distribution (2.8 and 3.x) knows, and what Wharf makes of it. The converter applies these
// rules and the README's "Coming from Distribution" table is printed from them, so the two cannot drift apart.
import { asBoolean } from './values.js';
import { booleanTo, dropped, durationTo, onlyWhen, refused, to, type Rule } from './rule.js';
import { httpRules } from './rules-http.js';
import { eventRules } from './rules-events.js';

const logLevels: Record<string, string> = { panic: 'fatal', fatal: 'fatal', error: 'error', warn: 'warn', warning: 'warn', info: 'info', debug: 'debug', trace: 'trace' };
const level = (v: unknown) => logLevels[String(v).toLowerCase()] ?? v;
const otherDriver = 'Wharf keeps blobs on the filesystem or in S3 (any S3-compatible store): copy them over with `wharf import distribution` from a filesystem copy';
const minPartSize = 5 * 1024 * 1024;
const notNeeded = 'not needed: Wharf keeps metadata in its database';

const s3Rules: Rule[] = [
  to('storage.s3.accesskey', 'storage.s3.accessKeyId'),
  to('storage.s3.secretkey', 'storage.s3.secretAccessKey'),
  to('storage.s3.region', 'storage.s3.region'),
  to('storage.s3.regionendpoint', 'storage.s3.endpoint', 'R2, MinIO, Ceph… endpoint URL'),
  booleanTo('storage.s3.forcepathstyle', 'storage.s3.forcePathStyle'),
  to('storage.s3.bucket', 'storage.s3.bucket'),
  to('storage.s3.rootdirectory', 'storage.s3.prefix', 'leading `/` removed; Wharf lays blobs out its own way under it', (v) => String(v).replace(/^\/+/, '')),
  to('storage.s3.chunksize', 'storage.s3.partSize', 'bytes, at least 5242880 (5 MiB) as in Distribution', (v, ctx) => {
    const size = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < minPartSize) ctx.fail(`expected a number of bytes of at least ${minPartSize} (5 MiB), got ${JSON.stringify(v)}`);
    return size;
  }),
  dropped('storage.s3.secure', 'give the scheme in storage.s3.endpoint (http:// or https://)', [true]),
  onlyWhen('storage.s3.v4auth', [true, null], 'Wharf signs S3 requests with Signature V4 only'),
  onlyWhen('storage.s3.encrypt', [false, null], 'Wharf sends no SSE headers: turn on default encryption on the bucket instead'),
  refused('storage.s3.keyid', 'Wharf sends no SSE-KMS key: set the KMS key as the bucket default encryption'),
  refused('storage.s3.skipverify', 'Wharf always verifies TLS: give the endpoint CA with NODE_EXTRA_CA_CERTS'),
  onlyWhen('storage.s3.storageclass', ['STANDARD', null], "Wharf writes in the bucket's default storage class: use a lifecycle rule for another class"),
  refused('storage.s3.sessiontoken', 'Wharf takes long-lived keys (accessKeyId/secretAccessKey)'),
  dropped('storage.s3.objectacl', 'Wharf writes private objects (the bucket default)', ['private']),
  dropped('storage.s3.accelerate', 'Wharf does not use S3 transfer acceleration', [false, null]),
  dropped('storage.s3.usedualstack', 'Wharf uses the endpoint as given', [false, null]),
  dropped('storage.s3.multipartcopychunksize', 'Wharf tunes multipart copies itself'),
  dropped('storage.s3.multipartcopymaxconcurrency', 'Wharf tunes multipart copies itself'),
  dropped('storage.s3.multipartcopythresholdsize', 'Wharf tunes multipart copies itself'),
  dropped('storage.s3.useragent', 'Wharf sends its own User-Agent'),
  dropped('storage.s3.loglevel', 'S3 requests are logged at log.level debug'),
  dropped('storage.s3.maxrequestspersecond', 'Wharf bounds its S3 requests itself'),
  dropped('storage.s3.maxretries', 'Wharf retries S3 requests itself'),
  dropped('storage.s3.checksum_disabled', 'Wharf verifies digests itself'),
];

export const distributionRules: Rule[] = [
  onlyWhen('version', ['0.1', 0.1], 'only version 0.1 of config.yml exists'),
  to('loglevel', 'log.level', 'the old top-level form', level),
  to('log.level', 'log.level', '`panic` becomes `fatal`', level),
  to('log.formatter', 'log.format', '`text`, `json`; `logstash` becomes `json`', (v, ctx) => {
    if (v === 'logstash') ctx.warn('logstash becomes json (one JSON object per line)');
    return v === 'logstash' ? 'json' : v;
  }),
  dropped('log.fields', "Wharf's JSON lines carry `service: wharf`; add static fields in your log shipper"),
  dropped('log.accesslog.disabled', 'Wharf logs one line per request at info: set log.level warn to leave them out', [false, null]),
  dropped('log.reportcaller', 'Wharf log lines carry no caller'),
  refused('log.hooks', 'Wharf sends no log e-mails: alert from your log collector, or on webhooks'),
  to('storage.filesystem.rootdirectory', 'storage.dataDir', "Wharf's blobs (`storage/`) and database (`wharf.db`) go there; existing Distribution content is imported with `wharf import distribution`"),
  dropped('storage.filesystem.maxthreads', 'Wharf bounds its file I/O itself'),
  ...s3Rules,
  ...['azure', 'gcs', 'swift', 'oss', 'inmemory', 'cos', 'ceph'].map((driver) => refused(`storage.${driver}`, otherDriver)),
  booleanTo('storage.delete.enabled', 'registry.deleteEnabled', 'absent means `false`, as in Distribution'),
  onlyWhen('storage.cache.blobdescriptor', ['inmemory', null], `${notNeeded} (no Redis cache)`),
  dropped('storage.cache.blobdescriptorsize', notNeeded),
  dropped('storage.maintenance.uploadpurging.enabled', 'Wharf always purges abandoned uploads (registry.uploadSessionMaxAge)', [true, null]),
  durationTo('storage.maintenance.uploadpurging.age', 'registry.uploadSessionMaxAge'),
  durationTo('storage.maintenance.uploadpurging.interval', 'registry.uploadPurgeInterval'),
  dropped('storage.maintenance.uploadpurging.dryrun', 'Wharf purges for real; `wharf gc --dry-run` previews content deletion', [false, null]),
  booleanTo('storage.maintenance.readonly.enabled', 'registry.readOnly', 'pushes and deletes refused, pulls go on'),
  {
    key: 'storage.redirect.disable',
    status: 'mapped',
    wharf: 'storage.s3.redirect',
    note: 'inverted: with S3, blob downloads redirect to the bucket unless `true`, as in Distribution (the filesystem driver never redirects)',
    apply: (v, ctx) => void ctx.state.set('redirect.disable', asBoolean(v) === true),
  },
  dropped('storage.tag.concurrencylimit', 'Wharf reads tags from its database'),
  to('auth.htpasswd.realm', 'auth.realm', 'and `auth.mode: basic`'),
  to('auth.htpasswd.path', 'auth.htpasswd.path', 'bcrypt lines only, as in Distribution; every logged-in user may pull, push and delete unless `auth.rules` says otherwise (Distribution has no rules)'),
  to('auth.token.realm', 'auth.token.realm', 'and `auth.mode: token`, `auth.token.issue: false` (your token server keeps issuing)'),
  to('auth.token.service', 'auth.token.service'),
  to('auth.token.issuer', 'auth.token.external.issuer'),
  to('auth.token.rootcertbundle', 'auth.token.external.certificate'),
  refused('auth.token.jwks', 'Wharf fetches the JWKS from a URL: set auth.token.external.jwksUrl instead of a file'),
  dropped('auth.token.signingalgorithms', 'Wharf accepts RS256/ES256-family signatures of the trusted keys'),
  refused('auth.token.autoredirect', 'set auth.token.realm to the absolute URL of the token server'),
  refused('auth.silly', 'a test-only scheme that lets anyone in: use htpasswd, or no auth section for an open registry'),
  { key: 'auth.none', status: 'mapped', wharf: 'auth.mode', note: '`none`: an open registry' },
  refused('redis', notNeeded),
  refused('proxy', 'pull-through cache not yet available in Wharf: keep Distribution as the mirror for now'),
  refused('middleware', 'Wharf has no storage or registry middleware (CloudFront, redirects): remove the section'),
  dropped('reporting', 'Wharf reports to no error tracker (bugsnag, newrelic): errors are in its log'),
  onlyWhen('compatibility.schema1.enabled', [false, null], 'Wharf does not accept Docker schema 1 manifests'),
  dropped('compatibility.schema1.signingkeyfile', 'Wharf does not serve schema 1 manifests'),
  dropped('validation.enabled', 'Wharf always validates manifests (their blobs must be in the repository)', [true]),
  dropped('validation.disabled', 'Wharf always validates manifests (their blobs must be in the repository)', [false, null]),
  refused('validation.manifests.urls', 'Wharf accepts foreign-layer URLs without an allow/deny list: remove it, or push the layers themselves'),
  refused('validation.manifests.indexes', 'Wharf accepts indexes whatever platforms they list (children must be pushed first)'),
  to('catalog.maxentries', 'registry.maxPageSize'),
  refused('policy', 'Wharf has its own access rules: translate them to auth.rules'),
  ...httpRules,
  ...eventRules,
];

