// Authorization policies from the auth config: groups, rules (users/groups × repository globs → actions), admins
// and anonymous access. Whatever no rule grants is denied. Anonymous grants apply to logged-in users too.
import { repositoryGlob } from '../oci/glob.js';
import type { AuthConfig } from './config.js';
import type { Action, AuthPrincipal } from './types.js';

export type PolicyConfig = Pick<AuthConfig, 'groups' | 'anonymous' | 'rules' | 'admins' | 'adminGroups'>;

interface CompiledGrant {
  readonly globs: readonly RegExp[];
  readonly actions: ReadonlySet<Action>;
}

interface CompiledRule extends CompiledGrant {
  readonly everyone: boolean;
  readonly users: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
}

const allActions: readonly Action[] = ['pull', 'push', 'delete'];

function compile(repositories: readonly string[], actions: readonly Action[]): CompiledGrant {
  return { globs: repositories.map(repositoryGlob), actions: new Set(actions) };
}

function grants(grant: CompiledGrant, repository: string, action: Action): boolean {
  return grant.actions.has(action) && grant.globs.some((g) => g.test(repository));
}

export class Policy {
  private readonly groupsOf = new Map<string, string[]>();
  private readonly admins: ReadonlySet<string>;
  private readonly adminGroups: ReadonlySet<string>;
  private readonly anonymous: readonly CompiledGrant[];
  private readonly rules: readonly CompiledRule[];

  constructor(config: PolicyConfig) {
    for (const group of config.groups) {
      for (const member of group.members) {
        const list = this.groupsOf.get(member) ?? [];
        if (!list.includes(group.name)) list.push(group.name);
        this.groupsOf.set(member, list);
      }
    }
    this.admins = new Set(config.admins);
    this.adminGroups = new Set(config.adminGroups);
    this.anonymous = config.anonymous.map((a) => compile(a.repositories, a.actions));
    this.rules = config.rules.map((r) => ({
      ...compile(r.repositories, r.actions),
      everyone: r.users.includes('*'),
      users: new Set(r.users),
      groups: new Set(r.groups),
    }));
  }

  groups(name: string | null): readonly string[] {
    return name === null ? [] : (this.groupsOf.get(name) ?? []);
  }

  isAdmin(name: string | null): boolean {
    if (name === null) return false;
    return this.admins.has(name) || this.groups(name).some((g) => this.adminGroups.has(g));
  }

  /** The principal object for a name (null: anonymous). */
  principal(name: string | null): AuthPrincipal {
    return { name, groups: this.groups(name), admin: this.isAdmin(name) };
  }

  /** May `name` (null: anonymous) do `action` on `repository`? */
  allows(name: string | null, repository: string, action: Action): boolean {
    if (this.anonymous.some((a) => grants(a, repository, action))) return true;
    if (name === null) return false;
    if (this.isAdmin(name)) return true;
    const groups = this.groups(name);
    return this.rules.some((r) => (r.everyone || r.users.has(name) || groups.some((g) => r.groups.has(g))) && grants(r, repository, action));
  }

  /** The actions `name` may do on `repository`, in pull, push, delete order. */
  actions(name: string | null, repository: string): Action[] {
    return allActions.filter((a) => this.allows(name, repository, a));
  }

  /**
   * May `name` call the catalog at all? Admins see everything; others see what they may pull, so any logged-in user
   * may ask, and anonymous callers only if anonymous access grants pull somewhere.
   */
  mayListCatalog(name: string | null): boolean {
    if (name !== null) return true;
    return this.anonymous.some((a) => a.actions.has('pull'));
  }
}
