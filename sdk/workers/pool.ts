// A pool of Node worker threads, each hosting the engine behind comlink (api.ts). Runs
// are queued and handed to idle workers; the engine is compiled once here and the
// module posted to every worker. A worker that dies fails only the run it held, with
// an error naming it, and is replaced; the pool never waits on a dead worker.

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import * as Comlink from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { compileEngine } from "../engine.js";
import type { Result } from "../result.js";
import { defaultEngineBytes, type Progress } from "../run.js";
import type { Plan } from "../scenario.js";
import type { WorkerApi } from "./api.js";
import { unpackResult } from "./transfer.js";

export interface PoolOptions {
  /** Worker threads; default the number of cores. */
  workers?: number;
  /** The worker's module (default dist/node-worker.js) and its workerData: for fault-injection tests. */
  workerUrl?: URL;
  workerData?: unknown;
}

export interface PoolRunOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Events per engine call in the worker (progress comes between calls). */
  sliceEvents?: number;
}

interface Slot { id: number; worker: Worker; api: Comlink.Remote<WorkerApi>; dead?: Error }
interface Job { plan: Plan; options: PoolRunOptions; resolve(r: Result): void; reject(e: Error): void }

/** dist/node-worker.js beside the bundle this module is part of, or ../../dist from the sources. */
function defaultWorkerUrl(): URL {
  for (const rel of ["./node-worker.js", "../../dist/node-worker.js"]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error("dist/node-worker.js is missing; run npm run build");
}

export class WorkerPool {
  readonly size: number;
  private readonly idle: Slot[] = [];
  private readonly queue: Job[] = [];
  private readonly url: URL;
  private module?: Promise<WebAssembly.Module>;
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: PoolOptions = {}) {
    this.size = Math.max(1, options.workers ?? availableParallelism());
    this.url = options.workerUrl ?? defaultWorkerUrl();
  }

  /** Runs one plan on the next free worker. Rejects (naming the worker) if that worker dies. */
  run(plan: Plan, options: PoolRunOptions = {}): Promise<Result> {
    if (this.closed) return Promise.reject(new Error("the worker pool is closed"));
    this.module ??= compileEngine("release", () => defaultEngineBytes("release"));
    return new Promise((resolve, reject) => {
      this.queue.push({ plan, options, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends every worker; runs still queued are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error("the worker pool was closed"));
    await Promise.all(this.idle.splice(0).map((s) => s.worker.terminate()));
  }

  private started = 0;

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.idle.pop();
      if (!slot) {
        if (this.started >= this.size) return;
        slot = this.spawn();
      }
      this.execute(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    this.started++;
    const id = this.nextId++;
    const worker = new Worker(this.url, { workerData: this.options.workerData });
    const slot: Slot = { id, worker, api: Comlink.wrap<WorkerApi>(nodeEndpoint(worker)) };
    worker.on("error", (e) => { slot.dead ??= e; });
    worker.on("exit", (code) => { slot.dead ??= new Error(`exited with code ${code}`); });
    return slot;
  }

  private async execute(slot: Slot, job: Job): Promise<void> {
    const { plan, options } = job;
    const cancel = () => { void slot.api.cancel(); };
    options.signal?.addEventListener("abort", cancel);
    // comlink never settles a call whose worker died: race the call with the death.
    let onExit = () => {};
    const died = new Promise<never>((_, reject) => {
      const fail = () => reject(new Error(`worker ${slot.id} crashed while running "${plan.name}": ${slot.dead?.message ?? "it stopped"}`));
      if (slot.dead) { fail(); return; }
      onExit = () => setImmediate(fail); // after the "error" event has named the cause
      slot.worker.once("exit", onExit);
    });
    slot.worker.ref(); // a busy worker keeps the process alive; an idle one does not
    try {
      if (options.signal?.aborted) throw new Error("cancelled before it started");
      const module = await this.module!;
      const progress = options.onProgress ? Comlink.proxy(options.onProgress) : undefined;
      const packed = await Promise.race([slot.api.run(plan, module, progress, options.sliceEvents), died]);
      job.resolve(unpackResult(packed));
    } catch (e) {
      job.reject(e as Error);
    } finally {
      options.signal?.removeEventListener("abort", cancel);
      slot.worker.off("exit", onExit);
      slot.worker.unref();
      if (slot.dead) {
        this.started--; // replaced on demand by dispatch()
      } else if (this.closed) {
        void slot.worker.terminate();
      } else {
        this.idle.push(slot);
      }
      died.catch(() => {});
      this.dispatch();
    }
  }
}
