// The CLI's side of the queue, imported only when `sweep --queue` or `worker` is used,
// so a plain run never loads bullmq: the progress of a queued sweep, and the worker
// command's signals.

import { availableParallelism } from "node:os";
import { LIMITS, wholeFlag } from "../options.js";
import { visible } from "../units.js";
import type { SweepOptions, SweepRow, Vary } from "../workers/sweep.js";
import { parseQueueUrl, parseResultsUrl } from "./job.js";
import { runQueuedSweep, type QueueProgress } from "./submit.js";
import { startQueueWorker } from "./worker.js";

/**
 * `sweep --queue URL`: runSweep's counterpart (its pool and onRun unused), with a
 * progress bar on stderr over jobs done, running and failed (redrawn in place on a
 * terminal, a line every 5 s otherwise). Ctrl-C leaves the jobs queued: the same
 * command picks the sweep up again.
 */
export function queuedSweep(flags: { queue?: string; results?: string; quiet?: boolean }, err: NodeJS.WritableStream) {
  const target = parseQueueUrl(flags.queue!);
  if (flags.results !== undefined) parseResultsUrl(flags.results);
  return async (scenario: unknown, varies: Vary[], _pool: unknown, options: SweepOptions): Promise<SweepRow[]> => {
    const tty = (err as NodeJS.WriteStream).isTTY === true;
    let drawn = false;
    let lastLine = 0;
    let lastText = "";
    const clear = () => { if (drawn) err.write("\r\x1b[K"); drawn = false; };
    const progress = (p: QueueProgress) => {
      const text = `${p.done}/${p.total} done, ${p.running} running, ${p.failed} failed`;
      if (tty) {
        const width = 30;
        const filled = Math.round(((p.done + p.failed) / p.total) * width);
        err.write(`\r[${"#".repeat(filled).padEnd(width, ".")}] ${text} on ${target.shown}\x1b[K`);
        drawn = true;
      } else if (text !== lastText && (performance.now() - lastLine >= 5000 || p.done + p.failed === p.total)) {
        err.write(`connsim: ${text}\n`);
        lastLine = performance.now();
        lastText = text;
      }
    };
    const onSigint = () => {
      clear();
      err.write(`\nconnsim: the sweep's jobs stay on ${target.shown}; the same command picks it up again\n`);
      process.exit(130);
    };
    process.once("SIGINT", onSigint);
    try {
      return await runQueuedSweep(scenario, varies, {
        target, seed: options.seed, plugins: options.plugins, baseDir: options.baseDir, onPlanned: options.onPlanned,
        ...(flags.results ? { results: flags.results } : {}),
        onProgress: flags.quiet ? undefined : progress,
        onNote: (line) => { clear(); err.write(`connsim: ${visible(line)}\n`); },
      });
    } finally {
      process.off("SIGINT", onSigint);
      clear();
    }
  };
}

/**
 * `connsim worker --queue URL [--concurrency N]`: runs jobs until SIGINT or SIGTERM,
 * then takes no more and lets the running ones finish; a second signal stops them and
 * gives them back to the queue.
 */
export async function workerCommand(flags: { queue?: string; concurrency?: string }, err: NodeJS.WritableStream): Promise<number> {
  const target = parseQueueUrl(flags.queue!);
  const concurrency = wholeFlag("--concurrency", flags.concurrency, LIMITS.workers) ?? Math.min(availableParallelism(), LIMITS.workers[1]);
  const say = (line: string) => err.write(`connsim worker: ${visible(line)}\n`);
  const worker = await startQueueWorker({ target, concurrency, log: say });
  say(`${worker.name} takes jobs from ${target.shown}, ${concurrency} at a time (Ctrl-C to stop)`);
  let signals = 0;
  const onSignal = (name: string) => {
    signals++;
    if (signals === 1) say(`${name}: finishing the running jobs (again to give them back to the queue)`);
    else say(`${name}: giving the running jobs back to the queue`);
    void worker.stop(signals > 1);
  };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((s) => [s, () => onSignal(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    const { completed, failed } = await worker.closed;
    say(`stopped after ${completed} job${completed === 1 ? "" : "s"} done${failed ? `, ${failed} failed` : ""}`);
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
  return 0;
}
