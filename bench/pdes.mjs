// One connected scenario over several workers (sdk/workers/pdes.ts): two client fleets
// and two server groups, all joined. Fleet A (--clients hosts) talks to server group 1,
// fleet B to group 2, over 500 us links; a fraction (--cross) of each fleet's
// connections goes to the other group over 2 ms links, so every host is joined to every
// other. The churn workload of bench/workload.mjs (Poisson arrivals, 100-byte request,
// 1000-byte response, client closes, TIME_WAIT 2 s), --rate connections a second in all,
// for --duration simulated seconds. Each case runs on a pool of 1 worker (the whole
// scenario in one) and of 2 (and --workers N) from a warm pool, medians of --runs:
// wall time, the speed-up against 1 worker, the windows the parts ran in step and the
// segments that crossed between parts, and whether the JSON equals the 1-worker JSON.
// The machine's load average is printed with the figures: on a shared machine they move.
// Results: a table on stdout and bench/results/pdes.json.
//
//   node bench/pdes.mjs [--clients 20] [--rate 40000] [--duration 10] [--cross 0.1,0.5] [--workers 2] [--runs 3]

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./ts-kernel/load.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const CLIENTS = Number(opt("--clients", "20"));
const RATE = Number(opt("--rate", "40000"));
const DURATION = Number(opt("--duration", "10"));
const CROSS = opt("--cross", "0.1,0.5").split(",").map(Number);
const WORKERS = opt("--workers", "2").split(",").map(Number);
const RUNS = Number(opt("--runs", "3"));

const sdk = await import(pathToFileURL(join(ROOT, "dist", "index.js")).href);

function scenario(cross) {
  const per = RATE / 2 / CLIENTS; // each client's connections a second
  const churn = { plugin: "tcp-churn", arrival: "poisson", request: 100, response: 1000, closer: "client" };
  return {
    name: "two-fleets", seed: 1, duration: `${DURATION}s`, sample: "1s",
    hosts: {
      a: { ip: "10.1.0.1", count: CLIENTS, ports: "1024-65535", tcp: { timeWait: "2s" } },
      b: { ip: "10.2.0.1", count: CLIENTS, ports: "1024-65535", tcp: { timeWait: "2s" } },
      s: { ip: "10.8.0.1", count: 2, listen: [{ port: 80, backlog: 4096 }] },
      t: { ip: "10.9.0.1", count: 2, listen: [{ port: 80, backlog: 4096 }] },
    },
    links: [
      { between: ["a", "s"], latency: "500us" }, { between: ["b", "t"], latency: "500us" },
      { between: ["a", "t"], latency: "2ms" }, { between: ["b", "s"], latency: "2ms" },
    ],
    workloads: [
      { ...churn, from: "a", to: "s:80", rate: per * (1 - cross) }, { ...churn, from: "a", to: "t:80", rate: per * cross },
      { ...churn, from: "b", to: "t:80", rate: per * (1 - cross) }, { ...churn, from: "b", to: "s:80", rate: per * cross },
    ],
  };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const comparable = (r) => { const { workers, wallSeconds, memoryBytes, split, ...engine } = r.engine; return JSON.stringify({ ...r, engine }); };

const rows = [];
for (const cross of CROSS) {
  const plan = sdk.planScenario(scenario(cross));
  const base = { times: [] };
  const pools = new Map([1, ...WORKERS].map((n) => [n, new sdk.WorkerPool({ workers: n })]));
  for (const pool of pools.values()) await sdk.runOnPool({ ...plan, duration: 100_000 }, pool, { splitEvents: 0 }); // warm: workers started, engine compiled
  const results = new Map();
  for (let run = 0; run < RUNS; run++) {
    for (const [n, pool] of pools) {
      const t0 = performance.now();
      const r = await sdk.runOnPool(plan, pool, { splitEvents: 0 });
      const ms = performance.now() - t0;
      if (r.error) throw new Error(`${n} workers: ${r.error}`);
      if (!results.has(n)) results.set(n, { times: [], result: r });
      results.get(n).times.push(ms);
    }
  }
  for (const pool of pools.values()) await pool.close();
  const one = results.get(1);
  for (const [n, { times, result }] of results) {
    rows.push({
      cross, workers: n, wallMs: Math.round(median(times)), speedup: n === 1 ? 1 : +(median(one.times) / median(times)).toFixed(2),
      events: result.engine.events, windows: result.engine.split?.windows ?? 0, lookaheadUs: result.engine.split?.lookaheadUs ?? 0,
      crossing: result.engine.split?.crossingSegments ?? 0, sameJson: comparable(result) === comparable(one.result),
    });
  }
  void base;
}

const load = os.loadavg().map((x) => +x.toFixed(2));
console.log(`two client fleets of ${CLIENTS} and two server groups of 2, all joined; ${RATE}/s for ${DURATION} s; load ${load.join(" ")}`);
console.log("cross  workers  wall ms  speed-up  events       windows  window us  crossing segs  same JSON");
for (const r of rows) {
  console.log(`${String(r.cross).padEnd(6)} ${String(r.workers).padEnd(8)} ${String(r.wallMs).padEnd(8)} ${String(r.speedup + "x").padEnd(9)} ${String(r.events).padEnd(12)} ${String(r.windows).padEnd(8)} ${String(r.lookaheadUs).padEnd(10)} ${String(r.crossing).padEnd(14)} ${r.sameJson}`);
}
mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "pdes.json"), JSON.stringify({ date: new Date().toISOString(), node: process.version, cores: os.cpus().length, load, clients: CLIENTS, rate: RATE, duration: DURATION, rows }, null, 2) + "\n");
