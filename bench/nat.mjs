// The cost of a forwarded segment: one workload run twice in this process, client and
// server joined by a direct link, then through a NAT host between them (each hop half
// the direct link's latency, so the timings match). 2,000 connections a second for 60 s,
// short exchanges, the gateway's ports never short (1024-65535, TIME_WAIT entries taken
// over). Medians of 3 after a warm-up; a table on stdout: ns per event and per segment
// delivered to an endpoint.
// Then a fleet behind one gateway: 1,000 client hosts (one entry with `count`, 50
// connections a second each, 50,000 in all, Poisson, the same exchange) through one
// NAT with 4 public addresses to one server, 10 simulated seconds: events per second
// and the engine's memory (its linear memory: tables, conntrack, port bitmaps).
//
//   node bench/nat.mjs [--runs 3] [--fleet-only]

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./ts-kernel/load.mjs";

const args = process.argv.slice(2);
const RUNS = Number(args.includes("--runs") ? args[args.indexOf("--runs") + 1] : 3);
const sdk = await import(pathToFileURL(join(ROOT, "dist", "index.js")).href);

const workload = { plugin: "tcp-churn", from: "client", to: "server:80", rate: 2000, arrival: "poisson", request: 100, response: 1000, closer: "client" };
const base = {
  seed: 1, duration: "60s", sample: "1s", profile: "linux",
  hosts: { client: { ip: "10.1.0.2", ports: "1024-65535", tcp: { timeWait: "2s" } }, server: { ip: "10.9.0.1", listen: [{ port: 80, backlog: 65535 }] } },
};
const direct = { ...base, name: "direct", links: [{ between: ["client", "server"], latency: "500us" }], workloads: [workload] };
const nat = {
  ...base, name: "nat",
  hosts: { ...base.hosts, gw: { ip: "10.1.0.1", kind: "nat", nat: { addresses: "10.2.0.1", ports: "1024-65535", timeouts: { timeWait: "2s" } } } },
  links: [{ between: ["client", "gw"], latency: "250us" }, { between: ["gw", "server"], latency: "250us" }], workloads: [workload],
};

async function time(s) {
  const plan = sdk.planScenario(s);
  const r = await sdk.runPlan(plan);
  return { wall: r.engine.wallSeconds, events: r.engine.events, sent: r.totals.segments.sent, completed: r.totals.completed };
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const FLEET = 1000, FLEET_RATE = 50000;
const fleet = {
  name: "fleet-behind-nat", seed: 1, duration: "10s", sample: "1s", profile: "linux",
  hosts: {
    c: { ip: "10.1.0.1", count: FLEET, ports: "1024-65535", tcp: { timeWait: "2s" } },
    gw: { ip: "10.0.0.1", kind: "nat", nat: { addresses: ["10.2.0.1", "10.2.0.2", "10.2.0.3", "10.2.0.4"], ports: "1024-65535", max: 1048576, timeouts: { timeWait: "2s" } } },
    server: { ip: "10.9.0.1", listen: [{ port: 80, backlog: 65535 }], tcp: { somaxconn: 65535 } },
  },
  links: [{ between: ["c", "gw"], latency: "250us" }, { between: ["gw", "server"], latency: "250us" }],
  workloads: [{ ...workload, from: "c", rate: FLEET_RATE / FLEET }],
};

const rows = [];
for (const s of args.includes("--fleet-only") ? [] : [direct, nat]) {
  await time(s);
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await time(s));
  const wall = median(runs.map((r) => r.wall));
  const r = runs[0];
  rows.push({ scenario: s.name, completed: r.completed, events: r.events, segments: r.sent, wall, nsPerEvent: (wall * 1e9) / r.events, nsPerSegment: (wall * 1e9) / r.sent });
}
console.table(rows.map((r) => ({ ...r, wall: r.wall.toFixed(3), nsPerEvent: r.nsPerEvent.toFixed(0), nsPerSegment: r.nsPerSegment.toFixed(0) })));
if (rows.length) {
const [d, n] = rows;
console.log(`through one NAT hop: ${(n.events / d.events).toFixed(2)}x the events, ${(n.wall / d.wall).toFixed(2)}x the wall time; a forwarded segment costs about ${(((n.wall - d.wall) * 1e9) / n.segments).toFixed(0)} ns more than a direct one`);
}

// The fleet: medians of RUNS after a warm-up, each run a fresh engine.
{
  const runs = [];
  for (let i = 0; i <= RUNS; i++) {
    const r = await sdk.runPlan(sdk.planScenario(fleet));
    if (i > 0) runs.push({ wall: r.engine.wallSeconds, events: r.engine.events, memory: r.engine.memoryBytes, completed: r.totals.completed, failed: Object.values(r.totals.failed).reduce((a, b) => a + b, 0), peak: r.nats.gw.peak.entries });
  }
  const wall = median(runs.map((r) => r.wall));
  const r = runs[0];
  console.table([{ scenario: fleet.name, clients: FLEET, offered: FLEET_RATE, completed: r.completed, failed: r.failed, events: r.events, wall: wall.toFixed(3),
    eventsPerSecond: Math.round(r.events / wall), conntrackPeak: r.peak, engineMiB: (r.memory / 2 ** 20).toFixed(0) }]);
}
