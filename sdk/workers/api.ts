// What a worker offers through comlink, the same in Node worker_threads and browser Web
// Workers: run one plan on an engine module the main thread compiled and posted (so
// nothing here reads files or knows which platform it is on), report progress per
// slice, stop at the next slice when cancelled.

import * as Comlink from "comlink";
import { runPlan, type Progress, type RunOptions } from "../run.js";
import type { Plan } from "../scenario.js";
import { packResult, type PackedResult } from "./transfer.js";

/** The RunOptions a worker's run takes from the pool. */
export type WorkerRunSettings = Pick<RunOptions, "sliceEvents" | "memoryLimit" | "hookTimeout">;

export interface WorkerApi {
  run(plan: Plan, module: WebAssembly.Module, onProgress?: (p: Progress) => void, settings?: WorkerRunSettings,
      heartbeat?: () => void): Promise<PackedResult>;
  cancel(): void;
}

export function workerApi(): WorkerApi {
  let abort = new AbortController();
  return {
    async run(plan, module, onProgress, settings, heartbeat) {
      abort = new AbortController();
      // A proxied callback answers on its own port: wait for the last report to be
      // taken before the result goes back, so no sample arrives after the result.
      let delivered: unknown = undefined;
      const report = onProgress && ((p: Progress) => { delivered = onProgress(p); });
      const result = await runPlan(plan, { engineModule: module, onProgress: report, onSlice: heartbeat, signal: abort.signal, ...settings });
      await delivered;
      const packed = packResult(result);
      return Comlink.transfer(packed, [packed.columns.buffer]);
    },
    cancel() {
      abort.abort();
    },
  };
}
