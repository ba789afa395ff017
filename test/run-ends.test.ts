// How a run ends, so that no result is silently wrong or missing (issue 13): the last
// interval is sampled at the end of every run, a sample longer than the duration is
// refused, a closed loop whose connect() fails at once still moves the clock on (a
// retry waits at least 1 ms), and a run whose clock stops moving is ended with a message.

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, test } from "vitest";
import { planScenario, runScenario, ScenarioError, type Scenario } from "../sdk/index.js";
import { seriesCsv } from "../sdk/report/csv.js";
import { summary } from "../sdk/report/summary.js";
import { STALL } from "../sdk/run.js";

/** One client with `ports` (all reserved with `reserved`), a closed loop of `clients` thinking `think`. */
function loop(o: { clients: number; think: string; ports: string; reserved?: string; duration: string; sample: string }): Scenario {
  return {
    name: "loop", seed: 1, duration: o.duration, sample: o.sample,
    hosts: {
      client: { ip: "10.0.0.1", ports: o.ports, ...(o.reserved ? { reservedPorts: o.reserved } : {}) },
      server: { ip: "10.0.0.2", listen: [{ port: 80 }] },
    },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "closed-loop", from: "client", to: "server:80", clients: o.clients, think: o.think }],
  };
}

/** Two independent client/server pairs (two shards), churning at 50/s into 5 s of TIME_WAIT. */
function pairs(duration: string, sample: string): Scenario {
  const hosts: Scenario["hosts"] = {};
  const links: Scenario["links"] = [];
  const workloads: Scenario["workloads"] = [];
  for (let i = 0; i < 2; i++) {
    hosts[`c${i}`] = { ip: `10.0.${i}.1`, tcp: { timeWait: "5s" } };
    hosts[`s${i}`] = { ip: `10.0.${i}.2`, listen: [{ port: 80 }] };
    links.push({ between: [`c${i}`, `s${i}`], latency: "1ms" });
    workloads.push({ plugin: "tcp-churn", from: `c${i}`, to: `s${i}:80`, rate: 50, arrival: "constant" });
  }
  return { name: "pairs", seed: 1, duration, sample, hosts, links, workloads };
}

describe("the last sample", () => {
  test("a duration off the sample grid ends with a sample at the duration: series, CSV, progress and the sharded merge", async () => {
    const seen: number[] = [];
    const r = await runScenario(pairs("2.5s", "1s"), { onProgress: (p) => seen.push(...p.samples.map((s) => s.t)) });
    expect(r.series.t).toEqual([0, 1, 2, 2.5]);
    expect(seen).toEqual([0, 1, 2, 2.5]);
    // 50/s from 0 on each pair, none out of TIME_WAIT (5 s) yet: 2 x 50 per second before the sample.
    expect(r.series.states.TIME_WAIT).toEqual([0, 100, 200, 250]);
    expect(r.peak.TIME_WAIT).toBe(250);
    expect(seriesCsv(r).trimEnd().split("\n").at(-1)!.split(",").slice(0, 1)).toEqual(["2.5"]);
    const sharded = await runScenario(pairs("2.5s", "1s"), { workers: 2 });
    expect(sharded.engine.workers).toBe(2);
    expect(sharded.series).toEqual(r.series);
  });

  test("a sample as long as the duration: samples at 0 and at the end, and the summary's peaks are the end's", async () => {
    const r = await runScenario(pairs("3s", "3s"));
    expect(r.series.t).toEqual([0, 3]);
    expect(r.peak.TIME_WAIT).toBe(300);
    expect(summary(r)).toContain("TIME_WAIT 300");
  });

  test("a sample longer than the duration is refused, naming scenario.sample", () => {
    expect(() => planScenario(pairs("10s", "20s"))).toThrow(new ScenarioError("scenario.sample", "must be at most scenario.duration (10s), got 20s"));
    expect(() => planScenario(pairs("10s", "20s"))).toThrow("scenario.sample: must be at most scenario.duration (10s), got 20s");
  });
});

describe("a closed loop out of ports", () => {
  test("think 0 and no free port: each client retries every 1 ms, 10 clients x 1000 tries in 1 s, and the clock moves on", async () => {
    const r = await runScenario(loop({ clients: 10, think: "0s", ports: "40000-40009", reserved: "40000-40009", duration: "1s", sample: "250ms" }));
    expect(r.error).toBeUndefined();
    expect(r.totals.attempted).toBe(10_000);
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(10_000);
    expect(r.series.t).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(r.series.failures).toEqual([0, 2500, 2500, 2500, 2500]);
  });

  test("think 0 and one port: the client holding it connects once, then every client fails every 1 ms", async () => {
    const r = await runScenario(loop({ clients: 10, think: "0s", ports: "40000-40000", duration: "2.5s", sample: "1s" }));
    // 9 clients fail at 0, 1, ..., 2499 ms (2,500 each); the tenth completes at 4 ms (two
    // round trips of 2 ms), fails at once (its port in TIME_WAIT), then at 5 ... 2499 ms.
    expect(r.totals.completed).toBe(1);
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(9 * 2500 + 2496);
    expect(r.totals.attempted).toBe(9 * 2500 + 2497);
    expect(r.series.failures).toEqual([0, 9996, 10_000, 5000]);
  });
});

describe("a clock that stops moving", () => {
  const saved = { ...STALL };
  afterEach(() => { Object.assign(STALL, saved); });

  test("more events at one microsecond than the limit end the run with one line saying when, and the samples so far", async () => {
    // With a limit of 1,000 events, 3,000 clients all failing at t=0 (before their 1 ms retry) are a stuck clock.
    Object.assign(STALL, { events: 1000, perSocket: 0 });
    const r = await runScenario(loop({ clients: 3000, think: "0s", ports: "40000-40009", reserved: "40000-40009", duration: "1s", sample: "250ms" }), { sliceEvents: 100 });
    expect(r.error).toBe("simulated time stopped moving at t=0s: 1,100 events without the clock moving on (something in the scenario repeats at one instant forever); the samples so far are kept");
    expect(r.series.t).toEqual([0]);
    expect(r.totals.attempted).toBe(1100);
  });

  test("the default limit leaves a run with thousands of events at one instant alone", async () => {
    const r = await runScenario(loop({ clients: 3000, think: "0s", ports: "40000-40009", reserved: "40000-40009", duration: "10ms", sample: "5ms" }), { sliceEvents: 100 });
    expect(r.error).toBeUndefined();
    expect(r.totals.attempted).toBe(30_000);
  });
});

describe("the CLI", () => {
  const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
  const connsim = (file: string, ...args: string[]) => {
    const r = spawnSync(process.execPath, ["bin/connsim.mjs", ...args.slice(0, 1), file, ...args.slice(1)], { cwd: ROOT, encoding: "utf8", timeout: 50_000 });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };
  const withFile = (s: Scenario, f: (file: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), "connsim-ends-"));
    try { writeFileSync(join(dir, "s.json"), JSON.stringify(s)); f(join(dir, "s.json")); } finally { rmSync(dir, { recursive: true, force: true }); }
  };

  test("a sample longer than the duration: exit 2 and one line", () => withFile(pairs("10s", "20s"), (file) => {
    const r = connsim(file, "run", "--quiet");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("connsim: scenario.sample: must be at most scenario.duration (10s), got 20s\n");
  }));

  test("a sweep over closed loops with think 0 and no free port ends, every run with its failures", () => withFile(loop({ clients: 10, think: "0s", ports: "40000-40009", reserved: "40000-40009", duration: "1s", sample: "250ms" }), (file) => {
    const r = connsim(file, "sweep", "--vary", "workloads.0.clients=1,10", "--workers", "1");
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")[1]).toMatch(/^1 +1000 +0 +0 +1000 /);
    expect(r.stdout.split("\n")[2]).toMatch(/^10 +10000 +0 +0 +10000 /);
  }));
});
