import type { IncomingMessage } from 'node:http';

export type Action = 'pull' | 'push' | 'delete';

/** A repository-scoped request: what the caller wants to do, where. Catalog and base checks have no repository. */
export interface AccessRequest {
  readonly repository: string | null;
  /** admin: the registry's admin API (repository deletion, usage), for admins only. */
  readonly action: Action | 'catalog' | 'base' | 'admin';
}

export interface Principal {
  readonly name: string | null; // null: anonymous
  readonly groups?: readonly string[];
  readonly admin?: boolean;
}

/**
 * Decides who the caller is and whether it may act. Throws a RegistryError (UNAUTHORIZED with a challenge, or
 * DENIED) to refuse. The access issue brings htpasswd, token and policy implementations behind this interface.
 */
export interface AccessController {
  authorize(req: IncomingMessage, access: AccessRequest): Promise<Principal>;
  /** For a principal authorize() returned: catalog filtering, the mount-source check. */
  allowed(principal: Principal, repository: string, action: Action): boolean;
}

/** Auth off: everyone may do everything. */
export const openAccess: AccessController = {
  async authorize() {
    return { name: null };
  },
  allowed() {
    return true;
  },
};
