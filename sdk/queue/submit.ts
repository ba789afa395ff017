// A sweep on the queue: every point checked here as a local sweep checks it, then one
// BullMQ job per point, keyed by its hash (job.ts), so a point already finished, queued
// or running (a resubmitted or restarted sweep, another team member's) is never added
// again and its kept result is used. The submitter then watches the jobs' states until
// each has finished or failed; Redis going away only pauses the watch.

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { loadPlugins } from "../plugin-loader.js";
import type { Plugin } from "../plugins.js";
import type { Plan } from "../scenario.js";
import type { Result } from "../result.js";
import { VERSION } from "../run.js";
import { applyVary, planSweep, type SweepRow, type Value, type Vary } from "../workers/sweep.js";
import { connectRedis } from "./connect.js";
import { ATTEMPTS, jobKey, KEEP_SECONDS, QUEUE_NAME, type JobReturn, type PluginSource, type QueueTarget, type SweepJob } from "./job.js";

export interface QueueProgress { total: number; done: number; running: number; failed: number }

export interface QueueSweepOptions {
  target: QueueTarget;
  seed?: number;
  /** Plugin objects the scenario names, as runSweep takes them; modules named by path load themselves. */
  plugins?: Plugin[];
  /** The directory relative plugin paths are resolved against (default: the working directory). */
  baseDir?: string;
  /** file:///dir where workers write results too large for Redis. */
  results?: string;
  onPlanned?: (plans: Plan[], grid: Record<string, Value>[]) => void;
  /** After each look at the queue. */
  onProgress?: (p: QueueProgress) => void;
  /** A line worth telling the user: points reused, Redis lost and back, results left out. */
  onNote?: (line: string) => void;
}

/** Runs a sweep on whatever workers serve the queue; the rows are a local sweep's (runSweep) for the same inputs. */
export async function runQueuedSweep(scenario: unknown, varies: Vary[], options: QueueSweepOptions): Promise<SweepRow[]> {
  const note = options.onNote ?? (() => {});
  const plugins = await loadPlugins(scenario, options.plugins, options.baseDir);
  const { grid, plans } = planSweep(scenario, varies, { seed: options.seed, plugins });
  options.onPlanned?.(plans, grid);
  const sources: PluginSource[] = [];
  for (const p of plugins) {
    const { module, ref } = p as { module?: string; ref?: string };
    if (ref && module?.startsWith("file:")) sources.push({ ref, source: await readFile(fileURLToPath(module), "utf8") });
  }
  const jobs = grid.map((values): SweepJob => {
    let s = scenario;
    for (const [path, v] of Object.entries(values)) s = applyVary(s, path, v);
    return { scenario: s, ...(options.seed !== undefined ? { seed: options.seed } : {}), plugins: sources, version: VERSION, ...(options.results ? { results: options.results } : {}) };
  });
  const ids = jobs.map(jobKey);
  const label = (i: number) => Object.entries(grid[i]).map(([p, v]) => `${p}=${v}`).join(" ") || "the scenario";

  const { Queue, QueueEvents, Job } = await import("bullmq");
  const redis = await connectRedis(options.target, note);
  const queue = new Queue<SweepJob, JobReturn>(QUEUE_NAME, { connection: redis });
  queue.on("error", () => {}); // connectRedis reports it

  try {
    // One job per distinct point; a grid that names a point twice shares it.
    const first = new Map<string, number>();
    ids.forEach((id, i) => { if (!first.has(id)) first.set(id, i); });
    const add = async (which: string[]) => {
      for (let i = 0; i < which.length; i += 1000) {
        await queue.addBulk(which.slice(i, i + 1000).map((id) => ({
          name: label(first.get(id)!), data: jobs[first.get(id)!],
          opts: { jobId: id, attempts: ATTEMPTS, backoff: { type: "fixed", delay: 1000 }, removeOnComplete: { age: KEEP_SECONDS }, removeOnFail: { age: KEEP_SECONDS } },
        })));
      }
    };
    const states = async (which: string[]) => Promise.all(which.map((id) => queue.getJobState(id)));
    const unique = [...first.keys()];
    const before = await states(unique);
    await add(unique.filter((_, i) => before[i] === "unknown"));
    // A point that failed in an earlier submission gets its tries again; a finished one is kept.
    const retried = unique.filter((_, i) => before[i] === "failed");
    for (const id of retried) await (await Job.fromId(queue, id))?.retry("failed", { resetAttemptsMade: true, resetAttemptsStarted: true });
    const reused = before.filter((s) => s === "completed").length;
    const queued = before.filter((s) => s !== "unknown" && s !== "completed" && s !== "failed").length;
    if (reused || queued || retried.length) {
      note(`${unique.length} points: ${[reused && `${reused} already done`, queued && `${queued} already queued or running`, retried.length && `${retried.length} that failed before tried again`].filter(Boolean).join(", ")}`);
    }

    // BullMQ's event stream says which jobs moved (started, finished, failed a try):
    // only those are looked at, with every pending job every few seconds in case an
    // event was missed (Redis away, the stream trimmed).
    const listener = redis.duplicate(); // QueueEvents blocks on its own connection
    const events = new QueueEvents(QUEUE_NAME, { connection: listener });
    events.on("error", () => {});
    const moved = new Set<string>();
    let wake = () => {};
    for (const event of ["active", "completed", "failed", "delayed", "waiting", "stalled"] as const) {
      events.on(event, ({ jobId }: { jobId: string }) => { moved.add(jobId); wake(); });
    }
    await events.waitUntilReady();
    const outcome = new Map<string, { ret?: JobReturn; error?: string }>();
    const active = new Set<string>();
    const pending = new Set(unique);
    let lastFull = -Infinity;
    const FULL_MS = 5000;
    try {
      for (;;) {
        const full = performance.now() - lastFull >= FULL_MS;
        if (full) lastFull = performance.now();
        const look = full ? [...pending] : [...moved].filter((id) => pending.has(id));
        moved.clear();
        const now = await states(look);
        const vanished: string[] = [];
        await Promise.all(look.map(async (id, i) => {
          if (now[i] === "active") active.add(id); else active.delete(id);
          if (now[i] === "unknown") { vanished.push(id); return; }
          if (now[i] !== "completed" && now[i] !== "failed") return;
          const job = await Job.fromId<SweepJob, JobReturn>(queue, id);
          if (!job) { vanished.push(id); return; }
          outcome.set(id, now[i] === "completed"
            ? { ret: job.returnvalue }
            : { error: `${job.failedReason}${job.attemptsMade > 1 ? ` (failed ${job.attemptsMade} times)` : ""}` });
          pending.delete(id);
        }));
        // A job Redis no longer holds (lost before it was written to disk, removed by hand) is added again.
        if (vanished.length) {
          note(`${vanished.length} job${vanished.length === 1 ? "" : "s"} missing from Redis, queued again`);
          await add(vanished);
        }
        const failed = [...outcome.values()].filter((o) => o.error !== undefined).length;
        options.onProgress?.({ total: unique.length, done: outcome.size - failed, running: active.size, failed });
        if (!pending.size) break;
        // Events come in bursts: gather them for a moment, or wait for the next one.
        await new Promise<void>((r) => {
          const timer = setTimeout(r, Math.max(0, lastFull + FULL_MS - performance.now()));
          wake = () => { wake = () => {}; clearTimeout(timer); setTimeout(r, 100); };
          if (moved.size) wake();
        });
      }
    } finally {
      await events.close();
      listener.disconnect();
    }

    let partial = 0;
    const rows = await Promise.all(grid.map(async (values, i): Promise<SweepRow> => {
      const o = outcome.get(ids[i])!;
      if (o.error !== undefined) return { values, error: o.error };
      const result = await unpack(o.ret!, () => { partial++; });
      return { values, result, ...(result.error ? { error: result.error } : {}) };
    }));
    if (partial) note(`${partial} result${partial === 1 ? " was" : "s were"} above the queue's size for a result and came back as figures without series${options.results ? " (their files were not readable here)" : "; --results file:///shared/dir keeps them whole"}`);
    return rows;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

/** A job's result: in the return value, or read from the results directory; the figures alone when neither. */
async function unpack(ret: JobReturn, partial: () => void): Promise<Result> {
  if ("result" in ret) return ret.result;
  if (ret.ref) {
    const text = await readFile(fileURLToPath(ret.ref), "utf8").catch(() => undefined);
    if (text !== undefined) return JSON.parse(text) as Result;
  }
  partial();
  return ret.summary as Result; // the table and JSON lines use only the figures
}
