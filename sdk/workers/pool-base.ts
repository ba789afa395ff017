// What every worker pool does, whatever the platform: runs queued and handed to idle
// workers (started on demand, up to `size`), the engine compiled once and posted to
// each, cancellation passed on, results unpacked. A worker that dies fails only the
// run it held, with an error naming it, and is replaced on demand; the pool never
// waits on a dead worker. pool.ts (Node worker_threads) and browser-pool.ts (Web
// Workers) say how to start a worker, how to end one, and how its death shows.

import * as Comlink from "comlink";
import type { Result } from "../result.js";
import type { Progress } from "../run.js";
import type { Plan } from "../scenario.js";
import { checkPoolRunOptions, checkWorkers } from "../options.js";
import type { WorkerApi, WorkerRunSettings } from "./api.js";
import type { Part, PartResult } from "./pdes.js";
import { unpackResult, type PackedResult } from "./transfer.js";

export interface PoolRunOptions {
  onProgress?: (p: Progress) => void;
  signal?: AbortSignal;
  /** Events per engine call in the worker (progress comes between calls). */
  sliceEvents?: number;
  /** Bytes the worker's engine may grow to (RunOptions.memoryLimit); each shard of a sharded run has its own. */
  memoryLimit?: number;
  /** Milliseconds a plugin hook may take per batch in the worker (RunOptions.hookTimeout). */
  hookTimeout?: number;
  /**
   * Milliseconds a worker may go without reporting a slice before it is ended and its
   * run fails (a plugin hook that never returns, say). Default 60,000; 0: never.
   */
  stallTimeout?: number;
  /** Each slice's raw sample rows and engine counters (by Stat), for a result if the worker dies (runOnPool). */
  onCheckpoint?: (rows: Uint32Array, stats: number[]) => void;
  /**
   * runOnPool: a connected scenario of more estimated events than this is split over the
   * pool's workers in step (workers/pdes.ts; default 1e7, a second or two on one core: a
   * shorter run gains less than the workers' start and the windows cost), when its
   * windows (the smallest latency between parts) hold 500 events each on average.
   * 0: whenever it splits.
   */
  splitEvents?: number;
}

export interface PoolSlot { id: number; api: Comlink.Remote<WorkerApi>; dead?: Error }
/** How a job calls its worker: a whole plan (run), or a part of one split over workers (runPart). */
type Call = (api: Comlink.Remote<WorkerApi>, module: WebAssembly.Module, progress: ((p: Progress) => void) | undefined,
             settings: WorkerRunSettings, heartbeat: () => void, checkpoint: ((rows: Uint32Array, stats: number[]) => void) | undefined) => Promise<unknown>;
interface Job { plan: Plan; options: PoolRunOptions; call: Call; resolve(r: unknown): void; reject(e: Error): void }

export abstract class PoolBase<S extends PoolSlot> {
  readonly size: number;
  private readonly idle: S[] = [];
  private readonly queue: Job[] = [];
  private module?: Promise<WebAssembly.Module>;
  private started = 0;
  private nextId = 0;
  private closed = false;

  constructor(size: number) {
    this.size = checkWorkers(size);
  }

  /** The engine, compiled once for every worker of the pool. */
  protected abstract compile(): Promise<WebAssembly.Module>;
  protected abstract spawn(id: number): S;
  protected abstract end(slot: S): void;
  /** Calls `died` when the slot's worker dies; returns how to stop watching. */
  protected abstract watch(slot: S, died: () => void): () => void;
  /** The word for a worker's death in errors. */
  protected abstract readonly death: string;
  /** A busy worker may need to hold the process open (Node), an idle one not. */
  protected setBusy(_slot: S, _busy: boolean): void {}

  /** Runs one plan on the next free worker. Rejects (naming the worker) if that worker dies. */
  run(plan: Plan, options: PoolRunOptions = {}): Promise<Result> {
    return this.enqueue<PackedResult>(plan, options, (api, module, progress, settings, heartbeat, checkpoint) => api.run(plan, module, progress, settings, heartbeat, checkpoint))
      .then(unpackResult);
  }

  /**
   * Runs one part of a plan split over workers (pdes.ts): every part must be running at
   * once, so a split run takes at most `size` parts, on a pool running nothing else.
   */
  runPart(plan: Plan, part: Part, options: PoolRunOptions = {}): Promise<PartResult> {
    return this.enqueue<PartResult>(plan, options, (api, module, progress, settings, heartbeat) => api.runPart(plan, module, part, progress, settings, heartbeat));
  }

  private enqueue<T>(plan: Plan, options: PoolRunOptions, call: Call): Promise<T> {
    if (this.closed) return Promise.reject(new Error("the worker pool is closed"));
    try {
      checkPoolRunOptions(options);
    } catch (e) {
      return Promise.reject(e);
    }
    this.module ??= this.compile();
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ plan, options, call, resolve: resolve as (r: unknown) => void, reject });
      this.dispatch();
    });
  }

  /**
   * Starts workers (up to `count`, at most the pool's size) and the engine's compilation
   * now rather than at the first run: a sweep's workers boot while its points are checked.
   */
  warm(count = this.size): void {
    if (this.closed) return;
    this.module ??= this.compile();
    this.module.catch(() => {}); // a failed compilation fails the first run, which awaits it
    while (this.started < Math.min(count, this.size)) {
      this.started++;
      this.idle.push(this.spawn(this.nextId++));
    }
  }

  /** Ends the idle workers now and the busy ones when their run settles; queued runs are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new Error("the worker pool was closed"));
    for (const slot of this.idle.splice(0)) this.end(slot);
  }

  /** A worker that died while idle: forget it (a new one starts on demand). */
  protected forget(slot: S): void {
    const i = this.idle.indexOf(slot);
    if (i >= 0) { this.idle.splice(i, 1); this.started--; }
  }

  private dispatch(): void {
    while (this.queue.length > 0) {
      let slot = this.idle.pop();
      if (!slot) {
        if (this.started >= this.size) return;
        this.started++;
        slot = this.spawn(this.nextId++);
      }
      void this.execute(slot, this.queue.shift()!);
    }
  }

  private async execute(slot: S, job: Job): Promise<void> {
    const { plan, options } = job;
    const cancel = () => { void slot.api.cancel(); };
    options.signal?.addEventListener("abort", cancel);
    // comlink never settles a call whose worker died: race the call with the death.
    let unwatch = () => {};
    const died = new Promise<never>((_, reject) => {
      const fail = () => reject(new Error(`worker ${slot.id} ${this.death} while running "${plan.name}": ${slot.dead?.message ?? "it stopped"}`));
      if (slot.dead) fail();
      else unwatch = this.watch(slot, fail);
    });
    died.catch(() => {});
    // A worker reports every slice; one that falls silent is stuck (a synchronous hook
    // that never returns cannot be stopped from inside its thread): end it.
    const stallMs = options.stallTimeout ?? 60_000;
    let beat = Date.now();
    let stopWatchdog = () => {};
    const stalled = new Promise<never>((_, reject) => {
      if (stallMs <= 0) return;
      const check = setInterval(() => {
        if (Date.now() - beat < stallMs) return;
        slot.dead = new Error(`stopped answering for ${stallMs / 1000} s (a plugin hook that never returns?); ended`);
        this.end(slot);
        reject(new Error(`worker ${slot.id} ${slot.dead.message} while running "${plan.name}"`));
      }, Math.min(1000, Math.max(50, stallMs / 4)));
      stopWatchdog = () => clearInterval(check);
    });
    stalled.catch(() => {});
    this.setBusy(slot, true);
    try {
      if (options.signal?.aborted) throw new Error("cancelled before it started");
      const module = await this.module!;
      // Samples cross only for a caller who asked for progress; the beat always does.
      const progress = options.onProgress ? Comlink.proxy(options.onProgress) : undefined;
      const heartbeat = Comlink.proxy(() => { beat = Date.now(); });
      const checkpoint = options.onCheckpoint ? Comlink.proxy(options.onCheckpoint) : undefined;
      const settings = { sliceEvents: options.sliceEvents, memoryLimit: options.memoryLimit, hookTimeout: options.hookTimeout };
      job.resolve(await Promise.race([job.call(slot.api, module, progress, settings, heartbeat, checkpoint), died, stalled]));
    } catch (e) {
      job.reject(e as Error);
    } finally {
      stopWatchdog();
      options.signal?.removeEventListener("abort", cancel);
      unwatch();
      this.setBusy(slot, false);
      if (slot.dead) this.started--; // dispatch() starts a replacement when there is work
      else if (this.closed) this.end(slot);
      else this.idle.push(slot);
      this.dispatch();
    }
  }
}
