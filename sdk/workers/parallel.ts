// A plan on a worker pool (Node's WorkerPool, or sdk/workers/browser-pool.ts): split into
// shards when it partitions (shard.ts), else into parts run in step (pdes.ts) when its
// hosts can be split, else one worker. Progress from the shards or parts is combined:
// the slowest one's simulated time, the events of all, and each sample once every one
// has taken it.

import type { Result, StateName } from "../result.js";
import { resultFromParts, resultFromRows, type Progress, type SamplePoint } from "../run.js";
import { natShape, sampleLayout, type TraceRecord } from "../engine.js";
import { mergeRecords, sharedFor, splitFor, stopParts, type Part, type PartResult } from "./pdes.js";
import type { Plan } from "../scenario.js";
import type { PoolRunOptions } from "./pool-base.js";
import { checkPoolRunOptions } from "../options.js";
import { mergeShards, planShards } from "./shard.js";

/** What sharding needs of a pool: how many plans it runs at once, and a way to run one. */
export interface PlanPool {
  readonly size: number;
  run(plan: Plan, options?: PoolRunOptions): Promise<Result>;
  runPart?(plan: Plan, part: Part, options?: PoolRunOptions): Promise<PartResult>;
}

export async function runOnPool(plan: Plan, pool: PlanPool, options: PoolRunOptions = {}): Promise<Result> {
  checkPoolRunOptions(options);
  const shards = planShards(plan, pool.size);
  if (!shards) {
    const split = pool.runPart && splitFor(plan, pool.size, options.splitEvents);
    return split ? runParts(plan, split, pool, options) : pool.run(plan, options);
  }
  const onShardProgress = combinedProgress(shards.length, options);
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

/** The progress of n shards or parts as one: the slowest one's time, the events of all, each sample once all have it. */
function combinedProgress(n: number, options: PoolRunOptions): (i: number) => (p: Progress) => void {
  const latest: Progress[] = [];
  const pending: SamplePoint[][] = Array.from({ length: n }, () => []);
  return (i: number) => (p: Progress) => {
    latest[i] = p;
    pending[i].push(...p.samples);
    const ready = Math.min(...pending.map((q) => q.length));
    if (latest.filter(Boolean).length < n) return;
    options.onProgress!({
      t: Math.min(...latest.map((x) => x.t)), duration: p.duration,
      events: latest.reduce((a, x) => a + x.events, 0),
      samples: Array.from({ length: ready }, () => sumPoints(pending.map((q) => q.shift()!))),
    });
  };
}

/**
 * A connected plan split into parts run in step (pdes.ts), merged: each host's columns
 * from its part (the others' are zero there), counters summed, trace records in the
 * order one engine writes them.
 */
async function runParts(plan: Plan, split: Omit<Part, "index" | "shared">, pool: PlanPool, options: PoolRunOptions): Promise<Result> {
  const shared = sharedFor(split.parts);
  const onPartProgress = combinedProgress(split.parts, options);
  const stop = () => stopParts(shared);
  options.signal?.addEventListener("abort", stop);
  if (options.signal?.aborted) stop();
  const settled = await Promise.allSettled(Array.from({ length: split.parts }, (_, i) => pool.runPart!(plan, { ...split, index: i, shared }, {
    signal: options.signal, sliceEvents: options.sliceEvents, stallTimeout: options.stallTimeout, memoryLimit: options.memoryLimit,
    onProgress: options.onProgress && onPartProgress(i),
  }).catch((e: unknown) => { stop(); throw e; })));
  options.signal?.removeEventListener("abort", stop);
  const parts: PartResult[] = settled.map((r) => (r.status === "fulfilled" ? r.value
    : { rows: new Uint32Array(0), stats: [], windows: 0, crossed: 0, records: [] as TraceRecord[], dirs: [], wallSeconds: 0, simulatedUs: 0, error: (r.reason as Error).message }));
  const words = sampleLayout(plan.hosts.length, ...natShape(plan)).words;
  const rows = Math.min(...parts.map((p) => p.rows.length / words));
  const merged = new Uint32Array(rows * words);
  for (const p of parts) for (let i = 0; i < merged.length; i++) merged[i] += p.rows[i];
  for (let r = 0; r < rows; r++) merged[r * words] = parts[0].rows[r * words]; // (each row's sample index, once)
  const stats = Array.from({ length: Math.max(...parts.map((p) => p.stats.length)) }, (_, k) => parts.reduce((a, p) => a + (p.stats[k] ?? 0), 0));
  const failed = [parts.findIndex((p) => p.error && p.error !== "cancelled"), parts.findIndex((p) => p.error)].find((i) => i >= 0) ?? -1;
  const mine = (i: number) => plan.hosts.filter((_, h) => split.owner[h] === i).map((h) => h.name);
  const named = (i: number) => { const hs = mine(i); return hs.length > 4 ? `${hs.slice(0, 4).join(", ")} and ${hs.length - 4} more` : hs.join(", "); };
  // A part that failed is named; a cancelled run (every part "cancelled") says just that.
  const error = failed < 0 ? undefined : parts[failed].error === "cancelled" ? "cancelled" : `worker ${failed} (hosts ${named(failed)}): ${parts[failed].error}`;
  const result = resultFromParts(plan, merged, stats, mergeRecords(parts.map((p) => p.records)), parts.find((p) => p.dirs.length)?.dirs ?? [],
    Math.max(...parts.map((p) => p.wallSeconds)), error, Math.min(...parts.map((p) => p.simulatedUs)));
  result.engine.workers = split.parts;
  result.engine.split = { windows: Math.max(...parts.map((p) => p.windows)), lookaheadUs: split.lookahead, crossingSegments: parts.reduce((a, p) => a + p.crossed, 0) };
  return result;
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
