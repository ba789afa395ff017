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
