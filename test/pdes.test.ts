// One connected scenario over several workers (sdk/workers/pdes.ts): random scenarios
// whose hosts are all joined (clients linked to two servers, some behind a NAT) with
// drawn sizes, Bernoulli and Gilbert-Elliott loss, staged drops and old duplicates of a
// given `conn`, closed loops, UDP, a server restart and traces give byte-identical JSON
// (engine timings and the worker count aside) and CSV on 1, 2 and 4 workers, the split
// being used each time.
//
//   CONNSIM_FC_RUNS=100 CONNSIM_FC_SEED=$RANDOM npx vitest run test/pdes.test.ts

import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPlugins, planScenario, runOnPool, runPlan, runScenario, WorkerPool, type Scenario } from "../sdk/index.js";
import { seriesCsv } from "../sdk/report/csv.js";
import { planParts } from "../sdk/workers/pdes.js";
import { comparable } from "./helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RUNS = Number(process.env.CONNSIM_FC_RUNS ?? 12);
const SEED = Number(process.env.CONNSIM_FC_SEED ?? 20261203);

const ms = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => `${n}ms`);
const size = fc.oneof(
  fc.integer({ min: 0, max: 20_000 }),
  fc.record({ dist: fc.constant("exponential" as const), mean: fc.integer({ min: 1, max: 20_000 }) }),
);
const loss = fc.oneof(
  fc.constant(undefined),
  fc.record({ plugin: fc.constant("bernoulli"), p: fc.double({ min: 0, max: 0.1, noNaN: true }) }),
  fc.record({ plugin: fc.constant("gilbert-elliott"), p: fc.double({ min: 0.01, max: 0.2, noNaN: true }), r: fc.double({ min: 0.1, max: 0.8, noNaN: true }) }),
  fc.record({ plugin: fc.constant("drop"), rules: fc.array(fc.record({ conn: fc.integer({ min: 0, max: 40 }), flags: fc.constantFrom("S", "S.", "F.", "P.") }), { minLength: 1, maxLength: 2 }) }),
  // Staged old duplicates: a copy that crosses between parts arrives through the wheel.
  fc.record({ plugin: fc.constant("delay-duplicate"), rules: fc.array(fc.record({ conn: fc.integer({ min: 0, max: 40 }), flags: fc.constantFrom("S", "S.", "F.", "P."), delay: ms(1, 300) }), { minLength: 1, maxLength: 2 }) }),
);
const client = fc.record({
  kind: fc.constantFrom("churn", "loop", "udp"),
  rate: fc.integer({ min: 5, max: 60 }),
  clients: fc.integer({ min: 1, max: 6 }),
  think: ms(0, 50),
  both: fc.boolean(),        // linked to both servers (else to one)
  server: fc.integer({ min: 0, max: 1 }),
  latency: fc.tuple(ms(1, 15), ms(1, 15)),
  loss,
  request: size, response: size,
  timeWait: ms(100, 3000),
});

const scenario = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 40 }),
  clients: fc.array(client, { minLength: 2, maxLength: 5 }),
  natted: fc.integer({ min: 0, max: 2 }), // how many of the clients sit behind a NAT
  restart: fc.boolean(),
  trace: fc.constantFrom(0, 25),
  sample: fc.constantFrom("250ms", "300ms"),
}).map(({ seed, clients, natted, restart, trace, sample }) => {
  const hosts: Record<string, object> = {
    s0: { ip: "10.9.0.1", listen: [{ port: 80, backlog: 64 }, { port: 53, protocol: "udp" }] },
    s1: { ip: "10.9.0.2", listen: [{ port: 80, backlog: 64 }, { port: 53, protocol: "udp" }] },
  };
  const links: object[] = [{ between: ["s0", "s1"], latency: "5ms" }]; // the servers joined: one group whatever the clients
  const workloads: object[] = [];
  if (natted > 0) {
    hosts.gw = { ip: "10.8.0.1", kind: "nat", nat: { addresses: "192.0.2.10", ports: "20000-20400" } };
    links.push({ between: ["gw", "s0"], latency: "3ms" }, { between: ["gw", "s1"], latency: "4ms" });
  }
  clients.forEach((c, i) => {
    const name = `c${i}`;
    const behind = i < natted;
    hosts[name] = { ip: `10.${behind ? 7 : 1}.0.${i + 1}`, ports: "40000-40300", tcp: { timeWait: c.timeWait } };
    const to = `s${c.server}`;
    if (behind) links.push({ between: [name, "gw"], latency: c.latency[0] });
    else {
      links.push({ between: [name, to], latency: [c.latency[0], c.latency[1]], ...(c.loss ? { loss: c.loss } : {}) });
      if (c.both) links.push({ between: [name, `s${1 - c.server}`], latency: c.latency[1] });
    }
    if (c.kind === "churn") workloads.push({ plugin: "tcp-churn", from: name, to: `${to}:80`, rate: c.rate, request: c.request, response: c.response, closer: "both", stop: "3s" });
    if (c.kind === "loop") workloads.push({ plugin: "closed-loop", from: name, to: `${to}:80`, clients: c.clients, think: c.think, backoff: "5ms", request: c.request, response: c.response, stop: "3s" });
    if (c.kind === "udp") workloads.push({ plugin: "udp-request", from: name, to: `${to}:53`, rate: c.rate, timeout: "300ms", stop: "3s" });
    if (c.both && !behind) workloads.push({ plugin: "tcp-churn", from: name, to: `s${1 - c.server}:80`, rate: Math.ceil(c.rate / 2), stop: "3s" });
  });
  if (restart) workloads.push({ plugin: "server-restart", from: "c0", to: `s${clients[0].server}:80`, clients: 4, at: "700ms", down: "300ms", reuseAddr: true, backoff: "6ms", stop: "3s" });
  return { name: "joined", seed, duration: "4s", sample, trace, hosts, links, workloads } as unknown as Scenario;
});

const pools: WorkerPool[] = [];
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

describe("one connected scenario over several workers", () => {
  test("byte-identical JSON and CSV with 1, 2 and 4 workers", async () => {
    const two = new WorkerPool({ workers: 2 });
    const four = new WorkerPool({ workers: 4 });
    pools.push(two, four);
    await fc.assert(fc.asyncProperty(scenario, async (s) => {
      const plan = planScenario(s, { plugins: await loadPlugins(s, [], ROOT) });
      const one = await runPlan(plan);
      expect(one.error).toBeUndefined();
      expect(one.totals.completed).toBeGreaterThan(0);
      for (const pool of [two, four]) {
        const r = await runOnPool(plan, pool, { splitEvents: 0 });
        expect(r.engine.workers).toBe(planParts(plan, pool.size)!.parts);
        expect(r.engine.workers).toBeGreaterThan(1);
        expect(comparable(r)).toBe(comparable(one));
        expect(seriesCsv(r)).toBe(seriesCsv(one));
      }
    }), { numRuns: RUNS, seed: SEED, verbose: true, endOnFailure: true });
  }, 240_000);

  test("the split: each part gets busy hosts, the window is the smallest latency between parts", () => {
    const plan = planScenario({
      name: "two fleets", duration: "1s",
      hosts: { a: { ip: "10.0.0.1" }, b: { ip: "10.0.0.2" }, s: { ip: "10.0.0.3", listen: [{ port: 80 }] }, t: { ip: "10.0.0.4", listen: [{ port: 80 }] } },
      links: [{ between: ["a", "s"], latency: "1ms" }, { between: ["b", "t"], latency: "1ms" }, { between: ["s", "t"], latency: "7ms" }],
      workloads: [{ plugin: "tcp-churn", from: "a", to: "s:80", rate: 100 }, { plugin: "tcp-churn", from: "b", to: "t:80", rate: 100 }],
    });
    const split = planParts(plan, 2)!;
    // a talks to s and b to t: each pair in a part, and only the 7 ms link between servers crosses.
    expect(split.owner[0]).toBe(split.owner[2]);
    expect(split.owner[1]).toBe(split.owner[3]);
    expect(split.owner[0]).not.toBe(split.owner[1]);
    expect(split.lookahead).toBe(7000);
  });

  test("a loss hook, or old duplicates (why books), keep a scenario on one worker", async () => {
    const base = {
      name: "one", duration: "1s",
      hosts: { a: { ip: "10.0.0.1" }, b: { ip: "10.0.0.2" }, s: { ip: "10.0.0.3", listen: [{ port: 80 }] } },
      links: [{ between: ["a", "s"], latency: "1ms" }, { between: ["b", "s"], latency: "1ms" }],
      workloads: [{ plugin: "tcp-churn", from: "a", to: "s:80", rate: 100 }, { plugin: "tcp-churn", from: "b", to: "s:80", rate: 100 }],
    } as Scenario;
    expect(planParts(planScenario(base), 2)).toBeDefined();
    const hooked = { ...base, links: [{ ...base.links[0], loss: { plugin: "./test/fixtures/batch-loss.mjs", p: 0.1 } }, base.links[1]] } as Scenario;
    expect(planParts(planScenario(hooked, { plugins: await loadPlugins(hooked, [], ROOT) }), 2)).toBeUndefined();
    const duplicated = { ...base, links: [{ ...base.links[0], duplicate: { rate: 0.1, delay: "10ms" } }, base.links[1]] } as Scenario;
    expect(planParts(planScenario(duplicated), 2)).toBeUndefined();
  });

  test("runScenario with workers splits a long connected scenario, and a cancelled split run ends with the samples so far", async () => {
    // 60 s of 45,000 connections a second: past the 1e7 estimated events a split needs to pay.
    const s = { name: "c", seed: 3, duration: "60s", sample: "250ms",
      hosts: { a: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "1s" } }, b: { ip: "10.0.0.2", ports: "1024-65535", tcp: { timeWait: "1s" } },
        s: { ip: "10.0.0.3", listen: [{ port: 80 }] }, t: { ip: "10.0.0.4", listen: [{ port: 80 }] } },
      links: [{ between: ["a", "s"], latency: "1ms" }, { between: ["b", "t"], latency: "1ms" }, { between: ["a", "t"], latency: "2ms" }],
      workloads: [{ plugin: "tcp-churn", from: "a", to: "s:80", rate: 20000 }, { plugin: "tcp-churn", from: "b", to: "t:80", rate: 20000 }, { plugin: "tcp-churn", from: "a", to: "t:80", rate: 5000 }] } as Scenario;
    expect(planParts(planScenario(s), 2)).toBeDefined();
    const stop = new AbortController();
    const r = await runScenario(s, { workers: 2, signal: stop.signal, sliceEvents: 50_000, onProgress: (p) => { if (p.t > 0.5) stop.abort(); } });
    expect(r.engine.workers).toBe(2);
    expect(r.engine.split!.lookaheadUs).toBe(2000);
    expect(r.error).toMatch(/cancelled/);
    expect(r.series.t.length).toBeGreaterThan(2);
    expect(r.series.t.length).toBeLessThan(240);
    // A short run is not worth splitting: it runs in one worker, with the same result.
    const short = { ...s, duration: "1s" };
    const pool = new WorkerPool({ workers: 2 });
    pools.push(pool);
    const one = await runOnPool(planScenario(short), pool);
    expect(one.engine.workers).toBe(1);
    expect(comparable(await runOnPool(planScenario(short), pool, { splitEvents: 0 }))).toBe(comparable(one));
  }, 60_000);
});
