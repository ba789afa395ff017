// Worker threads: a scenario of independent host groups split over workers gives the
// single-worker result; progress streams samples; cancellation keeps the samples so
// far; a worker that dies fails only its own run.

import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { planScenario, runOnPool, runPlan, runScenario, WorkerPool, type Result, type Scenario } from "../sdk/index.js";
import { pair } from "./helpers.js";
import { comparable } from "./helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Four independent client/server pairs with loss and Poisson arrivals: four shards. */
function fleet(duration = "20s"): Scenario {
  const hosts: Scenario["hosts"] = {};
  const links: Scenario["links"] = [];
  const workloads: Scenario["workloads"] = [];
  for (let i = 0; i < 4; i++) {
    hosts[`c${i}`] = { ip: `10.0.${i}.1`, ports: "40000-40499", tcp: { timeWait: "5s" } };
    hosts[`s${i}`] = { ip: `10.0.${i}.2`, listen: [{ port: 80 }] };
    links.push({ between: [`c${i}`, `s${i}`], latency: `${i + 1}ms`, loss: { plugin: "bernoulli", p: 0.02 * i } });
    workloads.push({ plugin: "tcp-churn", from: `c${i}`, to: `s${i}:80`, rate: 50 + 40 * i, request: 2000, response: 20000 });
  }
  return { name: "fleet", seed: 11, duration, sample: "250ms", hosts, links, workloads };
}


const pools: WorkerPool[] = [];
const pool = (workers: number, extra = {}) => {
  const p = new WorkerPool({ workers, ...extra });
  pools.push(p);
  return p;
};
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

describe("sharded runs", () => {
  test("the same seed gives the same result with 1, 2 and 4 workers", async () => {
    const plan = planScenario(fleet());
    const one = await runPlan(plan);
    expect(one.totals.segments.dropped).toBeGreaterThan(0);
    expect(one.totals.failed.EADDRNOTAVAIL).toBeGreaterThan(0); // the busier pairs run out of ports
    const two = await runOnPool(plan, pool(2));
    const four = await runScenario(fleet(), { workers: 4 });
    expect(two.engine.workers).toBe(2);
    expect(four.engine.workers).toBe(4);
    expect(comparable(two)).toBe(comparable(one));
    expect(comparable(four)).toBe(comparable(one));
  });

  test("a scenario that does not split runs on one worker, identical to the in-thread run", async () => {
    const plan = planScenario(pair({ workload: { rate: 20, count: 0 }, loss: { plugin: "bernoulli", p: 0.05 }, trace: 2 }));
    const r = await runOnPool(plan, pool(2));
    expect(r.engine.workers).toBe(1);
    expect(comparable(r)).toBe(comparable(await runPlan(plan)));
  });
});

describe("progress and cancellation", () => {
  test("progress streams every sample while the run goes on, summed over the shards", async () => {
    const plan = planScenario(fleet());
    const seen: { t: number; TIME_WAIT: number; failures: number }[] = [];
    let reports = 0;
    const r = await runOnPool(plan, pool(4), {
      sliceEvents: 5000,
      onProgress: (p) => { reports++; for (const s of p.samples) seen.push({ t: s.t, TIME_WAIT: s.states.TIME_WAIT, failures: s.failures }); },
    });
    expect(reports).toBeGreaterThan(1);
    expect(seen.map((s) => s.t)).toEqual(r.series.t);
    expect(seen.map((s) => s.TIME_WAIT)).toEqual(r.series.states.TIME_WAIT);
    expect(seen.map((s) => s.failures)).toEqual(r.series.failures);
  });

  test("an AbortSignal stops every worker and the samples so far come back", async () => {
    const plan = { ...planScenario(fleet("600s")) };
    const controller = new AbortController();
    let streamed = 0;
    const r = await runOnPool(plan, pool(2), {
      signal: controller.signal,
      onProgress: (p) => { streamed += p.samples.length; if (p.t > 30) controller.abort(); },
    });
    expect(r.error).toMatch(/cancelled/);
    expect(r.series.t.length).toBeGreaterThan(30 / 0.25);
    expect(r.series.t.length).toBeLessThan(600 / 0.25);
    expect(streamed).toBeGreaterThanOrEqual(r.series.t.length);
    // Every host's series was cut at the same sample.
    for (const h of Object.values(r.series.byHost)) expect(h.TIME_WAIT).toHaveLength(r.series.t.length);
  });
});

describe("faults", () => {
  test("a worker that dies fails its own run with its name; the other runs finish and the pool goes on", async () => {
    const p = pool(2, {
      workerUrl: pathToFileURL(join(ROOT, "test/fixtures/crash-worker.mjs")),
      workerData: { real: pathToFileURL(join(ROOT, "dist/node-worker.js")).href },
    });
    const good = (seed: number) => planScenario({ ...pair({ workload: { rate: 10, count: 0 } }), name: `good-${seed}`, seed });
    const runs = [good(1), { ...good(2), name: "crash" }, good(3), good(4)].map((plan) => p.run(plan));
    const settled = await Promise.allSettled(runs);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason.message).toMatch(/^worker \d+ crashed while running "crash": exited with code 7/);
    expect((settled[0] as PromiseFulfilledResult<Result>).value.name).toBe("good-1");
    // A fresh worker takes the next run.
    expect((await p.run(good(5))).totals.attempted).toBeGreaterThan(0);
  });
});

describe("a worker that stops answering", () => {
  test("a hook that never returns: the worker is ended after stallTimeout and the run fails naming it; the pool goes on", async () => {
    const { loadPlugins } = await import("../sdk/index.js");
    const s = pair({ duration: "10s", workload: { rate: 10, count: 0 }, loss: { plugin: "./test/fixtures/forever-loss.mjs" } as never });
    const plan = planScenario(s, { plugins: await loadPlugins(s, [], ROOT) });
    const p = pool(1);
    const started = Date.now();
    await expect(p.run(plan, { stallTimeout: 1000 })).rejects.toThrow(
      /^worker 0 stopped answering for 1 s \(a plugin hook that never returns\?\); ended while running "pair"$/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const ok = await p.run(planScenario(pair({ workload: { rate: 10, count: 0 } })));
    expect(ok.totals.attempted).toBeGreaterThan(0);
  });
});
