// Wharf's token endpoint (Docker token specification): GET with Basic credentials or anonymous
// (`?service=&scope=…&scope=…&account=`), and the OAuth2 POST form (grant_type=password, grant_type=refresh_token).
// The token carries the intersection of what was asked and what the policies grant; asking for more than one may
// have is not an error. Errors are answered in the registry's JSON error format, with the OAuth2 `error` and
// `error_description` fields alongside for OAuth2 clients.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { sendJson } from '../http/send.js';
import { errorStatus, type ErrorCode } from '../http/oci-errors.js';
import { isValidName } from '../oci/names.js';
import type { CredentialVerifier } from './credentials.js';
import { parseAuthorization, tooManyMessage, type Authenticator } from './login.js';
import type { Policy } from './policy.js';
import { basicChallenge, formatScope, parseScopes, ScopeError } from './scope.js';
import { passwordBinding, TokenError, type IssuedToken, type TokenIssuer } from './tokens.js';
import type { Action, AuthPrincipal, ResourceAccess, TokenHandler } from './types.js';

const maxFormBytes = 64 * 1024;
const repositoryActions: readonly Action[] = ['pull', 'push', 'delete'];

/** What `principal` receives of what it asked for: per resource, the requested actions the policies allow. */
export function grantAccess(policy: Policy, principal: AuthPrincipal, requested: readonly ResourceAccess[]): ResourceAccess[] {
  const granted: ResourceAccess[] = [];
  for (const r of requested) {
    if (r.type === 'repository') {
      if (!isValidName(r.name)) continue;
      const wanted = r.actions.includes('*') ? repositoryActions : repositoryActions.filter((a) => r.actions.includes(a));
      const actions = wanted.filter((a) => policy.allows(principal.name, r.name, a));
      if (actions.length > 0) granted.push({ type: 'repository', name: r.name, actions });
    } else if (r.type === 'registry' && r.name === 'catalog' && r.actions.includes('*')) {
      if (policy.mayListCatalog(principal.name)) granted.push({ type: 'registry', name: 'catalog', actions: ['*'] });
    }
  }
  return granted;
}

class EndpointError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly oauth: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Tokens and token errors are never cached (RFC 6749 §5.1). */
function sendToken(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJson(res, status, body, { 'Cache-Control': 'no-store', Pragma: 'no-cache', ...headers });
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    req.resume();
    throw new EndpointError(400, 'UNSUPPORTED', 'invalid_request', 'POST a form (application/x-www-form-urlencoded)');
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > maxFormBytes) throw new EndpointError(413, 'UNSUPPORTED', 'invalid_request', 'form too large');
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export interface TokenEndpointDeps {
  readonly issuer: TokenIssuer;
  readonly policy: Policy;
  readonly authenticator: Authenticator;
  readonly verifier: CredentialVerifier;
  /** Realm of the Basic challenge sent when credentials are wrong. */
  readonly realm: string;
  readonly log: Logger;
}

export function createTokenHandler(deps: TokenEndpointDeps): TokenHandler {
  const { issuer, policy, authenticator, verifier, log } = deps;
  const service = issuer.options.service;
  const challenge = { 'WWW-Authenticate': basicChallenge(deps.realm) };

  const loginOrThrow = async (req: IncomingMessage, user: string, password: string): Promise<AuthPrincipal> => {
    const result = await authenticator.login(req, user, password);
    if (result.ok) return result.principal;
    if (result.reason !== 'invalid') {
      throw new EndpointError(errorStatus.TOOMANYREQUESTS, 'TOOMANYREQUESTS', 'temporarily_unavailable', tooManyMessage(result.reason), {
        'Retry-After': String(result.retryAfterSeconds),
      });
    }
    throw new EndpointError(errorStatus.UNAUTHORIZED, 'UNAUTHORIZED', 'invalid_grant', 'invalid username or password', challenge);
  };

  const checkService = (value: string | null) => {
    if (value !== null && value !== '' && value !== service) {
      throw new EndpointError(400, 'DENIED', 'invalid_request', `this token endpoint serves ${JSON.stringify(service)}, not ${JSON.stringify(value.slice(0, 100))}`);
    }
  };

  const scopesOf = (values: string[]): ResourceAccess[] => {
    try {
      return parseScopes(values);
    } catch (err) {
      if (err instanceof ScopeError) throw new EndpointError(400, 'UNSUPPORTED', 'invalid_scope', err.message);
      throw err;
    }
  };

  const issue = async (principal: AuthPrincipal, requested: ResourceAccess[]): Promise<{ issued: IssuedToken; access: ResourceAccess[] }> => {
    const access = grantAccess(policy, principal, requested);
    const issued = await issuer.issue(principal.name, access);
    log.debug({ user: principal.name ?? undefined, access: access.map(formatScope) }, 'token issued');
    return { issued, access };
  };

  const body = (issued: IssuedToken) => ({ token: issued.token, access_token: issued.token, expires_in: issued.expiresIn, issued_at: issued.issuedAt });

  const handleGet = async (req: IncomingMessage, res: ServerResponse) => {
    const query = new URL(req.url ?? '/', 'http://token.invalid').searchParams;
    checkService(query.get('service'));
    const requested = scopesOf(query.getAll('scope'));
    const auth = parseAuthorization(req.headers.authorization);
    let principal: AuthPrincipal = policy.principal(null);
    if (auth?.scheme === 'basic') {
      const account = query.get('account');
      if (account !== null && account !== '' && account !== auth.user) {
        throw new EndpointError(400, 'DENIED', 'invalid_request', 'account does not match the credentials');
      }
      principal = await loginOrThrow(req, auth.user, auth.password);
    } else if (auth !== null) {
      throw new EndpointError(errorStatus.UNAUTHORIZED, 'UNAUTHORIZED', 'invalid_request', 'send Basic credentials, or none for anonymous access', challenge);
    }
    const { issued } = await issue(principal, requested);
    sendToken(res, 200, body(issued));
  };

  const handlePost = async (req: IncomingMessage, res: ServerResponse) => {
    const form = await readForm(req);
    checkService(form.get('service'));
    const requested = scopesOf(form.getAll('scope'));
    const grantType = form.get('grant_type');
    let principal: AuthPrincipal;
    let refreshToken: string | undefined;
    if (grantType === 'password') {
      const user = form.get('username');
      const password = form.get('password');
      if (!user || password === null) throw new EndpointError(400, 'UNSUPPORTED', 'invalid_request', 'username and password are required');
      principal = await loginOrThrow(req, user, password);
      const entry = verifier.lookup(user); // gone only if the file changed in the meantime
      if (form.get('access_type') === 'offline' && issuer.options.refreshTtl > 0 && entry) {
        refreshToken = await issuer.issueRefresh(user, passwordBinding(entry.hash));
      }
    } else if (grantType === 'refresh_token') {
      const presented = form.get('refresh_token');
      if (!presented) throw new EndpointError(400, 'UNSUPPORTED', 'invalid_request', 'refresh_token is required');
      let claims: { subject: string; binding: string };
      try {
        claims = await issuer.verifyRefresh(presented);
      } catch (err) {
        if (err instanceof TokenError) throw new EndpointError(errorStatus.UNAUTHORIZED, 'UNAUTHORIZED', 'invalid_grant', 'invalid refresh token');
        throw err;
      }
      const entry = verifier.lookup(claims.subject);
      if (!entry || passwordBinding(entry.hash) !== claims.binding) {
        throw new EndpointError(errorStatus.UNAUTHORIZED, 'UNAUTHORIZED', 'invalid_grant', 'refresh token revoked (user removed or password changed); log in again');
      }
      principal = policy.principal(claims.subject);
      refreshToken = presented;
    } else {
      throw new EndpointError(400, 'UNSUPPORTED', 'unsupported_grant_type', 'grant_type must be password or refresh_token');
    }
    const { issued, access } = await issue(principal, requested);
    sendToken(res, 200, {
      ...body(issued),
      scope: access.map(formatScope).join(' '),
      ...(refreshToken === undefined ? {} : { refresh_token: refreshToken }),
    });
  };

  return async (req, res) => {
    try {
      if (req.method === 'GET') await handleGet(req, res);
      else if (req.method === 'POST') await handlePost(req, res);
      else throw new EndpointError(405, 'UNSUPPORTED', 'invalid_request', `method ${req.method} not allowed here`, { Allow: 'GET, POST' });
    } catch (err) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!(err instanceof EndpointError)) {
        log.error({ err }, 'token endpoint failed');
        sendToken(res, 500, { errors: [{ code: 'UNAVAILABLE', message: 'internal error; see the server log' }], error: 'server_error' });
        return;
      }
      const headers: Record<string, string> = { ...err.headers };
      if (!req.complete) headers.Connection = 'close';
      sendToken(res, err.status, { errors: [{ code: err.code, message: err.message }], error: err.oauth, error_description: err.message }, headers);
    }
  };
}
