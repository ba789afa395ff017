// The fleet bench: `npm run bench` runs it last.
//
// The churn workload of bench/workload.mjs (20,000 connections a second in all, Poisson,
// 100-byte request, 1000-byte response, 500 us each way, TIME_WAIT 2 s) spread over a
// fleet of client hosts, each on a link of its own and with a workload of its own,
// against one server: how the engine and the SDK scale with the number of hosts.
// For each fleet size, in this one process: the set-up (a 10 ms scenario: plan,
// configure, the engine's tables, the result), then a run of 10 simulated seconds
// (200,000 connections), medians of 3 after a warm-up run. The largest size runs
// twice: written host by host, and as one host entry with `count` (a fleet: the same
// hosts, links and workloads, but the result sums the fleet's series under one name),
// each with the size of its JSON result.
// Results: a table on stdout and bench/results/fleet.json.
//
//   node bench/fleet.mjs [--sizes 1,64,1000] [--runs 3]

import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./ts-kernel/load.mjs";
import { RATE } from "./workload.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const SIZES = opt("--sizes", "1,64,1000").split(",").map(Number);
const RUNS = Number(opt("--runs", "3"));

const sdk = await import(pathToFileURL(join(ROOT, "dist", "index.js")).href);

/** `clients` client hosts (10.2.0.1, 10.2.1.1, ...), one link and one workload each, sharing RATE between them. */
function fleetScenario(clients, duration) {
  const hosts = { server: { ip: "10.1.0.1", listen: [{ port: 80, backlog: 65535 }] } };
  const links = [];
  const workloads = [];
  for (let i = 0; i < clients; i++) {
    hosts[`c${i}`] = { ip: `10.${2 + (i >> 8)}.${i & 255}.1`, ports: "1024-65535", tcp: { timeWait: "2s" } };
    links.push({ between: [`c${i}`, "server"], latency: "500us" });
    workloads.push({ plugin: "tcp-churn", from: `c${i}`, to: "server:80", rate: RATE / clients, arrival: "poisson",
      request: 100, response: 1000, closer: "client" });
  }
  return { name: `fleet-${clients}`, seed: 1, duration, sample: duration === "10ms" ? "10ms" : "100ms", hosts, links, workloads };
}

/** The same fleet as one host entry: `count` clients c-0, c-1, ... at 10.2.0.1, 10.2.0.2, ... */
function countScenario(clients, duration) {
  return {
    name: `fleet-count-${clients}`, seed: 1, duration, sample: duration === "10ms" ? "10ms" : "100ms",
    hosts: {
      server: { ip: "10.1.0.1", listen: [{ port: 80, backlog: 65535 }] },
      c: { ip: "10.2.0.1", count: clients, ports: "1024-65535", tcp: { timeWait: "2s" } },
    },
    links: [{ between: ["c", "server"], latency: "500us" }],
    workloads: [{ plugin: "tcp-churn", from: "c", to: "server:80", rate: RATE / clients, arrival: "poisson",
      request: 100, response: 1000, closer: "client" }],
  };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
async function timed(scenario) {
  const t = performance.now();
  const r = await sdk.runScenario(scenario);
  if (r.error) throw new Error(r.error);
  return { wall: (performance.now() - t) / 1000, engine: r.engine.wallSeconds, events: r.engine.events, memory: r.engine.memoryBytes,
    jsonBytes: JSON.stringify(r).length };
}

const results = [];
const forms = SIZES.map((clients) => ({ clients, form: "hosts", make: fleetScenario }));
if (Math.max(...SIZES) > 1) forms.push({ clients: Math.max(...SIZES), form: "count", make: countScenario });
for (const { clients, form, make } of forms) {
  const tiny = make(clients, "10ms");
  const full = make(clients, "10s");
  await timed(full); // warm-up (V8 tiers the engine up between calls)
  const setup = [], runs = [];
  for (let i = 0; i < RUNS; i++) { setup.push(await timed(tiny)); runs.push(await timed(full)); }
  const wall = median(runs.map((r) => r.wall));
  const engine = median(runs.map((r) => r.engine));
  results.push({ clients, form, hosts: clients + 1, jsonBytes: runs[0].jsonBytes, setupSeconds: median(setup.map((r) => r.wall)), wallSeconds: wall, engineSeconds: engine,
    events: runs[0].events, eventsPerWallSecond: runs[0].events / wall, memoryBytes: runs[0].memory });
}

console.log(`\nconnsim fleet bench: ${RATE.toLocaleString("en-US")} connections/s over a fleet, 10 s simulated, medians of ${RUNS}, node ${process.version}`);
const head = ["clients", "set-up (s)", "wall (s)", "in engine (s)", "events", "events / wall s", "engine memory", "JSON result"];
console.log(head.map((h, i) => (i ? h.padStart(16) : h.padEnd(14))).join(""));
for (const r of results) {
  console.log([`${r.clients}${r.form === "count" ? " (count)" : ""}`.padEnd(14), r.setupSeconds.toFixed(3), r.wallSeconds.toFixed(3), r.engineSeconds.toFixed(3),
    r.events.toLocaleString("en-US"), `${(r.eventsPerWallSecond / 1e6).toFixed(2)} M`, `${(r.memoryBytes / 2 ** 20).toFixed(0)} MB`, `${(r.jsonBytes / 2 ** 10).toFixed(0)} KiB`]
    .map((c, i) => (i ? c.padStart(16) : c)).join(""));
}

mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "fleet.json"), JSON.stringify({
  date: new Date().toISOString(), node: process.version, cpus: os.cpus().length, runs: RUNS, results,
}, null, 2) + "\n");
