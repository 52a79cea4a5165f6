import type { IncomingMessage } from 'node:http';

export type Action = 'pull' | 'push' | 'delete';

/** A repository-scoped request: what the caller wants to do, where. Catalog and base checks have no repository. */
export interface AccessRequest {
  readonly repository: string | null;
  readonly action: Action | 'catalog' | 'base';
}

export interface Principal {
  readonly name: string | null; // null: anonymous
}

/**
 * Decides who the caller is and whether it may act. Throws a RegistryError (UNAUTHORIZED with a challenge, or
 * DENIED) to refuse. The access issue brings htpasswd, token and policy implementations behind this interface.
 */
export interface AccessController {
  authorize(req: IncomingMessage, access: AccessRequest): Promise<Principal>;
}

/** Auth off: everyone may do everything. */
export const openAccess: AccessController = {
  async authorize() {
    return { name: null };
  },
};
