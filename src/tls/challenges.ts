// ACME HTTP-01 challenge answers, served on the plain-HTTP listener at /.well-known/acme-challenge/<token>.
import type { IncomingMessage, ServerResponse } from 'node:http';

export const challengePrefix = '/.well-known/acme-challenge/';
const tokenPattern = /^[A-Za-z0-9_-]{1,256}$/;

export class Http01ChallengeResponder {
  private readonly answers = new Map<string, string>();

  set(token: string, keyAuthorization: string): void {
    if (!tokenPattern.test(token)) throw new Error(`invalid ACME challenge token ${JSON.stringify(token.slice(0, 80))}`);
    this.answers.set(token, keyAuthorization);
  }

  delete(token: string): void {
    this.answers.delete(token);
  }

  get size(): number {
    return this.answers.size;
  }

  /**
   * Answers a request for /.well-known/acme-challenge/<token> (200 with the key authorization, or 404 for an unknown
   * token) and returns true; returns false, touching nothing, for any other path.
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    if (!url.startsWith(challengePrefix)) return false;
    const q = url.indexOf('?');
    const token = url.slice(challengePrefix.length, q === -1 ? undefined : q);
    const answer = tokenPattern.test(token) ? this.answers.get(token) : undefined;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Length': '0' }).end();
      return true;
    }
    if (answer === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '0', 'Cache-Control': 'no-store' }).end();
      return true;
    }
    const body = Buffer.from(answer, 'ascii');
    res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(body.length), 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
    return true;
  }
}
