// `connsim worker`: takes sweep points from the BullMQ queue and runs each on this
// machine's worker pool. BullMQ holds a lock on each job while it runs; a worker that
// dies stops renewing it, and another worker's stalled-job check puts the job back
// after the stall interval. Plugins come as source text, written once per hash to a
// directory of this process's own and imported from there.

import { mkdtemp, rename, rm, writeFile, mkdir } from "node:fs/promises";
import { createHash, randomBytes } from "node:crypto";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { Job } from "bullmq";
import { importPlugin, loadPlugins } from "../plugin-loader.js";
import { PluginError, type ModulePlugin } from "../plugins.js";
import { planScenario, ScenarioError } from "../scenario.js";
import { VERSION } from "../run.js";
import type { Result } from "../result.js";
import { WorkerPool } from "../workers/pool.js";
import { connectRedis } from "./connect.js";
import { inlineLimit, QUEUE_NAME, stallMs, type JobReturn, type PluginSource, type QueueTarget, type SweepJob } from "./job.js";

export interface QueueWorkerOptions {
  target: QueueTarget;
  /** Jobs at once, each on a thread of the pool. */
  concurrency: number;
  /** One line per event worth a log: a job failed, Redis lost or back. */
  log?: (line: string) => void;
}

export interface QueueWorker {
  /** Its name in the queue (each job records the worker that took it): host:pid. */
  name: string;
  /** Stops taking jobs; running jobs finish, or with `giveBack` stop and go back to the queue for another worker. Resolves once all is closed. */
  stop(giveBack?: boolean): Promise<void>;
  /** Resolves when stopped: jobs completed and failed here. */
  readonly closed: Promise<{ completed: number; failed: number }>;
}

export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const { Worker, UnrecoverableError, WaitingError } = await import("bullmq");
  const log = options.log ?? (() => {});
  const pool = new WorkerPool({ workers: options.concurrency });
  const giveBack = new AbortController();
  const dir = await mkdtemp(join(tmpdir(), "connsim-worker-"));
  const imported = new Map<string, Promise<ModulePlugin>>();

  /** A plugin's source written to DIR/<sha256>.mjs (once) and imported, under the name the scenario uses for it. */
  const plugin = (p: PluginSource): Promise<ModulePlugin> => {
    const sha = createHash("sha256").update(p.source).digest("hex");
    let loaded = imported.get(sha);
    if (!loaded) {
      const file = join(dir, `${sha}.mjs`);
      loaded = writeFile(file, p.source, { flag: "wx" })
        .then(() => importPlugin(pathToFileURL(file).href, `plugin ${p.ref}`))
        .then((mod) => ({ ...mod, ref: p.ref }));
      imported.set(sha, loaded);
    }
    return loaded;
  };

  const processor = async (job: Job<SweepJob, JobReturn>, token?: string): Promise<JobReturn> => {
    const data = job.data;
    let plan;
    try {
      if (data.version !== VERSION) throw new ScenarioError("job", `planned by connsim ${data.version}; this worker is ${VERSION}`);
      const given = await Promise.all(data.plugins.map(plugin));
      plan = planScenario(data.scenario, { seed: data.seed, plugins: await loadPlugins(data.scenario, given) });
    } catch (e) {
      // The same scenario fails the same way on every machine: no second try.
      if (e instanceof ScenarioError || e instanceof PluginError) throw new UnrecoverableError((e as Error).message);
      throw e;
    }
    const result = await pool.run(plan, { signal: giveBack.signal });
    if (giveBack.signal.aborted) {
      await job.moveToWait(token);
      throw new WaitingError();
    }
    return packResult(result, job.id!, data.results);
  };

  const stall = stallMs();
  const name = `${hostname()}:${process.pid}`;
  const worker = new Worker<SweepJob, JobReturn>(QUEUE_NAME, processor, {
    connection: await connectRedis(options.target, log),
    concurrency: options.concurrency,
    name,
    lockDuration: stall,
    stalledInterval: stall,
    maxStalledCount: 2, // a job whose worker died twice still gets a third worker
    autorun: false,
  });
  let completed = 0;
  let failed = 0;
  worker.on("completed", () => { completed++; });
  worker.on("failed", (job, e) => {
    if (!job || e?.name === "WaitingError") return;
    failed++;
    log(`job ${job.id?.slice(0, 12)} (${job.name}) failed on try ${job.attemptsMade}: ${e.message}`);
  });
  let lastError = "";
  worker.on("error", (e) => { // once per message: an outage repeats itself (connectRedis says when Redis is back)
    if (e.message !== lastError) log(`queue: ${e.message}`);
    lastError = e.message;
  });
  await worker.waitUntilReady();
  void worker.run();

  let closing: Promise<void> | undefined;
  let done!: (stats: { completed: number; failed: number }) => void;
  const closed = new Promise<{ completed: number; failed: number }>((r) => { done = r; });
  return {
    name,
    closed,
    stop(back = false) {
      if (back) giveBack.abort();
      closing ??= (async () => {
        await worker.close();
        await pool.close();
        await rm(dir, { recursive: true, force: true });
        done({ completed, failed });
      })();
      return closing;
    },
  };
}

/**
 * The job's return value: the result itself, or, when its JSON is larger than Redis
 * should hold, its figures and a file in the sweep's results directory (none given:
 * the figures alone).
 */
async function packResult(result: Result, id: string, results: string | undefined): Promise<JobReturn> {
  const text = JSON.stringify(result);
  const bytes = Buffer.byteLength(text);
  if (bytes <= inlineLimit()) return { result };
  const { series: _series, traces: _traces, ...summary } = result;
  if (!results) return { summary, bytes };
  const dir = fileURLToPath(results);
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${id}.json`);
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(6).toString("hex")}`;
  await writeFile(tmp, text, { flag: "wx" });
  await rename(tmp, file); // whole or absent: a reader never sees half
  return { summary, ref: pathToFileURL(file).href, bytes };
}
