// The proof that a result does not depend on the number of workers: random scenarios
// of several independent host groups (each a server with one or two clients) with
// drawn sizes, Bernoulli and Gilbert-Elliott loss, a loss hook whose verdicts depend on
// its batches, staged drops of a given `conn`,
// listeners that stop and start, the server-restart plugin, closed loops (think 0
// included), UDP and a sample off the duration's grid give byte-identical JSON (engine
// timings and the worker count aside, as mergeShards documents) and CSV on 1, 2 and 4
// workers.
//
//   CONNSIM_FC_RUNS=100 CONNSIM_FC_SEED=$RANDOM npx vitest run test/shard-determinism.test.ts

import fc from "fast-check";
import { afterAll, describe, expect, test } from "vitest";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadPlugins, planScenario, runOnPool, runPlan, WorkerPool, type Scenario } from "../sdk/index.js";
import { seriesCsv } from "../sdk/report/csv.js";
import { comparable } from "./helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const RUNS = Number(process.env.CONNSIM_FC_RUNS ?? 15);
const SEED = Number(process.env.CONNSIM_FC_SEED ?? 20261202);

const ms = (lo: number, hi: number) => fc.integer({ min: lo, max: hi }).map((n) => `${n}ms`);
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });

const size = fc.oneof(
  fc.integer({ min: 0, max: 20_000 }),
  fc.record({ min: fc.integer({ min: 0, max: 2000 }), span: fc.integer({ min: 0, max: 20_000 }) }).map(({ min, span }) => ({ dist: "uniform" as const, min, max: min + span })),
  fc.record({ dist: fc.constant("exponential" as const), mean: fc.integer({ min: 1, max: 20_000 }) }),
  fc.record({ dist: fc.constant("lognormal" as const), median: fc.integer({ min: 1, max: 5000 }), sigma: fc.double({ min: 0.1, max: 1.5, noNaN: true }) }),
);

const loss = fc.oneof(
  fc.constant(undefined),
  fc.record({ plugin: fc.constant("bernoulli"), p: fc.double({ min: 0, max: 0.1, noNaN: true }) }),
  fc.record({ plugin: fc.constant("gilbert-elliott"), p: fc.double({ min: 0.01, max: 0.2, noNaN: true }), r: fc.double({ min: 0.1, max: 0.8, noNaN: true }) }),
  // A hook whose verdicts depend on which segments share a decide() call (test/fixtures/batch-loss.mjs).
  fc.record({ plugin: fc.constant("./test/fixtures/batch-loss.mjs"), p: fc.double({ min: 0, max: 0.5, noNaN: true }) }),
  fc.record({ plugin: fc.constant("drop"), rules: fc.array(fc.record({ conn: fc.integer({ min: 0, max: 40 }), flags: fc.constantFrom("S", "S.", "F.", "P.") }), { minLength: 1, maxLength: 3 }) }),
);

/** A TCP workload from `from` to the group's server, sizes possibly drawn. */
const tcpWorkload = (from: string, to: string) => fc.oneof(
  fc.record({
    plugin: fc.constant("tcp-churn"), rate: fc.integer({ min: 1, max: 80 }), arrival: fc.constantFrom("constant", "poisson"),
    request: size, response: size, closer: fc.constantFrom("client", "server", "both"),
  }),
  fc.record({
    plugin: fc.constant("closed-loop"), clients: fc.integer({ min: 1, max: 15 }), think: ms(0, 200),
    backoff: opt(ms(1, 300)), request: size, response: size, closer: fc.constantFrom("client", "server"),
  }, { requiredKeys: ["plugin", "clients", "think", "request", "response", "closer"] }),
).map((w) => ({ ...w, from, to, stop: "4s" }));

const group = fc.record({
  clients: fc.integer({ min: 1, max: 2 }),
  ports: fc.integer({ min: 10, max: 300 }),
  timeWait: ms(200, 3000),
  latency: ms(1, 20),
  loss,
  // The server process: always up, stopped and started (listener fields), or the server-restart plugin.
  restart: fc.oneof(
    fc.constant(undefined),
    fc.record({ kind: fc.constant("listen" as const), stop: ms(300, 3000), down: ms(1, 1500), reuseAddr: fc.boolean() }),
    fc.record({ kind: fc.constant("plugin" as const), at: ms(300, 3000), down: ms(1, 1500), reuseAddr: fc.boolean(), clients: fc.integer({ min: 1, max: 15 }), backoff: opt(ms(1, 200)), response: size }),
  ),
  workloads: fc.array(fc.integer({ min: 0, max: 1 << 30 }), { minLength: 1, maxLength: 2 }),
  udp: opt(fc.integer({ min: 1, max: 40 })),
}).chain((g) => fc.tuple(fc.constant(g), fc.tuple(...g.workloads.map((_, j) => tcpWorkload(`c${j % g.clients}`, "s:80")))));

const scenario: fc.Arbitrary<Scenario> = fc.record({
  seed: fc.integer({ min: 0, max: 2 ** 40 }),
  sample: fc.constantFrom("500ms", "700ms", "1s", "1300ms"),
  groups: fc.array(group, { minLength: 2, maxLength: 5 }),
}).map(({ seed, sample, groups }) => {
  const hosts: Scenario["hosts"] = {};
  const links: Scenario["links"] = [];
  const workloads: Scenario["workloads"] = [];
  groups.forEach(([g, ws], i) => {
    const name = (h: string) => `g${i}${h}`;
    const r = g.restart;
    hosts[name("s")] = {
      ip: `10.${i}.0.100`,
      listen: [
        { port: 80, backlog: 32, ...(r?.kind === "listen" ? { stop: r.stop, start: `${parseInt(r.stop) + parseInt(r.down)}ms`, reuseAddr: r.reuseAddr } : {}) },
        { port: 53, protocol: "udp" as const },
      ],
    };
    for (let c = 0; c < g.clients; c++) {
      hosts[name(`c${c}`)] = { ip: `10.${i}.0.${c + 1}`, ports: `40000-${40000 + g.ports - 1}`, tcp: { timeWait: g.timeWait } };
      links.push({ between: [name(`c${c}`), name("s")], latency: g.latency, ...(g.loss ? { loss: g.loss } : {}) } as Scenario["links"][number]);
    }
    for (const w of ws) workloads.push({ ...w, from: name(w.from), to: name(w.to) } as Scenario["workloads"][number]);
    if (r?.kind === "plugin") {
      workloads.push({ plugin: "server-restart", from: name("c0"), to: `${name("s")}:80`, clients: r.clients, at: r.at, down: r.down, reuseAddr: r.reuseAddr, ...(r.backoff ? { backoff: r.backoff } : {}), response: r.response, stop: "4s" } as Scenario["workloads"][number]);
    }
    if (g.udp) workloads.push({ plugin: "udp-request", from: name("c0"), to: `${name("s")}:53`, rate: g.udp, timeout: "300ms", stop: "4s" } as Scenario["workloads"][number]);
  });
  return { name: "shards", seed, duration: "6s", sample, hosts, links, workloads };
});

const pools: WorkerPool[] = [];
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

describe("sharded runs of random scenarios", () => {
  test("byte-identical JSON and CSV with 1, 2 and 4 workers", async () => {
    const two = new WorkerPool({ workers: 2 });
    const four = new WorkerPool({ workers: 4 });
    pools.push(two, four);
    await fc.assert(fc.asyncProperty(scenario, async (s) => {
      const plan = planScenario(s, { plugins: await loadPlugins(s, [], ROOT) });
      const one = await runPlan(plan);
      expect(one.error).toBeUndefined();
      const split = [await runOnPool(plan, two), await runOnPool(plan, four)];
      const groups = new Set(s.links.map((l) => l.between[1])).size;
      expect(split.map((r) => r.engine.workers)).toEqual([2, Math.min(4, groups)]);
      for (const r of split) {
        expect(comparable(r)).toBe(comparable(one));
        expect(seriesCsv(r)).toBe(seriesCsv(one));
      }
    }), { numRuns: RUNS, seed: SEED, verbose: true, endOnFailure: true });
  }, 120_000);
});

describe("connections numbered per host group", () => {
  test("a trace of two groups holds each group's first connections, numbered from 0 in each", async () => {
    const { runScenario } = await import("../sdk/index.js");
    const s: Scenario = {
      name: "two", seed: 1, duration: "1s", sample: "1s", trace: 2,
      hosts: {
        a: { ip: "10.0.0.1" }, as: { ip: "10.0.0.2", listen: [{ port: 80 }] },
        b: { ip: "10.0.1.1" }, bs: { ip: "10.0.1.2", listen: [{ port: 80 }] },
      },
      links: [{ between: ["a", "as"], latency: "1ms" }, { between: ["b", "bs"], latency: "2ms" }],
      workloads: [
        { plugin: "tcp-churn", from: "a", to: "as:80", rate: 10, arrival: "constant" },
        { plugin: "tcp-churn", from: "b", to: "bs:80", rate: 10, arrival: "constant", start: "5ms" },
      ],
    };
    const r = await runScenario(s);
    expect(r.traces!.map((t) => [t.id, t.client.split(":")[0], t.server])).toEqual([
      [0, "10.0.0.1", "10.0.0.2:80"], [0, "10.0.1.1", "10.0.1.2:80"], [1, "10.0.0.1", "10.0.0.2:80"], [1, "10.0.1.1", "10.0.1.2:80"],
    ]);
    // 10 segments each under Linux: the request and the response are ACKed at once (quick-ack mode).
    expect(r.traces!.map((t) => t.segments.length)).toEqual([10, 10, 10, 10]);
  });
});
