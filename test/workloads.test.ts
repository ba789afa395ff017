// Workload kernels beyond the open-loop churn: closed-loop clients (throughput against
// N / (cycle + think)), and request/response sizes drawn per connection from a
// distribution (means and spread against theory, within 3 standard errors).

import { describe, expect, test } from "vitest";
import { planScenario, runScenario, ScenarioError, wheelTimer, type Scenario } from "../sdk/index.js";
import { mean } from "./helpers.js";

function closedLoop(extra: Record<string, unknown> = {}, to = "server:80"): Scenario {
  return {
    name: "closed", seed: 3, duration: "60s", sample: "1s",
    hosts: { client: { ip: "10.0.0.1" }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "closed-loop", from: "client", to, clients: 10, think: "100ms", ...extra } as never],
  };
}

describe("closed loop", () => {
  test("throughput = N / (cycle + think): 10 clients, a 4 ms exchange (2 round trips), 100 ms think", async () => {
    const r = await runScenario(closedLoop());
    const expected = 10 * 60 / (0.004 + 0.1);
    expect(Math.abs(r.totals.completed - expected) / expected).toBeLessThan(0.02);
    expect(r.totals.attempted - r.totals.completed).toBeLessThanOrEqual(10); // the last exchanges in flight
    expect(r.peak.ESTABLISHED).toBeLessThanOrEqual(20);                       // both ends of at most 10
  });

  test("a shorter think: throughput grows as 1 / (cycle + think), until the ports run out", async () => {
    const fast = await runScenario(closedLoop({ think: "10ms" }));
    const slow = await runScenario(closedLoop({ think: "100ms" }));
    // 10 / 14 ms = 714 a second would need 42,857 ports in 60 s of TIME_WAIT; the client has
    // 28,232 (32768-60999): the closed loop meets EADDRNOTAVAIL and completes no more than that.
    expect(fast.totals.completed).toBe(28232);
    expect(fast.totals.failed.EADDRNOTAVAIL).toBeGreaterThan(0);
    const served = await runScenario(closedLoop({ think: "10ms", closer: "server" })); // TIME_WAIT on the server instead
    expect(served.totals.completed / slow.totals.completed).toBeCloseTo(104 / 14, 1);
  });

  test("a refused connection ends a client's exchange too: it tries again after its think time", async () => {
    const r = await runScenario(closedLoop({}, "server:81"));
    // Each try: SYN out, RST back (2 ms), then 100 ms of thought.
    const expected = 10 * 60 / (0.002 + 0.1);
    expect(Math.abs(r.totals.failed.ECONNREFUSED - expected) / expected).toBeLessThan(0.02);
  });

  test("count caps the whole workload; clients stop at it", async () => {
    const r = await runScenario(closedLoop({ count: 25 }));
    expect(r.totals.attempted).toBe(25);
    expect(r.totals.completed).toBe(25);
  });
});

/** Request bytes of each traced connection, read off the client's data segments. */
async function requestSizes(request: unknown, connections = 400): Promise<number[]> {
  const r = await runScenario({
    name: "sizes", seed: 5, duration: `${connections / 50 + 5}s`, sample: "1s", trace: connections,
    hosts: { client: { ip: "10.0.0.1" }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 50, count: connections, request: request as number, response: 0 }],
  });
  return r.traces!.map((t) => t.segments.filter((s) => s.from === "client").reduce((a, s) => a + s.len, 0));
}

describe("sizes drawn per connection", () => {
  test("uniform: every size in [min, max], the mean (min + max) / 2", async () => {
    const xs = await requestSizes({ dist: "uniform", min: 1000, max: 9000 });
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...xs)).toBeLessThanOrEqual(9000);
    const sd = (9000 - 1000) / Math.sqrt(12);
    expect(Math.abs(mean(xs) - 5000)).toBeLessThan(3 * sd / Math.sqrt(xs.length));
    expect(new Set(xs).size).toBeGreaterThan(300);
  });

  test("exponential: the mean, and a coefficient of variation near 1", async () => {
    const xs = await requestSizes({ dist: "exponential", mean: 4000 });
    expect(Math.abs(mean(xs) - 4000)).toBeLessThan(3 * 4000 / Math.sqrt(xs.length));
    const sd = Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
    expect(sd / mean(xs)).toBeGreaterThan(0.85);
    expect(sd / mean(xs)).toBeLessThan(1.15);
  });

  test("lognormal: the median, and the spread of log sizes sigma", async () => {
    const xs = await requestSizes({ dist: "lognormal", median: 3000, sigma: 0.8 });
    const sorted = [...xs].sort((a, b) => a - b);
    const median = sorted[sorted.length >> 1];
    expect(Math.abs(Math.log(median / 3000))).toBeLessThan(0.15);
    const logs = xs.filter((x) => x > 0).map(Math.log);
    const sdLog = Math.sqrt(mean(logs.map((l) => (l - mean(logs)) ** 2)));
    expect(Math.abs(sdLog - 0.8)).toBeLessThan(0.1);
  });

  test("the same connection draws the same size in every run, and both ends agree (the exchange completes)", async () => {
    const a = await requestSizes({ dist: "exponential", mean: 2000 }, 50);
    expect(await requestSizes({ dist: "exponential", mean: 2000 }, 50)).toEqual(a);
  });

  test("checks: min above max, a closed loop without clients", () => {
    const s = closedLoop({ request: { dist: "uniform", min: 10, max: 5 } });
    expect(() => planScenario(s)).toThrow(new ScenarioError("scenario.workloads.0.request.min", 'is above max (5) (plugin "closed-loop" 1.0.0)'));
    const noClients = closedLoop();
    delete (noClients.workloads[0] as Record<string, unknown>).clients;
    expect(() => planScenario(noClients)).toThrow(/^scenario\.workloads\.0\.clients: is required/);
  });
});

describe("open-loop arrivals and loss against theory", () => {
  /** connect() times of every traced connection, in order. */
  async function arrivals(rate: unknown, arrival: "poisson" | "constant", duration = "60s", trace = 3000) {
    const r = await runScenario({
      name: "arrivals", seed: 9, duration, sample: "1s", trace,
      hosts: { client: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "1s" } }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
      links: [{ between: ["client", "server"], latency: "1ms" }],
      workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: rate as number, arrival }],
    });
    return { r, t: r.traces!.map((t) => t.states.find((s) => s.from === "CLOSED" && s.to === "SYN_SENT")!.t) };
  }

  test("Poisson arrivals: gaps with mean 1 / rate and a coefficient of variation near 1; constant ones near 0", async () => {
    const { t } = await arrivals(50, "poisson");
    const gaps = t.slice(1).map((x, i) => x - t[i]);
    const m = mean(gaps);
    const cv = Math.sqrt(mean(gaps.map((g) => (g - m) ** 2))) / m;
    expect(Math.abs(m - 0.02)).toBeLessThan(3 * 0.02 / Math.sqrt(gaps.length));
    expect(cv).toBeGreaterThan(0.92);
    expect(cv).toBeLessThan(1.08);
    const c = (await arrivals(50, "constant")).t;
    const cgaps = c.slice(1).map((x, i) => x - c[i]);
    expect(Math.max(...cgaps) - Math.min(...cgaps)).toBeLessThan(2e-6); // whole microseconds
  });

  test("a rate in steps: each step's arrivals at its own rate, from its own time", async () => {
    const { r, t } = await arrivals([{ at: "0s", rate: 20 }, { at: "20s", rate: 100 }, { at: "40s", rate: 0 }], "constant", "60s", 5000);
    const between = (a: number, b: number) => t.filter((x) => x >= a && x < b).length;
    expect(between(0, 20)).toBe(400);
    expect(between(20, 40)).toBe(2000);
    expect(between(40, 60)).toBe(0);
    expect(r.totals.attempted).toBe(2400);
  });

  test("Gilbert-Elliott loss: drops come in bursts of mean length 1 / r", async () => {
    const r = 0.25;
    const res = await runScenario({
      name: "ge", seed: 4, duration: "300s", sample: "1s", trace: 1,
      hosts: { client: { ip: "10.0.0.1" }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
      links: [{ between: ["client", "server"], latency: "1ms", loss: { plugin: "gilbert-elliott", p: 0.02, r, k: 1, h: 0 } }],
      workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 1, count: 1, request: 100, response: 10_000_000 }],
    });
    // Every segment the server sent, in order: k = 1 and h = 0, so drops are exactly the bad state.
    const fates = res.traces![0].segments.filter((s) => s.from === "server").map((s) => s.fate === "dropped");
    const bursts: number[] = [];
    let run = 0;
    for (const dropped of [...fates, false]) {
      if (dropped) run++;
      else if (run > 0) { bursts.push(run); run = 0; }
    }
    expect(bursts.length).toBeGreaterThan(50);
    const sd = Math.sqrt(1 - r) / r; // geometric with success r
    expect(Math.abs(mean(bursts) - 1 / r)).toBeLessThan(3 * sd / Math.sqrt(bursts.length));
  });

  test("steps are checked: in order, and without count or start", () => {
    const s = (rate: unknown, extra = {}) => ({
      duration: "10s", hosts: { c: { ip: "10.0.0.1" }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
      links: [{ between: ["c", "s"], latency: "1ms" }],
      workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate, ...extra }],
    });
    expect(() => planScenario(s([{ at: "5s", rate: 1 }, { at: "2s", rate: 2 }]))).toThrow("scenario.workloads.0.rate.1.at: must be after the step before (5s)");
    expect(() => planScenario(s([{ at: "0s", rate: 1 }], { count: 5 }))).toThrow("scenario.workloads.0.rate: steps set their own start; leave out count and start");
  });
});

describe("keep-alive pool", () => {
  const pool = (requests: number, extra: Record<string, unknown> = {}): Scenario => ({
    name: "pool", seed: 2, duration: "60s", sample: "1s",
    hosts: { client: { ip: "10.0.0.1", tcp: { timeWait: "10s" } }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "keepalive-pool", from: "client", to: "server:80", connections: 5, requests, request: 100, response: 1000, ...extra } as never],
  });

  test("K exchanges per connection, one round trip each: connections = M x time / ((K + 1) x RTT)", async () => {
    const r = await runScenario(pool(100));
    // A connection: the handshake, then 100 exchanges of one 2 ms round trip each: 202 ms.
    const expected = 5 * 60 / (101 * 0.002);
    expect(Math.abs(r.totals.completed - expected) / expected).toBeLessThan(0.02);
    expect(r.totals.attempted - r.totals.completed).toBeLessThanOrEqual(5);
    expect(r.totals.segments.retransmitted).toBe(0);
  });

  test("pooling divides TIME_WAIT by the requests per connection (Little's law on the client)", async () => {
    const one = await runScenario(pool(1));
    const hundred = await runScenario(pool(100));
    // Connections a second x 10 s of TIME_WAIT: 5 / 4 ms x 10 = 12,500 against 5 / 202 ms x 10 = 248;
    // at its peak (just before a timer-wheel boundary) TIME_WAIT holds its longest, 10.256 s at 250 Hz.
    const longest = wheelTimer(10e6, 250).max;
    expect(Math.abs(one.peak.TIME_WAIT - 1250 * longest) / (1250 * longest)).toBeLessThan(0.02);
    expect(Math.abs(hundred.peak.TIME_WAIT - (5 / 0.202) * longest) / ((5 / 0.202) * longest)).toBeLessThan(0.05);
  });

  test("a pool's sizes are fixed and whole: drawn sizes and zero bytes are refused", () => {
    expect(() => planScenario(pool(10, { request: { dist: "exponential", mean: 10 } }))).toThrow(/^scenario\.workloads\.0\.request: /);
    expect(() => planScenario(pool(10, { response: 0 }))).toThrow("scenario.workloads.0.response: must be at least 1, got number 0");
  });
});

describe("reconnect storms: closed-loop clients and a server that restarts", () => {
  const storm = (extra: Record<string, unknown>): Scenario => ({
    name: "storm", seed: 6, duration: "20s", sample: "250ms",
    hosts: {
      client: { ip: "10.0.0.1", tcp: { timeWait: "1s" } },
      server: { ip: "10.0.0.2", listen: [{ port: 80, stop: "10s", start: "12s", reuseAddr: true }] },
    },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "closed-loop", from: "client", to: "server:80", clients: 200, think: "50ms", ...extra } as never],
  });
  const refusedBetween = (r: Awaited<ReturnType<typeof runScenario>>, a: number, b: number) =>
    r.series.t.reduce((sum, t, i) => sum + (t > a && t <= b ? r.series.failuresByErrno.ECONNREFUSED[i] : 0), 0);

  test("without backoff every client retries at its think time: refusals at a steady rate through the outage", async () => {
    const r = await runScenario(storm({}));
    // 200 clients, a try every 50 ms + 2 ms for the RST: about 7,700 refusals in 2 s.
    const expected = 200 * 2 / 0.052;
    expect(Math.abs(r.totals.failed.ECONNREFUSED - expected) / expected).toBeLessThan(0.05);
    expect(refusedBetween(r, 11.75, 12)).toBeGreaterThan(0.8 * refusedBetween(r, 10, 10.25));
  });

  test("with exponential backoff and full jitter: far fewer tries, thinning out as the outage goes on", async () => {
    const plain = await runScenario(storm({}));
    const r = await runScenario(storm({ backoff: "100ms", backoffMax: "5s" }));
    expect(r.totals.failed.ECONNREFUSED).toBeLessThan(plain.totals.failed.ECONNREFUSED / 4);
    expect(refusedBetween(r, 11.5, 12)).toBeLessThan(refusedBetween(r, 10, 10.5) / 3);
    // The price: backed-off clients drift back over seconds after the restart, so fewer
    // exchanges complete in the run (about 6% here), against a fifth of the refusals.
    expect(r.totals.completed).toBeLessThan(plain.totals.completed);
    expect(r.totals.completed).toBeGreaterThan(0.85 * plain.totals.completed);
  });
});
