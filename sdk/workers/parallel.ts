// A plan on a worker pool (Node's WorkerPool, or sdk/workers/browser-pool.ts): split into
// shards when it partitions (shard.ts), else one worker. Progress from the shards is
// combined: the slowest shard's simulated time, the events of all, and each sample
// once every shard has taken it.

import type { Result, StateName } from "../result.js";
import { resultFromRows, type Progress, type SamplePoint } from "../run.js";
import type { Plan } from "../scenario.js";
import type { PoolRunOptions } from "./pool-base.js";
import { checkPoolRunOptions } from "../options.js";
import { mergeShards, planShards } from "./shard.js";

/** What sharding needs of a pool: how many plans it runs at once, and a way to run one. */
export interface PlanPool {
  readonly size: number;
  run(plan: Plan, options?: PoolRunOptions): Promise<Result>;
}

export async function runOnPool(plan: Plan, pool: PlanPool, options: PoolRunOptions = {}): Promise<Result> {
  checkPoolRunOptions(options);
  const shards = planShards(plan, pool.size);
  if (!shards) return pool.run(plan, options);
  const latest: Progress[] = [];
  const pending: SamplePoint[][] = shards.map(() => []);
  const onShardProgress = (i: number) => (p: Progress) => {
    latest[i] = p;
    pending[i].push(...p.samples);
    const ready = Math.min(...pending.map((q) => q.length));
    if (latest.filter(Boolean).length < shards.length) return;
    options.onProgress!({
      t: Math.min(...latest.map((x) => x.t)), duration: p.duration,
      events: latest.reduce((a, x) => a + x.events, 0),
      samples: Array.from({ length: ready }, () => sumPoints(pending.map((q) => q.shift()!))),
    });
  };
  // A shard that fails (its worker crashed) stops the others, and its result is made
  // from the rows it reported: the merged run keeps every sample all shards reached.
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  if (options.signal?.aborted) stop.abort();
  options.signal?.addEventListener("abort", onAbort);
  const kept = shards.map(() => ({ rows: [] as Uint32Array[], stats: [] as number[] }));
  const settled = await Promise.allSettled(shards.map((s, i) => pool.run(s, {
    signal: stop.signal, sliceEvents: options.sliceEvents, stallTimeout: options.stallTimeout,
    memoryLimit: options.memoryLimit, hookTimeout: options.hookTimeout,
    onProgress: options.onProgress && onShardProgress(i),
    onCheckpoint: (rows, stats) => { kept[i].rows.push(rows); kept[i].stats = stats; },
  }).catch((e: unknown) => { stop.abort(); throw e; })));
  options.signal?.removeEventListener("abort", onAbort);
  const results = settled.map((r, i) => (r.status === "fulfilled" ? r.value
    : resultFromRows(shards[i], kept[i].rows, kept[i].stats, (r.reason as Error).message)));
  return mergeShards(plan, shards, results);
}

/** (name, count) pairs with each name once, its counts summed (a fleet whose hosts are in several shards), in first-seen order. */
function sumByName(pairs: [string, number][]): [string, number][] {
  const sums = new Map<string, number>();
  for (const [k, v] of pairs) sums.set(k, (sums.get(k) ?? 0) + v);
  return [...sums];
}

function sumPoints(points: SamplePoint[]): SamplePoint {
  const states = { ...points[0].states };
  for (const p of points.slice(1)) for (const k of Object.keys(states) as StateName[]) states[k] += p.states[k];
  return {
    t: points[0].t, states,
    portsInUse: Object.fromEntries(sumByName(points.flatMap((p) => Object.entries(p.portsInUse)))), // defined, not assigned: names are data
    failures: points.reduce((a, p) => a + p.failures, 0),
  };
}
