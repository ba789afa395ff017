// The worker pool bench: `npm run bench` runs it after bench/run.mjs.
//
// A sweep of 8 runs (the churn workload, 150,000 connections each, seeds 1-8) three
// ways in this one process: in the main thread one after another, on a pool of 1
// worker, and on a pool of 2. Reports the 2-vs-1 speed-up (the goal on a 2-core
// machine: 1.8 or more), the fixed cost a worker adds to each run (a tiny scenario on
// a warm worker against the same in this thread), and the cost of starting a worker
// (spawn, load, a first tiny run).
// Results: a table on stdout and bench/results/pool.json.
//
//   node bench/pool.mjs [--runs N] [--connections N]

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./ts-kernel/load.mjs";
import { churnScenario } from "./workload.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const RUNS = opt("--runs", 8);
const CONNECTIONS = opt("--connections", 150_000);

const sdk = await import(pathToFileURL(join(ROOT, "dist", "index.js")).href);
// The engine bench's workload (bench/workload.mjs), one seed per run of the sweep.
const scenario = (seed) => ({ ...churnScenario(CONNECTIONS), name: `sweep-${seed}`, seed });
const plans = Array.from({ length: RUNS }, (_, i) => sdk.planScenario(scenario(i + 1)));
const seconds = (t0) => (performance.now() - t0) / 1000;

// Warm the in-thread engine (V8 tiers WASM up between calls).
await sdk.runPlan(plans[0]);

let t0 = performance.now();
const inThread = [];
for (const p of plans) inThread.push(await sdk.runPlan(p));
const mainSeconds = seconds(t0);

async function onPool(workers) {
  const pool = new sdk.WorkerPool({ workers });
  const startAt = performance.now();
  await Promise.all(Array.from({ length: workers }, () => pool.run(sdk.planScenario({ ...scenario(99), duration: "10ms" }))));
  const startup = seconds(startAt);
  await Promise.all(Array.from({ length: workers }, () => pool.run(plans[0]))); // warm each worker's engine
  const t = performance.now();
  const results = await Promise.all(plans.map((p) => pool.run(p)));
  const wall = seconds(t);
  // The fixed cost of a run on a warm worker: post the plan, instantiate, run a tiny
  // scenario, transfer the result back; against the same tiny run in this thread.
  const tiny = sdk.planScenario({ ...scenario(7), duration: "5ms" });
  let tw = performance.now();
  for (let i = 0; i < 50; i++) await pool.run(tiny);
  const tinyWorker = seconds(tw) / 50;
  tw = performance.now();
  for (let i = 0; i < 50; i++) await sdk.runPlan(tiny);
  const tinyMain = seconds(tw) / 50;
  await pool.close();
  results.forEach((r, i) => {
    if (r.totals.completed !== inThread[i].totals.completed || r.engine.events !== inThread[i].engine.events) {
      throw new Error(`run ${i} on ${workers} workers differs from the main thread's`);
    }
  });
  return { wall, startup, tinyWorker, tinyMain };
}
const one = await onPool(1);
const two = await onPool(2);

const speedup = one.wall / two.wall;
const overheadPerRun = one.tinyWorker - one.tinyMain;
const rows = [
  ["", "wall (s)", "per run (s)"],
  [`${RUNS} runs in the main thread`, mainSeconds.toFixed(3), (mainSeconds / RUNS).toFixed(3)],
  [`${RUNS} runs on 1 worker`, one.wall.toFixed(3), (one.wall / RUNS).toFixed(3)],
  [`${RUNS} runs on 2 workers`, two.wall.toFixed(3), (two.wall / RUNS).toFixed(3)],
];
console.log(`\nconnsim pool bench: ${RUNS} runs of ${CONNECTIONS.toLocaleString("en-US")} connections, ${os.cpus().length} cores, node ${process.version}`);
for (const r of rows) console.log(`${r[0].padEnd(28)}${r[1].padStart(10)}${r[2].padStart(13)}`);
console.log(`speed-up, 2 workers vs 1:      ${speedup.toFixed(2)}x`);
console.log(`a worker's cost per run:       ${(overheadPerRun * 1000).toFixed(2)} ms (a 5 ms scenario: ${(one.tinyWorker * 1000).toFixed(2)} ms on a warm worker, ${(one.tinyMain * 1000).toFixed(2)} ms in this thread)`);
console.log(`starting 1 / 2 workers:        ${(one.startup * 1000).toFixed(0)} / ${(two.startup * 1000).toFixed(0)} ms (spawn, load, a first tiny run)`);

mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "pool.json"), JSON.stringify({
  date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, runs: RUNS, connections: CONNECTIONS,
  mainThreadSeconds: mainSeconds, oneWorkerSeconds: one.wall, twoWorkersSeconds: two.wall, speedup,
  workerOverheadPerRunSeconds: overheadPerRun, startupSeconds: { one: one.startup, two: two.startup },
}, null, 2) + "\n");
