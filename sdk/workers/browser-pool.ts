// A pool of browser module Web Workers, each hosting the engine behind comlink
// (sdk/workers/api.ts), shaped like Node's WorkerPool (sdk/workers/pool.ts). The engine
// is fetched and compiled once here and the module posted to every worker. A worker
// that reports an error fails the run it held, with a message naming it, and is
// replaced; an idle one is simply dropped.

import * as Comlink from "comlink";
import type { Result } from "../result.js";
import type { Plan } from "../scenario.js";
import type { WorkerApi } from "./api.js";
import { runOnPool } from "./parallel.js";
import type { PoolRunOptions } from "./pool.js";
import { unpackResult } from "./transfer.js";

export type { PoolRunOptions };

export interface BrowserPoolOptions {
  /** Web Workers; default navigator.hardwareConcurrency. */
  workers?: number;
  /** Where the page serves dist/browser/worker.js. */
  workerUrl: URL | string;
  /** Where the page serves build/engine.wasm. */
  engineUrl: URL | string;
}

interface Slot { id: number; worker: Worker; api: Comlink.Remote<WorkerApi>; dead?: Error; fail?(e: Error): void }
interface Job { plan: Plan; options: PoolRunOptions; resolve(r: Result): void; reject(e: Error): void }

export class BrowserPool {
  readonly size: number;
  private readonly idle: Slot[] = [];
  private readonly queue: Job[] = [];
  private module?: Promise<WebAssembly.Module>;
  private started = 0;
  private nextId = 0;
  private closed = false;

  constructor(private readonly options: BrowserPoolOptions) {
    this.size = Math.max(1, options.workers ?? (navigator.hardwareConcurrency || 1));
  }

  /** Runs one plan on the next free worker. Rejects (naming the worker) if that worker fails. */
  run(plan: Plan, options: PoolRunOptions = {}): Promise<Result> {
    if (this.closed) return Promise.reject(new Error("the worker pool is closed"));
    this.module ??= compileEngine(this.options.engineUrl);
    return new Promise((resolve, reject) => {
      this.queue.push({ plan, options, resolve, reject });
      this.dispatch();
    });
  }

  /** Ends the idle workers now and the busy ones when their run settles; queued runs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error("the worker pool was closed"));
    for (const slot of this.idle.splice(0)) slot.worker.terminate();
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.idle.pop();
      if (!slot) {
        if (this.started >= this.size) return;
        slot = this.spawn();
      }
      void this.execute(slot, this.queue.shift()!);
    }
  }

  private spawn(): Slot {
    this.started++;
    const id = this.nextId++;
    const worker = new Worker(this.options.workerUrl, { type: "module", name: `connsim-${id}` });
    const slot: Slot = { id, worker, api: Comlink.wrap<WorkerApi>(worker) };
    // "error": the script failed to load or threw; "messageerror": a reply that cannot be
    // read. Either way comlink would never answer, so the worker goes.
    const onFailure = (event: Event) => {
      event.preventDefault(); // handled here: not reported again as the page's own error
      if (slot.dead) return;
      slot.dead = new Error(event instanceof ErrorEvent && event.message ? event.message
        : event.type === "messageerror" ? "it sent a message that could not be read" : "its script did not load");
      worker.terminate();
      this.started--;
      const i = this.idle.indexOf(slot);
      if (i >= 0) this.idle.splice(i, 1);
      slot.fail?.(slot.dead);
    };
    worker.addEventListener("error", onFailure);
    worker.addEventListener("messageerror", onFailure);
    return slot;
  }

  private async execute(slot: Slot, job: Job): Promise<void> {
    const { plan, options } = job;
    const cancel = () => { void slot.api.cancel(); };
    options.signal?.addEventListener("abort", cancel);
    const failed = new Promise<never>((_, reject) => {
      slot.fail = (e) => reject(new Error(`worker ${slot.id} failed while running "${plan.name}": ${e.message}`));
    });
    failed.catch(() => {});
    try {
      if (options.signal?.aborted) throw new Error("cancelled before it started");
      const module = await this.module!;
      const progress = options.onProgress ? Comlink.proxy(options.onProgress) : undefined;
      const packed = await Promise.race([slot.api.run(plan, module, progress, options.sliceEvents), failed]);
      job.resolve(unpackResult(packed));
    } catch (e) {
      job.reject(e as Error);
    } finally {
      options.signal?.removeEventListener("abort", cancel);
      slot.fail = undefined;
      if (slot.dead) {
        // spawn()'s handler already let it go; dispatch() starts a replacement
      } else if (this.closed) {
        slot.worker.terminate();
      } else {
        this.idle.push(slot);
      }
      this.dispatch();
    }
  }
}

/** A plan on the pool, split over its workers when the scenario's host groups are independent. */
export function runOnBrowserPool(plan: Plan, pool: BrowserPool, options: PoolRunOptions = {}): Promise<Result> {
  return runOnPool(plan, pool, options);
}

async function compileEngine(url: URL | string): Promise<WebAssembly.Module> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`cannot fetch the engine from ${url}: ${(e as Error).message}`);
  }
  if (!response.ok) throw new Error(`cannot fetch the engine from ${url}: HTTP ${response.status}`);
  return WebAssembly.compile(await response.arrayBuffer());
}
