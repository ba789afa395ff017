// Outputs a person reads: the CSV agrees with the JSON, the summary puts the study's
// figures beside their analytic values, the snapshot is the `ss -s` view of an instant.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { planScenario, runPlan, runScenario, snapshotScenario, ScenarioError } from "../sdk/index.js";
import { seriesCsv } from "../sdk/report/csv.js";
import { summary } from "../sdk/report/summary.js";
import { pair } from "./helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT = JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));

describe("CSV", () => {
  test("every column equals the JSON series it is named after, row by row", async () => {
    const r = await runScenario(pair({ duration: "30s", workload: { rate: 20, count: 0 }, loss: { plugin: "bernoulli", p: 0.05 } }));
    const [header, ...rows] = seriesCsv(r).trimEnd().split("\n");
    const names = header.split(",");
    expect(rows).toHaveLength(r.series.t.length);
    const column = (name: string) => rows.map((row) => Number(row.split(",")[names.indexOf(name)]));
    expect(column("t")).toEqual(r.series.t);
    expect(column("TIME_WAIT")).toEqual(r.series.states.TIME_WAIT);
    expect(column("server.LAST_ACK")).toEqual(r.series.byHost.server.LAST_ACK);
    expect(column("portsInUse.client")).toEqual(r.series.portsInUse.client);
    expect(column("failures")).toEqual(r.series.failures);
    expect(column("failures.ECONNRESET")).toEqual(r.series.failuresByErrno.ECONNRESET);
    expect(column("synQueue.server")).toEqual(r.series.synQueue.server);
    expect(column("acceptQueue.server")).toEqual(r.series.acceptQueue.server);
    // One column per state (all hosts), per host and state, per host's ports, UDP sockets, SYN and accept queues, failures by errno.
    expect(names).toHaveLength(1 + 11 + 2 * 11 + 2 + 2 + 2 + 2 + 1 + 5);
    expect(Math.max(...column("TIME_WAIT"))).toBeGreaterThan(0);
  });
});

describe("summary", () => {
  test("the default study: achieved rate, TIME_WAIT plateau and first EADDRNOTAVAIL beside their analytic values", async () => {
    const plan = planScenario(DEFAULT);
    const text = summary(await runPlan(plan), plan, ["out/report.html"]);
    // 1000 ports / 60 s = 16.7 a second; 100 a second offered; first failure at 1000 / 100 = 10 s.
    // TIME_WAIT as the 250 Hz timer wheel makes it: 60 s + 2.048 / 2 on average, 30 x 2.048 s a port.
    expect(text).toContain("  client       1,000 ephemeral ports, TIME_WAIT 60 s (61.02 s on average, a port every 61.44 s on the 250 Hz timer wheel), offered 100 connections/s\n");
    expect(text).toMatch(/\n {4}connections\/s {8}16\.7 {8}16\.7 {6}ports per TIME_WAIT, in bursts\n/);
    expect(text).toMatch(/\n {4}TIME_WAIT plateau {4}1,000 {7}1,000 {5}min\(ports, rate x TIME_WAIT\)\n/);
    expect(text).toMatch(/\n {4}first EADDRNOTAVAIL  by 11 s {5}10 s {6}ports \/ rate\n/);
    expect(text.trimEnd().split("\n").pop()).toBe("  wrote out/report.html");
  });

  test("the rate counts the time connect() was called, and the burst the last TIME_WAIT window began with", async () => {
    // 100 a second for 10,000 connections: calls end at 100 s of the 120 s run. Ports
    // fill in 0-10 s and again in 60-70 s (as the first TIME_WAITs end): 2000 in 100 s.
    const plan = planScenario({ ...DEFAULT, workloads: [{ ...DEFAULT.workloads[0], count: 10000 }] });
    const r = await runPlan(plan);
    expect(r.totals.established).toBe(2000);
    expect(summary(r, plan)).toMatch(/\n {4}connections\/s {8}20 {10}20 {8}ports per TIME_WAIT, in bursts\n/);
  });

  test("below capacity no failure is expected, and none happens", async () => {
    const plan = planScenario({ ...DEFAULT, workloads: [{ ...DEFAULT.workloads[0], rate: 10 }] });
    const r = await runPlan(plan);
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(0);
    const text = summary(r, plan);
    expect(text).toMatch(/first EADDRNOTAVAIL  none {8}none {6}rate below ports \/ TIME_WAIT/);
    const [, simulated, analytic] = /\n {4}connections\/s +([\d.]+) +([\d.]+) +the offered rate\n/.exec(text)!;
    expect(Number(analytic)).toBe(10);
    expect(Math.abs(Number(simulated) - 10)).toBeLessThan(0.3); // Poisson: 1200 expected, sd 35
  });

  test("when the server closes first the client-side formulas do not apply and are not printed", async () => {
    const plan = planScenario(pair({ workload: { closer: "server" } }));
    expect(summary(await runPlan(plan), plan)).not.toContain("simulated");
  });
});

describe("snapshot", () => {
  test("at 30 s of the default study: 1000 ports held, all in TIME_WAIT, the listener's port busiest on the server", async () => {
    const s = await snapshotScenario(DEFAULT, { at: "30s", top: 3 });
    expect(s.t).toBe(30);
    expect(s.hosts.client.states.TIME_WAIT).toBe(1000);
    expect(s.hosts.client.portsInUse).toBe(1000);
    expect(s.hosts.client.busiest).toHaveLength(3);
    for (const p of s.hosts.client.busiest) {
      expect(p).toMatchObject({ ip: "10.0.0.1", sockets: 1, timeWait: 1, listening: false });
      expect(p.port).toBeGreaterThanOrEqual(40000);
      expect(p.port).toBeLessThanOrEqual(40999);
    }
    const server = s.hosts.server.busiest[0];
    expect(server).toMatchObject({ ip: "10.0.0.2", port: 80, listening: true, timeWait: 0 });
    expect(server.sockets).toBe(Object.entries(s.hosts.server.states).filter(([n]) => n !== "LISTEN").reduce((a, [, v]) => a + v, 0));
  });

  test("agrees with the full run's sample at the same instant", async () => {
    const sc = pair({ duration: "20s", workload: { rate: 50, count: 0 }, loss: { plugin: "bernoulli", p: 0.1 } });
    const r = await runScenario(sc);
    const s = await snapshotScenario(sc, { at: "7s" });
    const i = r.series.t.indexOf(7);
    for (const [state, n] of Object.entries(s.hosts.client.states)) expect(n, state).toBe(r.series.byHost.client[state as "TIME_WAIT"][i]);
    expect(s.hosts.client.portsInUse).toBe(r.series.portsInUse.client[i]);
  });

  test.each([["0s", "must be more than zero"], ["forever", "is not a duration"], ["999s", "is past the scenario's duration (120s)"]])(
    "--at %s is refused: %s", async (at, says) => {
      const e = await snapshotScenario(DEFAULT, { at }).catch((x) => x);
      expect(e).toBeInstanceOf(ScenarioError);
      expect(e.message).toMatch(new RegExp(`^--at: .*${says.replace(/[()]/g, "\\$&")}`));
    });
});
