// What the web UI needs from auth: the same password check and lockout as the registry API (a login form must not
// be a way around the lockout), and the same policy, asked per repository and action.
import type { IncomingMessage } from 'node:http';
import type { LoginResult } from './login.js';
import type { Action, AuthPrincipal } from './types.js';

export interface WebAccess {
  /** False in auth mode none: everyone is anonymous and may do everything. */
  readonly required: boolean;
  /** Checks a user's password through the API's lockout; null when no users log in with passwords. */
  readonly login: ((req: IncomingMessage, user: string, password: string) => Promise<LoginResult>) | null;
  /**
   * What a session remembers of the user's password entry: when the user is removed or the password changes, it
   * changes and the user's sessions end. null when the user is unknown.
   */
  credential(user: string): string | null;
  principal(name: string | null): AuthPrincipal;
  allows(principal: AuthPrincipal, repository: string, action: Action): boolean;
  /** May the principal list repositories at all (anonymous: only where anonymous may pull something)? */
  mayBrowse(principal: AuthPrincipal): boolean;
}

export const openWebAccess: WebAccess = {
  required: false,
  login: null,
  credential: () => null,
  principal: (name) => ({ name, groups: [], admin: true }),
  allows: () => true,
  mayBrowse: () => true,
};
