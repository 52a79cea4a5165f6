// What a scenario is: untimed setup, a run that times only its measured window, and the targets it is judged by.
import type { RegistryClient } from '../client.js';
import type { ContentSource } from '../content.js';
import type { Sizes } from '../sizes.js';

export interface MetricSpec {
  readonly metric: string;
  readonly unit: string;
  readonly better: 'higher' | 'lower';
}

export interface Measurement extends MetricSpec {
  readonly value: number;
}

/** A target on the ratio A / B (Wharf / Distribution) of one metric. */
export interface Target {
  readonly metric: string;
  readonly op: '>=' | '<=';
  readonly ratio: number;
}

/** Registries for an 'auth' scenario are started with an htpasswd file and the client sends Basic credentials. */
export type Profile = 'open' | 'auth';

export interface ScenarioContext {
  readonly client: RegistryClient;
  readonly content: ContentSource;
  readonly sizes: Sizes;
  /** Round number; scenarios that write use it so each round pushes new content. */
  readonly round: number;
  /** Runs `fn` as the measured window: its wall time is returned and client/server CPU over it is recorded. */
  timed(fn: () => Promise<void>): Promise<number>;
  /** CPU seconds the server's processes have used so far; undefined when its pid is unknown (--target). */
  serverCpu(): Promise<number | undefined>;
}

export const cpuPerGiB: MetricSpec = { metric: 'server CPU', unit: 'CPU-s/GiB', better: 'lower' };

/** Runs fn as the measured window and adds the server's CPU seconds per GiB moved to what it reports. */
export async function timedWithCpu(ctx: ScenarioContext, bytes: number, fn: () => Promise<void>): Promise<{ ms: number; cpu: Measurement[] }> {
  const before = await ctx.serverCpu();
  const ms = await ctx.timed(fn);
  const after = await ctx.serverCpu();
  const cpu = before === undefined || after === undefined ? [] : [{ ...cpuPerGiB, value: (after - before) / (bytes / 2 ** 30) }];
  return { ms, cpu };
}

export interface Scenario {
  readonly id: string;
  readonly title: string;
  readonly profile: Profile;
  /** Part of a run without --only. */
  readonly byDefault: boolean;
  /**
   * Measured rounds unless --rounds says otherwise; the median is reported. Short, noisy measurements (a push
   * of a few seconds) get several; the 15 s GET run is steady enough with one.
   */
  readonly rounds: number;
  /** What run() reports; declared so a registry that fails still gets its row (with no figure). */
  readonly metrics: readonly MetricSpec[];
  readonly targets: readonly Target[];
  /** Untimed preparation on one registry, before its first round (e.g. pushing what will be read). */
  setup?(ctx: ScenarioContext): Promise<void>;
  /** One measured round; verifies what the server did before returning. */
  run(ctx: ScenarioContext): Promise<Measurement[]>;
}

/** Repositories are namespaced per run so a long-lived --target registry never already holds them. */
export function repoName(ctx: ScenarioContext, name: string): string {
  return `bench-${ctx.content.runId}/${name}`;
}

/** Runs `worker` on `concurrency` loops that share one queue of `count` job indices. */
export async function inParallel(count: number, concurrency: number, worker: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const loop = async (): Promise<void> => {
    while (next < count) await worker(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, loop));
}
