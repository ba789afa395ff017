// A pool of Node worker threads, each hosting the engine behind comlink (api.ts), over
// comlink's Node adapter; the queueing, cancellation and fault handling are
// pool-base.ts's. A worker's death shows as its "exit" event.

import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import * as Comlink from "comlink";
import nodeEndpoint from "comlink/dist/esm/node-adapter.mjs";
import { compileEngine } from "../engine.js";
import { defaultEngineBytes } from "../run.js";
import type { WorkerApi } from "./api.js";
import { PoolBase, type PoolSlot } from "./pool-base.js";

export interface PoolOptions {
  /** Worker threads; default the number of cores. */
  workers?: number;
  /** The worker's module (default dist/node-worker.js) and its workerData: for fault-injection tests. */
  workerUrl?: URL;
  workerData?: unknown;
}

export type { PoolRunOptions } from "./pool-base.js";

/** dist/node-worker.js beside the bundle this module is part of, or ../../dist from the sources. */
function defaultWorkerUrl(): URL {
  for (const rel of ["./node-worker.js", "../../dist/node-worker.js"]) {
    const url = new URL(rel, import.meta.url);
    if (existsSync(fileURLToPath(url))) return url;
  }
  throw new Error("dist/node-worker.js is missing; run npm run build");
}

export class WorkerPool extends PoolBase<PoolSlot> {
  private readonly url: URL;
  // Each slot's thread, kept private so Node's types stay out of the package's declarations.
  private readonly threads = new Map<PoolSlot, Worker>();
  protected readonly death = "crashed";

  constructor(private readonly options: PoolOptions = {}) {
    super(options.workers ?? availableParallelism());
    this.url = options.workerUrl ?? defaultWorkerUrl();
  }

  protected compile(): Promise<WebAssembly.Module> {
    return compileEngine("release", () => defaultEngineBytes("release"));
  }

  protected spawn(id: number): PoolSlot {
    const worker = new Worker(this.url, { workerData: this.options.workerData });
    const slot: PoolSlot = { id, api: Comlink.wrap<WorkerApi>(nodeEndpoint(worker)) };
    this.threads.set(slot, worker);
    worker.on("error", (e) => { slot.dead ??= e; });
    worker.on("exit", (code) => { slot.dead ??= new Error(`exited with code ${code}`); this.threads.delete(slot); this.forget(slot); });
    worker.unref(); // an idle worker does not keep the process alive
    return slot;
  }

  protected end(slot: PoolSlot): void {
    void this.threads.get(slot)?.terminate();
  }

  protected watch(slot: PoolSlot, died: () => void): () => void {
    const worker = this.threads.get(slot);
    const onExit = () => setImmediate(died); // after the "error" event has named the cause
    worker?.once("exit", onExit);
    return () => worker?.off("exit", onExit);
  }

  protected setBusy(slot: PoolSlot, busy: boolean): void {
    const worker = this.threads.get(slot);
    if (busy) worker?.ref(); else worker?.unref();
  }
}
