// Counts against analytic results, each within 2%: Little's law for TIME_WAIT, the
// port-capacity limit ports / TIME_WAIT, and where TIME_WAIT sits when the server closes.

import { describe, expect, test } from "vitest";
import { runScenario, wheelTimer } from "../sdk/index.js";
import { mean, pair } from "./helpers.js";

const within = (actual: number, expected: number, rel = 0.02) => {
  expect(Math.abs(actual - expected) / expected, `${actual} vs ${expected}`).toBeLessThanOrEqual(rel);
};

describe("Little's law: TIME_WAIT population = close rate x TIME_WAIT duration", () => {
  test.each([
    ["poisson", 200, "60s"],
    ["constant", 150, "30s"],
  ] as const)("%s arrivals at %i/s, TIME_WAIT %s", async (arrival, rate, tw) => {
    const r = await runScenario(pair({
      duration: "300s", trace: 0,
      client: { ports: "1024-65535", tcp: { timeWait: tw } },
      workload: { rate, arrival, count: 0 },
    }));
    const twSeconds = Number.parseFloat(tw);
    // A TIME_WAIT lasts its mean on the 250 Hz timer wheel: 60 s -> 61.02 s, 30 s -> 31.02 s.
    const lifetime = wheelTimer(twSeconds * 1e6, 250).mean;
    const steady = r.series.t.map((t, i) => [t, r.series.states.TIME_WAIT[i]] as const).filter(([t]) => t >= 2 * twSeconds);
    within(mean(steady.map(([, n]) => n)), rate * lifetime);
    // TIME_WAIT is on the active closer only.
    expect(Math.max(...r.series.byHost.server.TIME_WAIT)).toBe(0);
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(0);
  });
});

describe("ephemeral port exhaustion: capacity = ports / TIME_WAIT", () => {
  const ports = 1000;
  const rate = 100; // above 1000 / 60 = 16.7 per second

  test("the first EADDRNOTAVAIL comes at ports / rate, success settles at ports / TIME_WAIT", async () => {
    const r = await runScenario(pair({
      duration: "600s", sample: "100ms", trace: 0,
      client: { ports: "40000-40999" },
      workload: { rate, arrival: "constant", count: 0 },
    }));
    const i = r.series.failuresByErrno.EADDRNOTAVAIL.findIndex((n) => n > 0);
    const firstFailure = r.series.t[i] - 0.05; // middle of the sample interval it fell in
    within(firstFailure, ports / rate);
    // Saturated, a port is taken again as soon as its TIME_WAIT ends on a wheel boundary: it
    // comes back every 30 granules of 2.048 s, 61.44 s (wheelTimer's cycle), not 60 s.
    const cycle = wheelTimer(60e6, 250).cycle;
    const windows = Math.floor(600 / cycle);
    within(r.totals.established, windows * ports + Math.min(ports, rate * (600 - windows * cycle)));
    within(r.peak.TIME_WAIT, ports);
    // Every attempt either got a port or failed with EADDRNOTAVAIL.
    expect(r.totals.established + r.totals.failed.EADDRNOTAVAIL + r.totals.pending).toBe(r.totals.attempted);
    expect(Math.max(...r.series.portsInUse.client)).toBe(ports);
  });

  test("with the server closing first TIME_WAIT sits on the server and the client runs out of nothing", async () => {
    const r = await runScenario(pair({
      duration: "300s", trace: 0,
      client: { ports: "1024-65535" },
      workload: { rate, arrival: "poisson", count: 0, closer: "server" },
    }));
    expect(Math.max(...r.series.byHost.client.TIME_WAIT)).toBe(0);
    const steady = r.series.byHost.server.TIME_WAIT.filter((_, i) => r.series.t[i] >= 120);
    within(mean(steady), rate * wheelTimer(60e6, 250).mean);
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(0);
  });

  test("with the server closing first, even a small port range never runs out: new SYNs take over TIME_WAIT tuples", async () => {
    const r = await runScenario(pair({
      duration: "120s", trace: 0,
      client: { ports: "40000-40999" },
      workload: { rate, arrival: "constant", count: 0, closer: "server" },
    }));
    expect(r.totals.failed).toEqual({ EADDRNOTAVAIL: 0, ECONNREFUSED: 0, ETIMEDOUT: 0, ECONNRESET: 0, EADDRINUSE: 0 });
    expect(r.totals.completed).toBeGreaterThanOrEqual(r.totals.attempted - 1);
    // Each port is reused every ports / rate = 10 s, so each tuple's TIME_WAIT ends then.
    within(r.peak.TIME_WAIT, ports);
  });

  test("tcp_tw_reuse=1 lets connect() take TIME_WAIT tuples older than 1 s: no EADDRNOTAVAIL below ports / 1 s", async () => {
    const r = await runScenario(pair({
      duration: "60s", trace: 0,
      client: { ports: "40000-40999", tcp: { twReuse: 1 } },
      workload: { rate, arrival: "constant", count: 0 },
    }));
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(0);
    expect(r.totals.completed).toBeGreaterThanOrEqual(r.totals.attempted - 1);
  });

  test("tcp_max_tw_buckets caps TIME_WAIT: sockets past it close at once", async () => {
    const r = await runScenario(pair({
      duration: "120s", trace: 0,
      client: { ports: "1024-65535", tcp: { maxTwBuckets: 500 } },
      workload: { rate, arrival: "constant", count: 0 },
    }));
    expect(r.peak.TIME_WAIT).toBe(500);
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(0);
  });
});

describe("loss", () => {
  test("Bernoulli loss p: the dropped fraction of segments is p within 3 standard errors", async () => {
    const p = 0.05;
    const r = await runScenario(pair({
      duration: "60s", trace: 0, client: { ports: "1024-65535" },
      workload: { rate: 200, arrival: "poisson", count: 0 },
      loss: { plugin: "bernoulli", p },
    }));
    const n = r.totals.segments.sent;
    const se = Math.sqrt((p * (1 - p)) / n);
    expect(Math.abs(r.totals.segments.dropped / n - p)).toBeLessThan(3 * se);
    expect(r.totals.segments.retransmitted).toBeGreaterThan(0);
  });
});
