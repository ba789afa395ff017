// The engine's invariants (assembly/invariants.ts) hold through every slice of runs
// that exercise loss, staged rules, restarts, tw_reuse and port exhaustion; a
// corrupted table is caught and named; a run that hits its memory limit stops with a
// clear message and keeps its samples.

import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { checkEngine, configure, instantiateEngine, readSamples } from "../sdk/engine.js";
import { planScenario, runScenario, type Scenario } from "../sdk/index.js";
import { pair } from "./helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

const SCENARIOS: Record<string, Scenario> = {
  "exhaustion with tw_reuse on one of two clients": {
    duration: "40s", sample: "1s",
    hosts: {
      a: { ip: "10.0.0.1", ports: "40000-40199", tcp: { timeWait: "10s" } },
      b: { ip: "10.0.0.3", ports: "40000-40199", tcp: { timeWait: "10s", twReuse: 1 } },
      s: { ip: "10.0.0.2", listen: [{ port: 80, backlog: 8 }], tcp: { maxTwBuckets: 50 } },
    },
    links: [{ between: ["a", "s"], latency: "2ms" }, { between: ["b", "s"], latency: ["1ms", "3ms"], loss: { plugin: "bernoulli", p: 0.05 } }],
    workloads: [
      { plugin: "tcp-churn", from: "a", to: "s:80", rate: 40, closer: "both", request: 3000, response: 30000 },
      { plugin: "tcp-churn", from: "b", to: "s:80", rate: 60, closer: "server", halfClose: true },
    ],
  },
  "burst loss, staged drops and duplicates, linger0, rfc9293": {
    duration: "60s", sample: "500ms", profile: "rfc9293",
    hosts: {
      c: { ip: "10.1.0.1", ports: "50000-50299", tcp: { synRetries: 3, finTimeout: "5s" } },
      s: { ip: "10.1.0.2", listen: [{ port: 22, backlog: 4 }], tcp: { synackRetries: 2 } },
    },
    links: [{ between: ["c", "s"], latency: "5ms", loss: { plugin: "gilbert-elliott", p: 0.05, r: 0.3, k: 0.98, h: 0.2 } }],
    workloads: [
      { plugin: "tcp-churn", from: "c", to: "s:22", rate: 20, request: 500, response: 8000, closer: "client" },
      { plugin: "tcp-churn", from: "c", to: "s:22", rate: 5, arrival: "constant", closer: "server", linger0: true },
      { plugin: "tcp-churn", from: "c", to: "s:23", rate: 1, arrival: "constant" },
    ],
  },
  "a server that restarts twice, with and without SO_REUSEADDR": {
    duration: "120s", sample: "1s",
    hosts: {
      c: { ip: "10.2.0.1", ports: "30000-30999" },
      s: { ip: "10.2.0.2", listen: [{ port: 80, stop: "20s", start: "25s" }, { port: 443, stop: "30s", start: "31s", reuseAddr: true }] },
    },
    links: [{ between: ["c", "s"], latency: "20ms", loss: { plugin: "drop", rules: [{ from: "c", flags: ".", state: "TIME_WAIT", nth: 3 }] } }],
    workloads: [
      { plugin: "tcp-churn", from: "c", to: "s:80", rate: 30, response: 20000, closer: "server" },
      { plugin: "tcp-churn", from: "c", to: "s:443", rate: 20, closer: "client" },
    ],
  },
};

describe("invariants hold after every slice", () => {
  test.each(Object.keys(SCENARIOS))("%s", async (name) => {
    const r = await runScenario(SCENARIOS[name], { flavour: "debug", checkInvariants: true, sliceEvents: 3000 });
    expect(r.error).toBeUndefined();
    expect(r.totals.attempted).toBeGreaterThan(100);
    expect(r.totals.established + r.totals.failed.EADDRNOTAVAIL + r.totals.failed.ECONNREFUSED + r.totals.failed.ETIMEDOUT
      + r.totals.pending).toBeLessThanOrEqual(r.totals.attempted + r.totals.failed.ECONNRESET);
  });
});

describe("a broken invariant is caught and named", () => {
  async function engineAfter(seconds: number) {
    const plan = planScenario({ ...pair({ duration: `${seconds}s`, workload: { rate: 50, count: 0 } }) });
    const e = await instantiateEngine(await WebAssembly.compile(await readFile(join(ROOT, "build/engine.wasm"))));
    configure(e, plan);
    while (e.run(100_000)) readSamples(e, 2);
    checkEngine(e); // sound so far
    return e;
  }

  test("a port table entry off by one", async () => {
    const e = await engineAfter(5);
    const ports = new Uint16Array(e.memory.buffer, e.portsPtr(0), 65536);
    const held = ports.findIndex((n) => n > 0);
    ports[held] += 1;
    expect(() => checkEngine(e)).toThrow(/^engine invariant 4 broken \(holders of each port equal the port table\)/);
  });

  test("a TIME_WAIT count that disagrees with the sockets", async () => {
    const e = await engineAfter(5);
    const tw = new Uint16Array(e.memory.buffer, e.portsTwPtr(0), 65536);
    tw[tw.findIndex((n) => n > 0)] = 0;
    expect(() => checkEngine(e)).toThrow(/^engine invariant 5 broken/);
  });
});

test("UDP: invariant 10 holds through queries, losses and timeouts, and catches a UDP port table entry cleared", async () => {
  const s = {
    duration: "20s", sample: "1s",
    hosts: { c: { ip: "10.0.0.1", ports: "40000-40099" }, s: { ip: "10.0.0.2", listen: [{ port: 53, protocol: "udp" as const }] } },
    links: [{ between: ["c", "s"], latency: "20ms", loss: { plugin: "bernoulli" as const, p: 0.3 } }],
    workloads: [{ plugin: "udp-request" as const, from: "c", to: "s:53", rate: 80, timeout: "500ms" }],
  };
  const r = await runScenario(s, { flavour: "debug", checkInvariants: true, sliceEvents: 500 });
  expect(r.error).toBeUndefined();
  expect(r.totals.failed.ETIMEDOUT).toBeGreaterThan(100);
  const e = await instantiateEngine(await WebAssembly.compile(await readFile(join(ROOT, "build/engine.wasm"))));
  configure(e, planScenario({ ...s, duration: "3s" }));
  while (e.run(1000)) readSamples(e, 2);
  checkEngine(e);
  // The UDP listener's port (53) is held in the server's UDP table: clear it behind the engine's back.
  const mem = new Uint8Array(e.memory.buffer);
  let found = false;
  for (let i = 0; i + 8192 <= mem.length && !found; i += 8) {
    // A UDP table is a bit per port (8192 bytes); find the server's by its lone bit, port 53's (byte 6, bit 5).
    if (mem[i + 6] === 0x20 && mem.subarray(i, i + 6).every((b) => b === 0) && mem.subarray(i + 7, i + 8192).every((b) => b === 0)) {
      mem[i + 6] = 0;
      found = true;
    }
  }
  expect(found).toBe(true);
  expect(() => checkEngine(e)).toThrow(/^engine invariant 10 broken/);
});
