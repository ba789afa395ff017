// The "why" variants (docs/why.md): each staged case in test/why/*.json is a scenario,
// the exact trace it must give (as test/conformance's cases) and the counters of
// totals.why that trace shows; then, for a fixed seed and for a set of seeds, each
// variant's defining failure appears when its mechanism is left out and is absent when
// the mechanism is there.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Result, Scenario } from "../sdk/index.js";
import { runScenario } from "../sdk/index.js";
import { expectedLines, traceLines } from "./conformance/trace-lines.js";

const DIR = join(import.meta.dirname, "why");
const files = readdirSync(DIR).filter((f) => f.endsWith(".json")).sort();
interface Case { title: string; rule: string; scenario: Omit<Scenario, "name">; expect: string[]; totals: Record<string, unknown> }

describe("staged cases: the trace and the counters it shows", () => {
  test("there are cases", () => expect(files.length).toBeGreaterThan(0));
  for (const file of files) {
    const c = JSON.parse(readFileSync(join(DIR, file), "utf8")) as Case;
    test(`${file.replace(/\.json$/, "")}: ${c.title}`, async () => {
      const r = await runScenario({ seed: 1, trace: 2, ...c.scenario, name: file } as Scenario, { flavour: "debug" });
      const got = traceLines(r.traces ?? []);
      if (c.expect.length === 0) throw new Error(`${file}: no "expect" yet; the engine gave:\n${JSON.stringify(got, null, 2)}\n${JSON.stringify(r.totals)}`);
      expect(got).toEqual(expectedLines(c.expect));
      expect(r.totals).toMatchObject(c.totals);
    });
  }
});

// ---- each variant against the standard mechanism, over seeds ---------------------------

const base = (over: Partial<Scenario> & { link?: Record<string, unknown>; work?: Record<string, unknown> }): Scenario => {
  const { link, work, ...rest } = over;
  return {
    name: "why", duration: "60s", profile: "rfc9293",
    hosts: { client: { ip: "10.0.0.1" }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "5ms", ...link }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 20, request: 100, response: 1000, closer: "client", ...work }],
    ...rest,
  } as Scenario;
};
const loss = (p: number) => ({ loss: { plugin: "bernoulli", p } });
const SEEDS = [1, 2, 3, 4, 5];
const why = (r: Result) => r.totals.why!;

/** The defining failure of a variant: `failure(result)` is above 0 with the variant, 0 without, for each seed. */
type V = Scenario["variant"];
const STUDIES: { variant: V; scenario: (v: V) => Scenario; failure: (r: Result) => number; says: string }[] = [
  {
    variant: "twoWayHandshake", says: "lost SYN-ACKs deadlock the handshake",
    scenario: (v) => base({ variant: v, link: loss(0.1) }),
    failure: (r) => why(r).deadlocks,
  },
  {
    variant: "twoWayHandshake", says: "old duplicate SYNs are taken for established connections",
    scenario: (v) => base({ variant: v, link: { duplicate: { rate: 0.05, flags: "S", delay: { dist: "uniform", min: "1s", max: "30s" } } } }),
    failure: (r) => why(r).falselyEstablished,
  },
  {
    variant: "noTimeWait", says: "a lost last ACK leaves the passive closer retrying its FIN into a RST",
    scenario: (v) => base({ variant: v, link: loss(0.05) }),
    failure: (r) => why(r).passiveResets,
  },
  {
    variant: "noSynRetransmit", says: "a lost SYN or SYN-ACK fails the connection",
    scenario: (v) => base({ variant: v, link: loss(0.05) }),
    failure: (r) => r.totals.failed.ETIMEDOUT,
  },
  {
    variant: "threeWayClose", says: "the half-closing client forgets the connection before the response is in",
    scenario: (v) => base({ variant: v, work: { halfClose: true, response: 3000 } }),
    failure: (r) => why(r).closedEarly + (r.totals.established - r.totals.completed),
  },
];

describe("each variant's defining failure appears without its mechanism and not with it", () => {
  for (const s of STUDIES) {
    test(`${s.variant}: ${s.says} (seeds ${SEEDS.join(", ")})`, async () => {
      for (const seed of SEEDS) {
        const without = await runScenario({ ...s.scenario(s.variant), seed });
        const standard = await runScenario({ ...s.scenario("none"), seed });
        expect(without.variants).toBeDefined();
        expect(standard.variants).toBeUndefined();
        expect(s.failure(without), `seed ${seed}, ${s.variant}`).toBeGreaterThan(0);
        expect(s.failure(standard), `seed ${seed}, standard`).toBe(0);
      }
    });
  }
});

// ---- the study machinery: determinism, shards, declared sweeps, bad input ---------------

/** Two client/server pairs no link joins: two shards on two workers. */
const twoPairs = (): Scenario => ({
  name: "why-pairs", duration: "60s", profile: "rfc9293", seed: 3, variant: "twoWayHandshake",
  hosts: {
    c1: { ip: "10.0.0.1" }, s1: { ip: "10.0.0.2", listen: [{ port: 80 }] },
    c2: { ip: "10.0.1.1", variant: "noTimeWait" }, s2: { ip: "10.0.1.2", listen: [{ port: 80 }] },
  },
  links: [
    { between: ["c1", "s1"], latency: "5ms", loss: { plugin: "bernoulli", p: 0.05 }, duplicate: { rate: 0.05, flags: "S", delay: { dist: "exponential", mean: "5s", max: "120s" } } },
    { between: ["c2", "s2"], latency: "5ms", loss: { plugin: "bernoulli", p: 0.05 } },
  ],
  workloads: [
    { plugin: "tcp-churn", from: "c1", to: "s1:80", rate: 20 },
    { plugin: "tcp-churn", from: "c2", to: "s2:80", rate: 20 },
  ],
} as Scenario);

describe("a why study's books", () => {
  test("the same seed gives the same counters, in one engine or on two workers; another seed others", async () => {
    const one = await runScenario(twoPairs());
    const again = await runScenario(twoPairs());
    const sharded = await runScenario(twoPairs(), { workers: 2 });
    expect(sharded.engine.workers).toBe(2);
    expect(again.totals.why).toEqual(one.totals.why);
    expect(sharded.totals.why).toEqual(one.totals.why);
    expect(sharded.variants).toEqual({ c1: ["twoWayHandshake"], s1: ["twoWayHandshake"], c2: ["noTimeWait"], s2: ["twoWayHandshake"] });
    expect(JSON.stringify(sharded.variants)).toBe(JSON.stringify(one.variants));
    expect(one.totals.why!.deadlocks).toBeGreaterThan(0);
    expect(one.totals.why!.passiveResets).toBeGreaterThan(0);
    const other = await runScenario({ ...twoPairs(), seed: 4 });
    expect(other.totals.why).not.toEqual(one.totals.why);
  });

  test("a run without variant or duplicate has no why books; one with variant none has them, all zero on a clean network", async () => {
    const plain = await runScenario(base({}));
    expect(plain.totals.why).toBeUndefined();
    expect(plain.variants).toBeUndefined();
    const none = await runScenario(base({ variant: "none" }));
    expect(none.totals.why).toEqual({
      unwanted: 0, unwantedHeldSeconds: 0, falselyEstablished: 0, deadlocks: 0, staleAccepted: 0,
      lastAckFinRetries: 0, passiveResets: 0, closedEarly: 0, neverClosed: 0,
    });
    // The books change nothing else.
    expect({ ...none.totals, why: undefined }).toEqual({ ...plain.totals, why: undefined });
    expect(none.series).toEqual(plain.series);
  });

  test("the duplicate process copies the segments its flags match at its rate", async () => {
    const lossy = base({ duration: "120s", link: loss(0.05) });
    const plain = await runScenario(lossy);
    const copied = await runScenario({ ...lossy, links: [{ ...lossy.links[0], duplicate: { rate: 0.1, delay: "10s", flags: "P." } }] } as Scenario);
    // Two P. segments per connection of the plain run's ~2,400, each copied with p 0.1.
    const pushes = 2 * plain.totals.established;
    expect(copied.totals.segments.duplicated).toBeGreaterThan(0);
    expect(Math.abs(copied.totals.segments.duplicated - 0.1 * pushes)).toBeLessThan(4 * Math.sqrt(pushes * 0.1 * 0.9));
  });

  test("a check can name a why counter", async () => {
    const { checkExpectations } = await import("../sdk/index.js");
    const r = await runScenario({ ...base({ variant: "noSynRetransmit", link: loss(0.05) }), seed: 1 });
    const [held, failed] = checkExpectations(r, ["why.deadlocks==0", "totals.why.closedEarly>0"]);
    expect(held).toEqual({ text: "why.deadlocks==0", held: true, actual: 0 });
    expect(failed).toEqual({ text: "totals.why.closedEarly>0", held: false, actual: 0 });
  });

  test("bad variants and duplicates are one-line errors naming the field", async () => {
    const { planScenario } = await import("../sdk/index.js");
    expect(() => planScenario(base({ variant: "twoWay" as never }))).toThrow(/^scenario\.variant: expected "none", one of twoWayHandshake/);
    expect(() => planScenario(base({ link: { duplicate: { rate: 0.1, delay: { dist: "uniform", min: "5s", max: "1s" } } } }))).toThrow("scenario.links.0.duplicate.delay.min: is above max (1s)");
    expect(() => planScenario(base({ link: { duplicate: { rate: 2, delay: "1s" } } }))).toThrow(/^scenario\.links\.0\.duplicate\.rate/);
  });

  test("a scenario's declared sweep is the grid connsim sweep runs, and its table has the why counters", async () => {
    const { declaredVary, planSweep, sweepTable } = await import("../sdk/workers/sweep.js");
    const study = JSON.parse(readFileSync(join(import.meta.dirname, "../examples/why-four-way.json"), "utf8"));
    const varies = declaredVary(study)!;
    expect(varies).toEqual([{ path: "variant", values: ["none", "threeWayClose"] }, { path: "links.0.loss.p", values: [0, 0.01] }]);
    const { plans } = planSweep(study, varies);
    expect(plans.map((p) => p.hosts[0].variants ?? [])).toEqual([[], [], ["threeWayClose"], ["threeWayClose"]]);
    expect(declaredVary({ duration: "1s" })).toBeUndefined();
    expect(() => declaredVary({ vary: { variant: [] } })).toThrow("scenario.vary.variant: expected a list");
    const r = await runScenario({ ...study, duration: "10s", variant: "threeWayClose" });
    const table = sweepTable([{ path: "variant", values: ["threeWayClose"] }], [{ values: { variant: "threeWayClose" }, result: r }]);
    const col = (name: string) => table[1][table[0].indexOf(name)];
    expect(col("closedEarly")).toBe(String(r.totals.why!.closedEarly));
    expect(Number(col("closedEarly"))).toBeGreaterThan(0);
  });
});
