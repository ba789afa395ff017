// What a worker offers through comlink, the same in Node worker_threads and browser Web
// Workers: run one plan on an engine module the main thread compiled and posted (so
// nothing here reads files or knows which platform it is on), report progress per
// slice, stop at the next slice when cancelled.

import * as Comlink from "comlink";
import { Stat } from "../../assembly/abi.js";
import { runPlan, simulate, type Progress, type RunOptions } from "../run.js";
import { PartWindows, type Part, type PartResult } from "./pdes.js";
import type { Plan } from "../scenario.js";
import { packResult, type PackedResult } from "./transfer.js";

/** The RunOptions a worker's run takes from the pool. */
export type WorkerRunSettings = Pick<RunOptions, "sliceEvents" | "memoryLimit" | "hookTimeout">;

export interface WorkerApi {
  run(plan: Plan, module: WebAssembly.Module, onProgress?: (p: Progress) => void, settings?: WorkerRunSettings,
      heartbeat?: () => void, checkpoint?: (rows: Uint32Array, stats: number[]) => void): Promise<PackedResult>;
  /** Runs one part of a plan split over workers (pdes.ts): its hosts, windows in step with the other parts. */
  runPart(plan: Plan, module: WebAssembly.Module, part: Part, onProgress?: (p: Progress) => void, settings?: WorkerRunSettings,
          heartbeat?: () => void): Promise<PartResult>;
  cancel(): void;
}

export function workerApi(): WorkerApi {
  let abort = new AbortController();
  return {
    async run(plan, module, onProgress, settings, heartbeat, checkpoint) {
      abort = new AbortController();
      // A proxied callback answers on its own port: wait for the last report to be
      // taken before the result goes back, so no sample arrives after the result.
      let delivered: unknown = undefined;
      const report = onProgress && ((p: Progress) => { delivered = onProgress(p); });
      // Each slice's rows and counters go back as they come: if this worker dies, they are its result.
      const onSlice = (rows: Uint32Array, stat: (k: Stat) => number) => {
        heartbeat?.();
        checkpoint?.(rows, Array.from({ length: Stat.COUNT }, (_, k) => stat(k)));
      };
      const result = await runPlan(plan, { engineModule: module, onProgress: report, signal: abort.signal, ...settings, onSlice });
      await delivered;
      const packed = packResult(result);
      return Comlink.transfer(packed, [packed.columns.buffer]);
    },
    async runPart(plan, module, part, onProgress, settings, heartbeat) {
      abort = new AbortController();
      let delivered: unknown = undefined;
      const report = onProgress && ((p: Progress) => { delivered = onProgress(p); });
      const windows = new PartWindows(part, plan, heartbeat && (() => { void heartbeat(); }));
      const sim = await simulate(plan, { engineModule: module, onProgress: report, signal: abort.signal, ...settings, windows, onSlice: () => { void heartbeat?.(); } });
      await delivered;
      const words = sim.samples.blocks.reduce((n, b) => n + b.length, 0);
      const rows = new Uint32Array(words);
      let o = 0;
      for (const b of sim.samples.blocks) { rows.set(b, o); o += b.length; }
      const result: PartResult = {
        rows, windows: windows.windows, crossed: windows.crossed, stats: Array.from({ length: Stat.COUNT }, (_, k) => sim.e.stat(k)), records: sim.records, dirs: sim.dirs,
        wallSeconds: sim.wallSeconds, simulatedUs: sim.simulatedUs, ...(sim.error ? { error: sim.error } : {}),
      };
      return Comlink.transfer(result, [rows.buffer]);
    },
    cancel() {
      abort.abort();
    },
  };
}
