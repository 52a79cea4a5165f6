// The access interfaces as the auth modules need them. They extend ./access.ts (Principal gains groups and
// admin; the controller gains allowed()); the lead folds the extension into access.ts, and until then everything
// here stays assignable to the types there.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessController, AccessRequest, Action, Principal } from './access.js';

export type { AccessRequest, Action, Principal };

export const repositoryActions: readonly Action[] = ['pull', 'push', 'delete'];

/** Who the caller is, as the auth controllers return it. */
export interface AuthPrincipal extends Principal {
  readonly name: string | null; // null: anonymous
  /** Groups the principal belongs to (auth.groups). */
  readonly groups: readonly string[];
  /** auth.admins / auth.adminGroups: may do everything, including listing the whole catalog. */
  readonly admin: boolean;
}

export interface AuthAccessController extends AccessController {
  authorize(req: IncomingMessage, access: AccessRequest): Promise<AuthPrincipal>;
  /**
   * For a principal authorize() returned: may it also do `action` on `repository`? Filters catalog listings (pull)
   * and checks the source repository of a cross-repository mount (pull). Cheap and synchronous.
   */
  allowed(principal: Principal, repository: string, action: Action): boolean;
  readonly locks?: LoginLocks;
}

/** The token endpoint (GET with Basic or anonymous, POST OAuth2 form); the lead mounts it at /auth/token. */
export type TokenHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** One `access` entry of a token, as the Docker token specification writes it. */
export interface ResourceAccess {
  readonly type: string;
  readonly name: string;
  readonly actions: readonly string[];
}

/** Lockout state for the admin API (`/admin/v1/auth/locks`); absent when no users log in with passwords. */
export interface LoginLocks {
  list(): Promise<readonly { readonly address: string; readonly user?: string; readonly lockedUntil: number; readonly retryAfterSeconds: number }[]>;
  unlock(filter: { readonly user?: string; readonly address?: string }): Promise<number>;
}

/** What auth reports to metrics: failed logins by reason, lockouts, credential-cache lookups. */
export interface AuthObserver {
  /** busy: refused unchecked because the server-wide verification limit was reached. */
  failure(reason: 'bad_credentials' | 'locked_out' | 'busy'): void;
  lockout(): void;
  cacheLookup(hit: boolean): void;
}

export const silentObserver: AuthObserver = { failure() {}, lockout() {}, cacheLookup() {} };
