// A pool of browser module Web Workers, each hosting the engine behind comlink
// (sdk/workers/api.ts); the queueing, cancellation and fault handling are
// pool-base.ts's. The engine is fetched and compiled once here; a worker's death shows
// as its "error" or "messageerror" event.

import * as Comlink from "comlink";
import type { Result } from "../result.js";
import type { Plan } from "../scenario.js";
import type { WorkerApi } from "./api.js";
import { runOnPool } from "./parallel.js";
import { PoolBase, type PoolRunOptions, type PoolSlot } from "./pool-base.js";

export type { PoolRunOptions };

export interface BrowserPoolOptions {
  /** Web Workers; default navigator.hardwareConcurrency. */
  workers?: number;
  /** Where the page serves dist/browser/worker.js; default worker.js beside the module that holds this class. */
  workerUrl?: URL | string;
  /** Where the page serves the engine; default engine.wasm beside the module that holds this class (the package ships it in dist/browser/). */
  engineUrl?: URL | string;
}

interface Slot extends PoolSlot { worker: Worker; onDeath?: () => void }

export class BrowserPool extends PoolBase<Slot> {
  protected readonly death = "failed";

  constructor(private readonly options: BrowserPoolOptions = {}) {
    super(options.workers ?? (navigator.hardwareConcurrency || 1));
  }

  protected compile(): Promise<WebAssembly.Module> {
    // Beside the bundle that holds this class (dist/browser/connsim.js); Vite and webpack follow new URL(..., import.meta.url) too.
    return compileEngine(this.options.engineUrl ?? new URL("./engine.wasm", import.meta.url));
  }

  protected spawn(id: number): Slot {
    const worker = new Worker(this.options.workerUrl ?? new URL("./worker.js", import.meta.url), { type: "module", name: `connsim-${id}` });
    const slot: Slot = { id, worker, api: Comlink.wrap<WorkerApi>(worker) };
    // "error": the script failed to load or threw; "messageerror": a reply that cannot be
    // read. Either way comlink would never answer, so the worker goes.
    const onFailure = (event: Event) => {
      event.preventDefault(); // handled here: not reported again as the page's own error
      if (slot.dead) return;
      slot.dead = new Error(event instanceof ErrorEvent && event.message ? event.message
        : event.type === "messageerror" ? "it sent a message that could not be read" : "its script did not load");
      worker.terminate();
      this.forget(slot);
      slot.onDeath?.();
    };
    worker.addEventListener("error", onFailure);
    worker.addEventListener("messageerror", onFailure);
    return slot;
  }

  protected end(slot: Slot): void {
    slot.worker.terminate();
  }

  protected watch(slot: Slot, died: () => void): () => void {
    slot.onDeath = died;
    return () => { slot.onDeath = undefined; };
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
