// The "engine core" benchmark: `npm run bench` (node scripts/build.mjs && node --expose-gc bench/run.mjs).
//
// 1. Macro: the tcp-churn workload at 1,000,000 connections, every one completing,
//    (a) through the SDK (dist/index.js runPlan, the built WASM engine) and
//    (b) through the TypeScript kernel (bench/ts-kernel/, the same algorithm over typed
//        arrays; bench/ts-kernel/check.mjs shows it produces identical counts), driven
//        the way runPlan drives the engine: configure(), run() in 1M-event slices, sample
//        rows read after every slice.
//    Events/s, segment events/s, connection lifecycles/s, bytes per socket slot,
//    peak RSS, and the WASM / TypeScript ratio.
// 2. Micro (npm `benchmark`): the TS kernel's timing wheel (schedule + pop with 40k
//    pending events) and 4-tuple hash (lookup hit; open + backward-shift close).
//
// Everything is measured in this one process, pinned to one core with taskset when it
// is available (the parent only re-executes itself under taskset and waits).
// Results: a table on stdout and bench/results/latest.json.
//
//   node --expose-gc bench/run.mjs [--quick] [--reps N] [--no-micro] [--no-pin]

import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync, readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { engineDrift, loadSdkInternals, loadTsKernel, ROOT } from "./ts-kernel/load.mjs";
import { churnScenario, warmScenario } from "./workload.mjs";

const args = process.argv.slice(2);
const QUICK = args.includes("--quick");
const REPS = args.includes("--reps") ? Number(args[args.indexOf("--reps") + 1]) : QUICK ? 1 : 3;
const MICRO = !args.includes("--no-micro");
const CONNECTIONS = QUICK ? 100_000 : 1_000_000;
const SLICE = 1_000_000; // runPlan's default sliceEvents

// ---- one core -------------------------------------------------------------------------
if (!args.includes("--no-pin") && !process.env.CONNSIM_BENCH_PINNED) {
  const cpu = process.env.BENCH_CPU ?? "0";
  const probe = spawnSync("taskset", ["-c", cpu, "true"]);
  if (probe.status === 0) {
    const r = spawnSync("taskset", ["-c", cpu, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: "inherit", env: { ...process.env, CONNSIM_BENCH_PINNED: cpu },
    });
    process.exit(r.status ?? 1);
  }
  console.warn("taskset not usable: running unpinned");
}
const pinned = process.env.CONNSIM_BENCH_PINNED ?? null;
const gc = globalThis.gc ?? (() => {});
if (!globalThis.gc) console.warn("run with --expose-gc for steadier memory figures");

// ---- the workload (bench/workload.mjs) ---------------------------------------------
export const BENCH_SCENARIO = churnScenario(CONNECTIONS);

// ---- helpers --------------------------------------------------------------------------
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const mem = () => { const m = process.memoryUsage(); return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, maxRSS: process.resourceUsage().maxRSS * 1024 }; };
const MB = (b) => (b / 1048576).toFixed(1) + " MB";
const fmt = (x, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });

function peakLiveFromStates(statesByName) {
  // Sum over the non-listening states per sample (a listener is not a socket slot).
  const names = Object.keys(statesByName).filter((n) => n !== "LISTEN" && n !== "CLOSED");
  const n = statesByName[names[0]].length;
  let peak = 0;
  for (let i = 0; i < n; i++) { let s = 0; for (const k of names) s += statesByName[k][i]; if (s > peak) peak = s; }
  return peak;
}

async function main() {
  const drift = await engineDrift();
  if (drift.length) console.warn(`note: assembly/ changed since the TS port (${drift.join(", ")}): run bench/ts-kernel/check.mjs`);
  const t0 = performance.now();
  const dist = await import(pathToFileURL(join(ROOT, "dist", "index.js")).href);
  const [sdk, ts] = await Promise.all([loadSdkInternals(), loadTsKernel()]);
  const { Stat } = sdk;
  const STATE_COUNT = 11, LISTEN = 1;
  const plan = dist.planScenario(BENCH_SCENARIO);
  const warmPlan = dist.planScenario(warmScenario(BENCH_SCENARIO));
  const wasmModule = await WebAssembly.compile(readFileSync(join(ROOT, "build", "engine.wasm")));
  const slotBytes = (await sdk.instantiateEngine(wasmModule)).socketSlotBytes();

  // (a) WASM through the SDK.
  async function runWasm(p) {
    const before = performance.now();
    const r = await dist.runPlan(p, { sliceEvents: SLICE });
    const callWall = (performance.now() - before) / 1000;
    if (r.error) throw new Error(`engine error: ${r.error}`);
    return {
      wall: r.engine.wallSeconds, callWall, events: r.engine.events, segmentEvents: r.engine.segmentEvents,
      attempted: r.totals.attempted, established: r.totals.established, completed: r.totals.completed,
      failed: r.totals.failed, segSent: r.totals.segments.sent, memoryBytes: r.engine.memoryBytes,
      peakLive: peakLiveFromStates(r.series.states), peakTimeWait: r.peak.TIME_WAIT,
    };
  }
  // (b) the TS kernel, driven as runPlan drives the engine (configure, slices, sample rows).
  const shim = { memory: { get buffer() { return ts.samplesView().buffer; } }, samplesPtr: () => 0,
    samplesCount: () => ts.samplesCount(), sampleRowWords: () => ts.sampleRowWords(), drainSamples: () => ts.drainSamples() };
  function runTs(p) {
    const started = performance.now();
    sdk.configure(ts, p);
    const rows = [];
    while (true) {
      const more = ts.run(SLICE);
      rows.push(...sdk.readSamples(shim, p.hosts.length));
      if (!more) break;
    }
    const wall = (performance.now() - started) / 1000;
    let peakLive = 0;
    for (const r of rows) {
      let s = 0;
      for (let i = 0; i < r.states.length; i++) if (i % STATE_COUNT !== LISTEN) s += r.states[i];
      if (s > peakLive) peakLive = s;
    }
    const st = (k) => ts.stat(Stat[k]);
    return {
      wall, callWall: wall, events: st("Events"), segmentEvents: st("SegmentEvents"),
      attempted: st("Attempted"), established: st("Established"), completed: st("Completed"),
      failed: { EADDRNOTAVAIL: st("EADDRNOTAVAIL"), ECONNREFUSED: st("ECONNREFUSED"), ETIMEDOUT: st("ETIMEDOUT"), ECONNRESET: st("ECONNRESET") },
      segSent: st("SegSent"), memoryBytes: ts.tableBytes(), peakLive, exactPeakLive: ts.peakLiveSockets(),
      capacity: st("SocketCapacity"),
    };
  }

  console.log(`connsim engine-core bench: ${fmt(CONNECTIONS)} connections, ${REPS} run(s) each, node ${process.version}, ` +
    `${os.cpus()[0]?.model ?? "cpu"}, ${pinned !== null ? `pinned to cpu ${pinned}` : "not pinned"}`);
  const runs = { wasm: [], ts: [] };
  const memory = {};
  // Warm-up (Liftoff -> TurboFan for the WASM, the JIT for the TS), then the first timed
  // run of each with a memory snapshot before the other engine has done a full run.
  gc(); await runWasm(warmPlan); gc();
  runs.wasm.push(await runWasm(plan)); memory.afterWasm = mem(); gc();
  runTs(warmPlan); gc();
  runs.ts.push(runTs(plan)); memory.afterTs = mem(); gc();
  for (let i = 1; i < REPS; i++) {
    runs.wasm.push(await runWasm(plan)); gc();
    runs.ts.push(runTs(plan)); gc();
  }

  // Same counts, or the comparison means nothing.
  const keys = ["events", "segmentEvents", "attempted", "established", "completed", "segSent", "peakLive"];
  for (const k of keys) {
    const vals = new Set([...runs.wasm, ...runs.ts].map((r) => r[k]));
    if (vals.size !== 1) throw new Error(`WASM and TS runs disagree on ${k}: ${[...vals].join(" vs ")}`);
  }
  const failedTotal = (r) => Object.values(r.failed).reduce((a, b) => a + b, 0);
  const summary = (rs) => {
    const r = rs[0];
    const walls = rs.map((x) => x.wall);
    const w = median(walls);
    return {
      runs: rs.length, wallSeconds: { median: w, min: Math.min(...walls), max: Math.max(...walls), all: walls },
      sdkCallSeconds: median(rs.map((x) => x.callWall)),
      events: r.events, segmentEvents: r.segmentEvents, attempted: r.attempted, established: r.established,
      completed: r.completed, failed: failedTotal(r), segmentsSent: r.segSent,
      eventsPerSecond: r.events / w, eventsPerSecondBest: r.events / Math.min(...walls),
      segmentEventsPerSecond: r.segmentEvents / w, lifecyclesPerSecond: r.completed / w,
      nsPerEvent: (w / r.events) * 1e9,
      memoryBytes: r.memoryBytes, peakLiveSockets: r.peakLive,
      bytesPerPeakSocket: r.memoryBytes / r.peakLive,
    };
  };
  const W = summary(runs.wasm), T = summary(runs.ts);
  T.exactPeakLiveSockets = runs.ts[0].exactPeakLive;
  T.socketCapacity = runs.ts[0].capacity;
  const ratio = W.eventsPerSecond / T.eventsPerSecond;

  // ---- micro benchmarks (TS kernel internals) --------------------------------------------
  let micro = [];
  if (MICRO) micro = await microBenchmarks(ts);

  // ---- report ---------------------------------------------------------------------------
  const rows = [
    ["", "WASM (SDK runPlan)", "TypeScript kernel"],
    ["wall, median of runs (s)", fmt(W.wallSeconds.median, 3), fmt(T.wallSeconds.median, 3)],
    ["wall, all runs (s)", W.wallSeconds.all.map((x) => x.toFixed(3)).join(" "), T.wallSeconds.all.map((x) => x.toFixed(3)).join(" ")],
    ["simulated events", fmt(W.events), fmt(T.events)],
    ["events / wall s", fmt(W.eventsPerSecond), fmt(T.eventsPerSecond)],
    ["ns / event", fmt(W.nsPerEvent, 1), fmt(T.nsPerEvent, 1)],
    ["segment events / wall s", fmt(W.segmentEventsPerSecond), fmt(T.segmentEventsPerSecond)],
    ["connection lifecycles / wall s", fmt(W.lifecyclesPerSecond), fmt(T.lifecyclesPerSecond)],
    ["attempted / completed / failed", `${fmt(W.attempted)} / ${fmt(W.completed)} / ${W.failed}`, `${fmt(T.attempted)} / ${fmt(T.completed)} / ${T.failed}`],
    ["segments sent", fmt(W.segmentsSent), fmt(T.segmentsSent)],
    ["bytes per socket slot (declared)", `${slotBytes} (socketSlotBytes())`, "64 (56 columns + 8 hash)"],
    ["engine memory", `${MB(W.memoryBytes)} linear memory`, `${MB(T.memoryBytes)} typed arrays`],
    ["peak live sockets (100 ms samples)", fmt(W.peakLiveSockets), `${fmt(T.peakLiveSockets)} (exact ${fmt(T.exactPeakLiveSockets)})`],
    ["engine memory / peak live socket", `${fmt(W.bytesPerPeakSocket)} B`, `${fmt(T.bytesPerPeakSocket)} B`],
    ["process RSS after its first run", MB(memory.afterWasm.rss), MB(memory.afterTs.rss)],
    ["process peak RSS (maxRSS) so far", MB(memory.afterWasm.maxRSS), MB(memory.afterTs.maxRSS)],
    ["WASM / TypeScript (events/s)", `${ratio.toFixed(2)}x (best runs: ${(W.eventsPerSecondBest / T.eventsPerSecondBest).toFixed(2)}x)`, ""],
  ];
  const w0 = Math.max(...rows.map((r) => r[0].length)), w1 = Math.max(...rows.map((r) => r[1].length));
  console.log("");
  for (const r of rows) console.log(`${r[0].padEnd(w0)}  ${r[1].padStart(w1)}  ${r[2]}`);
  if (micro.length) {
    console.log("\nmicro (TS kernel, npm benchmark)");
    const m0 = Math.max(...micro.map((m) => m.name.length));
    for (const m of micro) console.log(`${m.name.padEnd(m0)}  ${fmt(m.opsPerSecond).padStart(12)} ops/s  ${fmt(m.nsPerOp, 1).padStart(7)} ns/op  ±${m.rme.toFixed(1)}%  (${m.samples} samples)`);
  }
  const total = (performance.now() - t0) / 1000;
  console.log(`\nbench time ${total.toFixed(1)} s; results in bench/results/latest.json`);

  const out = {
    date: new Date().toISOString(),
    node: process.version, v8: process.versions.v8, cpu: os.cpus()[0]?.model, cpus: os.cpus().length, pinnedCpu: pinned,
    engineDriftSincePort: drift,
    scenario: BENCH_SCENARIO,
    wasm: { via: "dist/index.js runPlan (build/engine.wasm)", socketSlotBytes: slotBytes, ...W },
    typescript: { via: "bench/ts-kernel (esbuild bundle), configure + run slices + readSamples", socketSlotBytes: 63, ...T },
    ratioWasmOverTs: { eventsPerSecondMedian: ratio, eventsPerSecondBest: W.eventsPerSecondBest / T.eventsPerSecondBest },
    memory, micro, benchSeconds: total,
  };
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "latest.json"), JSON.stringify(out, null, 2) + "\n");
}

async function microBenchmarks(ts) {
  const { default: Benchmark } = await import("benchmark");
  const { wheel, sockets } = ts;
  const results = [];
  const N = 40_000; // about the churn workload's live population
  // A fixed mix of delays like the churn's: segments (500 us), RTO timers (~200 ms), TIME_WAIT (2 s).
  const DELAYS = new Float64Array(4096).map((_, i) => { const u = ((i * 2654435761) >>> 0) / 2 ** 32; return u < 0.7 ? 500 : u < 0.9 ? 200_000 + (i % 1000) : 2_000_000; });
  const suite = new Benchmark.Suite();
  const opts = { maxTime: QUICK ? 0.5 : 1.5, minSamples: 5 };

  let k = 0;
  suite.add("wheel: pop next + schedule one (40k pending)", function () {
    while (true) {
      if (!wheel.findNext()) throw new Error("wheel micro benchmark: the wheel ran empty");
      if (wheel.nextLevel > 0) { wheel.cascade(); continue; }
      const e = wheel.popDue();
      if (e === 0) continue;
      wheel.release(e);
      wheel.schedule(wheel.now + DELAYS[k++ & 4095], 1, e, 0);
      return;
    }
  }, { ...opts, onStart() { wheel.setDropHook(() => {}); wheel.wheelReset(65536); wheel.wheelHosts(1); for (let i = 0; i < N; i++) wheel.schedule(DELAYS[i & 4095] * ((i % 97) + 1) / 97, 1, i, 0); k = 0; } });

  const ports = new Uint16Array(N).map((_, i) => 1024 + i);
  const LA = 0x0A000001, RA = 0x0A000002;
  let j = 0, hits = 0;
  suite.add("hash: 4-tuple lookup, hit (40k live)", function () {
    const p = ports[(j = (j + 7919) % N)];
    if (sockets.lookup(LA, p, RA, 80) >= 0) hits++;
  }, { ...opts, onStart() { sockets.socketsReset(65536); for (let i = 0; i < N; i++) sockets.open(LA, ports[i], RA, 80, 0, 0, 0, i); } });

  const ring = new Uint32Array(N);
  let r = 0, next = 0;
  suite.add("hash: open + backward-shift close (40k live)", function () {
    sockets.close(ring[r]);
    ring[r] = sockets.open(LA, 1024 + (next++ % 64512), RA, 80, 0, 0, 0, next);
    r = r + 1 === N ? 0 : r + 1;
  }, { ...opts, onStart() { sockets.socketsReset(65536); r = 0; next = N; for (let i = 0; i < N; i++) ring[i] = sockets.open(LA, 1024 + i, RA, 80, 0, 0, 0, i); } });

  await new Promise((resolve) => {
    suite.on("cycle", (ev) => {
      const b = ev.target;
      results.push({ name: b.name, opsPerSecond: b.hz, nsPerOp: 1e9 / b.hz, rme: b.stats.rme, samples: b.stats.sample.length });
    }).on("complete", resolve).run({ async: false });
  });
  if (hits === 0) throw new Error("lookup benchmark found nothing");
  return results;
}

await main();
