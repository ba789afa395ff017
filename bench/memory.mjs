// Memory per live connection, and per-core speed (issue 19).
//
// 1. Live connections: a tcp-churn run that ends holding N connections in TIME_WAIT
//    (TIME_WAIT longer than the run, so none expires), for N = 10^5, 10^6, 3x10^6, 10^7.
//    One client address with the full ephemeral range, one server with D listening
//    ports (D odd, so that with the sequential allocator the k-th connection's tuple
//    (port k mod 64512, destination k mod D) repeats only after 64512 x D > N). For each N:
//    engine linear memory (WebAssembly.Memory's size, the figure the 4 GiB limit applies
//    to), bytes per live connection, ns of wall time per connection, and the engine's
//    breakdown by table when it reports one (tableBytes(k)).
// 2. Per-core speed: segment events/s and connection lifecycles/s on two loads, 1,000/s
//    over 1 ms links and 20,000/s over 500 us links (TIME_WAIT 60 s, every connection
//    completing).
//
//   node --expose-gc bench/memory.mjs [--quick] [--max N] [--speed-only] [--no-speed] [--engine FILE.wasm] [--no-pin]
//
// --quick: N up to 10^6; --max N: the largest N measured. Pinned to one core with
// taskset as bench/run.mjs is. Results: a table on stdout and bench/results/memory.json.

import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { loadSdkInternals, ROOT } from "./ts-kernel/load.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
if (!args.includes("--no-pin") && !process.env.CONNSIM_BENCH_PINNED) {
  const cpu = process.env.BENCH_CPU ?? "0";
  if (spawnSync("taskset", ["-c", cpu, "true"]).status === 0) {
    const r = spawnSync("taskset", ["-c", cpu, process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
      stdio: "inherit", env: { ...process.env, CONNSIM_BENCH_PINNED: cpu },
    });
    process.exit(r.status ?? 1);
  }
}
const gc = globalThis.gc ?? (() => {});
const MAX = Number(opt("--max", args.includes("--quick") ? 1e6 : 1e7));
const SIZES = [1e5, 1e6, 3e6, 1e7].filter((n) => n <= MAX);
const PORTS = 65535 - 1024 + 1;

/** A run that ends with `n` connections in TIME_WAIT on the client. */
export function liveScenario(n) {
  const rate = 200_000;
  let d = Math.ceil(n / PORTS) + 1; if (d % 2 === 0) d++;
  const listen = Array.from({ length: d }, (_, i) => ({ port: 10000 + i }));
  return {
    name: `live-${n}`, seed: 1, duration: `${n / rate + 1}s`, sample: "1s",
    hosts: {
      client: { ip: "10.0.0.1", ports: "1024-65535", portAllocator: "sequential", tcp: { timeWait: "3600s", maxTwBuckets: 2 * n } },
      server: { ip: "10.0.0.2", listen },
    },
    links: [{ between: ["client", "server"], latency: "500us" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: listen.map((l) => `server:${l.port}`), rate, arrival: "constant",
      request: 100, response: 1000, closer: "client", count: n }],
  };
}

/**
 * The per-core loads: `rate` connections/s over links of `latency`, every one completing,
 * Linux's TIME_WAIT of 60 s: rate x 60 s connections live in TIME_WAIT (1.2 M at
 * 20,000/s), over enough server ports that no connect() runs out of tuples.
 */
export function speedScenario(rate, latency, connections) {
  const listen = Array.from({ length: Math.ceil((rate * 61) / PORTS) }, (_, i) => ({ port: 10000 + i }));
  return {
    name: `speed-${rate}`, seed: 1, duration: `${connections / rate + 2}s`, sample: "1s",
    hosts: {
      client: { ip: "10.0.0.1", ports: "1024-65535", portAllocator: "sequential", tcp: { timeWait: "60s", maxTwBuckets: 10_000_000 } },
      server: { ip: "10.0.0.2", listen },
    },
    links: [{ between: ["client", "server"], latency }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: listen.map((l) => `server:${l.port}`), rate, arrival: "poisson",
      request: 100, response: 1000, closer: "client", count: connections }],
  };
}

const dist = await import(pathToFileURL(join(ROOT, "dist", "index.js")).href);
const wasmFile = opt("--engine", join(ROOT, "build", "engine.wasm"));
const engineModule = await WebAssembly.compile(readFileSync(wasmFile));
const fmt = (x, d = 0) => x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d });
const MiB = (b) => `${fmt(b / 2 ** 20, 1)} MiB`;

async function run(scenario) {
  gc();
  const plan = dist.planScenario(scenario);
  const t = performance.now();
  const r = await dist.runPlan(plan, { engineModule, sliceEvents: 1_000_000 });
  const wall = (performance.now() - t) / 1000;
  return { r, wall };
}

const out = { engine: wasmFile, node: process.version, live: [], speed: [] };
// The live runs drive the engine as runPlan does (configure, run in slices, samples drained
// after each), so that its memory and tables can be read when it ends.
const sdk = await loadSdkInternals();
const TABLES = ["slots", "hash", "compact TIME_WAIT", "TIME_WAIT FIFO", "timer events", "handed out", "given back, unused"];
async function runLive(n) {
  gc();
  const plan = sdk.planScenario(liveScenario(n));
  const e = await sdk.instantiateEngine(engineModule);
  const t = performance.now();
  sdk.configure(e, plan);
  let more = true;
  while (more) { more = e.run(1_000_000); sdk.readSamples(e, plan.hosts.length); }
  const wall = (performance.now() - t) / 1000;
  const st = (k) => e.stat(sdk.Stat[k]);
  const tables = typeof e.tableBytes === "function" ? Object.fromEntries(TABLES.map((k, i) => [k, e.tableBytes(i)])) : null;
  return { live: st("LiveSockets"), completed: st("Completed"), attempted: st("Attempted"), segmentEvents: st("SegmentEvents"),
    memoryBytes: e.memory.buffer.byteLength, wall, tables };
}
if (!args.includes("--speed-only")) {
  await runLive(100_000); // warm-up (Liftoff -> TurboFan)
  console.log(`live connections in TIME_WAIT, one worker (${wasmFile})`);
  console.log(["live", "engine memory", "B / live", "ns / connection", "segment events / s", "by table, B / live"].join(" | "));
  for (const n of SIZES) {
    const r = await runLive(n);
    if (r.completed !== n) throw new Error(`${n}: ${r.completed} connections completed`);
    const row = { n, live: r.live, memoryBytes: r.memoryBytes, bytesPerLive: r.memoryBytes / r.live,
      nsPerConnection: (r.wall / r.attempted) * 1e9, segmentEventsPerSecond: r.segmentEvents / r.wall, tables: r.tables };
    out.live.push(row);
    const tables = r.tables ? TABLES.slice(0, 5).map((k) => `${k} ${fmt(r.tables[k] / r.live, 1)}`).join(", ")
      + `; unused ${fmt((r.memoryBytes - r.tables["handed out"] + r.tables["given back, unused"]) / r.live, 1)}` : "-";
    console.log([fmt(r.live), MiB(r.memoryBytes), fmt(row.bytesPerLive, 1), fmt(row.nsPerConnection), fmt(row.segmentEventsPerSecond), tables].join(" | "));
  }
  // The largest count that fits in 4 GiB, at the largest N's bytes per live connection.
  const last = out.live.at(-1);
  if (last) { out.fitsIn4GiB = Math.floor(65535 * 65536 / last.bytesPerLive); console.log(`fits in 4 GiB at ${fmt(last.bytesPerLive, 1)} B each: about ${fmt(out.fitsIn4GiB / 1e6, 1)} M live`); }
}
if (!args.includes("--no-speed")) {
  console.log("\nper-core speed (tcp-churn, TIME_WAIT 60 s, medians of 3)");
  for (const [rate, latency, conns] of [[1000, "1ms", 200_000], [20_000, "500us", 1_000_000]]) {
    const s = speedScenario(rate, latency, args.includes("--quick") ? conns / 4 : conns);
    await run({ ...s, workloads: [{ ...s.workloads[0], count: Math.min(20_000, s.workloads[0].count) }], duration: "22s" });
    const reps = [];
    for (let i = 0; i < 3; i++) reps.push(await run(s));
    const med = (f) => reps.map(f).sort((a, b) => a - b)[1];
    if (reps[0].r.totals.completed !== s.workloads[0].count) throw new Error(`${rate}/s: ${reps[0].r.totals.completed} of ${s.workloads[0].count} completed`);
    const row = {
      rate, latency, connections: reps[0].r.totals.completed,
      segmentEventsPerSecond: med((x) => x.r.engine.segmentEvents / x.r.engine.wallSeconds),
      lifecyclesPerSecond: med((x) => x.r.totals.completed / x.r.engine.wallSeconds),
      eventsPerSecond: med((x) => x.r.engine.events / x.r.engine.wallSeconds),
      peakTimeWait: reps[0].r.peak.TIME_WAIT, memoryBytes: reps[0].r.engine.memoryBytes,
    };
    out.speed.push(row);
    console.log(`${fmt(rate)}/s, ${latency} links: ${fmt(row.segmentEventsPerSecond / 1e6, 2)} M segment events/s, `
      + `${fmt(row.lifecyclesPerSecond)} lifecycles/s (${fmt(row.connections)} connections, peak TIME_WAIT ${fmt(row.peakTimeWait)}, ${MiB(row.memoryBytes)})`);
  }
}
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "memory.json"), JSON.stringify(out, null, 2) + "\n");
