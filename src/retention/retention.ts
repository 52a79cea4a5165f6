import type { Logger } from 'pino';
import type { EventOrigin } from '../events/event.js';
import type { EventRecorder } from '../events/recorder.js';
import type { RetentionStore, TagDetail } from '../metadata/store.js';
import { Pacer } from '../metadata/yield.js';
import { matchesAny, repositoryGlob } from '../oci/glob.js';
import type { RetentionRule } from './config.js';

export interface RetentionAction {
  readonly repository: string;
  readonly tag?: string;
  readonly digest: string;
  readonly reason: string;
}

interface CompiledRule {
  readonly globs: readonly RegExp[];
  readonly keepTags: readonly RegExp[];
  readonly rule: RetentionRule;
}

/** Deletions by retention are the registry's own doing; events say so. */
const retentionOrigin: EventOrigin = { requestId: 'retention', addr: '', host: '', method: '', userAgent: 'wharf-retention', actor: 'wharf-retention' };

/** Which tags a rule removes: never the keepLast newest or a keepTags match; otherwise any age or idleness limit. */
export function tagsToDelete(tags: readonly TagDetail[], rule: RetentionRule, keepTags: readonly RegExp[], now: number): { tag: TagDetail; reason: string }[] {
  // Ties by name in code-unit order, the store's own: localeCompare made sorting 20k tags take tens of ms.
  const newestFirst = [...tags].sort((a, b) => b.updatedAt - a.updatedAt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: { tag: TagDetail; reason: string }[] = [];
  newestFirst.forEach((tag, index) => {
    if (rule.keepLast !== undefined && index < rule.keepLast) return;
    if (keepTags.some((p) => p.test(tag.name))) return;
    if (rule.olderThan !== undefined && tag.updatedAt < now - rule.olderThan) out.push({ tag, reason: 'olderThan' });
    else if (rule.notPulledFor !== undefined && (tag.lastPulledAt ?? tag.updatedAt) < now - rule.notPulledFor) out.push({ tag, reason: 'notPulledFor' });
    else if (rule.keepLast !== undefined && rule.olderThan === undefined && rule.notPulledFor === undefined) out.push({ tag, reason: 'keepLast' });
  });
  return out;
}

export class Retention {
  private readonly rules: readonly CompiledRule[];

  constructor(
    rules: readonly RetentionRule[],
    private readonly metadata: RetentionStore,
    private readonly events: EventRecorder,
    private readonly log: Logger,
  ) {
    this.rules = rules.map((rule) => ({ rule, globs: rule.repositories.map(repositoryGlob), keepTags: rule.keepTags.map((p) => new RegExp(p)) }));
  }

  get enabled(): boolean {
    return this.rules.length > 0;
  }

  /** Applies every rule (or, with dryRun, lists what it would do). Manifests untagged here are left to GC. */
  async apply(dryRun: boolean, now = Date.now()): Promise<RetentionAction[]> {
    const actions: RetentionAction[] = [];
    if (!this.enabled) return actions;
    // Each deletion is a short transaction; the pacer yields between them so requests keep being served.
    const pacer = new Pacer();
    for (let last: string | undefined; ; ) {
      const page = await this.metadata.listRepositories({ last, limit: 500 });
      for (const repository of page) {
        const compiled = this.rules.find((r) => matchesAny(r.globs, repository));
        if (compiled) actions.push(...(await this.applyRule(repository, compiled, dryRun, now, pacer)));
      }
      if (page.length < 500) break;
      last = page[page.length - 1];
    }
    if (actions.length > 0) this.log.info({ retention: { dryRun, actions: actions.length } }, dryRun ? 'retention preview' : 'retention applied');
    return actions;
  }

  private async applyRule(repository: string, { rule, keepTags }: CompiledRule, dryRun: boolean, now: number, pacer: Pacer): Promise<RetentionAction[]> {
    const actions: RetentionAction[] = [];
    for (const { tag, reason } of tagsToDelete(await this.metadata.listTagDetails(repository), rule, keepTags, now)) {
      await pacer.tick();
      const events = this.events.events('delete', { repository, digest: tag.digest, tag: tag.name }, retentionOrigin);
      if (dryRun || (await this.metadata.deleteTag(repository, tag.name, events))) actions.push({ repository, tag: tag.name, digest: tag.digest, reason });
    }
    if (rule.untaggedOlderThan !== undefined) {
      const cutoff = now - rule.untaggedOlderThan;
      for (let after = ''; ; ) {
        const page = await this.metadata.untaggedManifests(repository, cutoff, 500, after);
        for (const digest of page) {
          await pacer.tick();
          // The store re-checks that no index or surviving subject still needs it, as GC does.
          const decision = await this.metadata.collectManifest({ repository, digest }, cutoff, rule.untaggedOlderThan, dryRun);
          if (decision.outcome === 'deleted' || decision.outcome === 'would-delete') actions.push({ repository, digest, reason: 'untaggedOlderThan' });
        }
        if (page.length < 500) break;
        after = page[page.length - 1]!;
      }
    }
    return actions;
  }
}
