// Loss plugins (sdk/plugins.ts): the kernel tier runs in the engine, the hook tier is
// TypeScript called once per epoch with a batch; both are checked, seeded and named in
// every error. The third-party example (examples/plugins/tail-drop.mjs) loads by path,
// in the main thread and in workers.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, test } from "vitest";
import {
  definePlugin, loadPlugins, planScenario, PluginError, runPlan, runScenario, ScenarioError, z, type LossBatch, type Scenario,
} from "../sdk/index.js";
import { pair } from "./helpers.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Bernoulli loss as a hook: each segment lost with probability p, from the plugin's own stream. */
const coin = definePlugin({
  kind: "loss", name: "coin", version: "1.0.0",
  options: z.strictObject({ p: z.number().min(0).max(1) }),
  hook: ({ p }, ctx) => ({
    decide(batch, drop) { for (let i = 0; i < batch.size; i++) drop[i] = ctx.random() < p ? 1 : 0; },
  }),
});

const busy = (loss: Record<string, unknown>, over: Partial<Parameters<typeof pair>[0]> = {}): Scenario =>
  pair({ duration: "60s", trace: 0, workload: { rate: 50, count: 0, request: 2000, response: 20000 }, loss: loss as never, ...over });

describe("the hook tier", () => {
  test("a hook's loss rate is its p within 3 standard errors, deterministic per seed", async () => {
    const p = 0.05;
    const r = await runScenario(busy({ plugin: "coin", p }), { plugins: [coin], flavour: "debug" });
    expect(r.error).toBeUndefined();
    const { sent, dropped } = r.totals.segments;
    expect(sent).toBeGreaterThan(20_000);
    expect(Math.abs(dropped / sent - p)).toBeLessThan(3 * Math.sqrt(p * (1 - p) / sent));
    const again = await runScenario(busy({ plugin: "coin", p }), { plugins: [coin] });
    expect({ ...again.totals }).toEqual({ ...r.totals });
    const other = await runScenario(busy({ plugin: "coin", p }), { plugins: [coin], seed: 2 });
    expect(other.totals.segments.dropped).not.toBe(r.totals.segments.dropped);
  });

  test("one call per direction per epoch, never per segment; every segment decided before it can arrive", async () => {
    const seen: { from: string; size: number; first: number; last: number }[] = [];
    const spy = definePlugin({
      kind: "loss", name: "spy", version: "0.1.0",
      hook: () => ({ decide(b: LossBatch) { seen.push({ from: b.from, size: b.size, first: b.t[0], last: b.t[b.size - 1] }); } }),
    });
    // 2 ms one way, 5 ms back: the epoch is 2 ms; the debug engine asserts no undecided arrival.
    const r = await runScenario(busy({ plugin: "spy" }, { latency: undefined }), { plugins: [spy], flavour: "debug" });
    expect(r.error).toBeUndefined();
    const decided = seen.reduce((a, s) => a + s.size, 0);
    expect(decided).toBe(r.totals.segments.sent);
    expect(seen.length).toBeLessThan(decided / 3);       // batches, not segments
    for (const s of seen) expect(s.last - s.first).toBeLessThan(0.001 + 1e-9); // within one epoch (1 ms link)
    expect(new Set(seen.map((s) => s.from))).toEqual(new Set(["client", "server"]));
  });

  test("a hook that throws stops the run with an error naming the plugin; the samples so far are kept", async () => {
    let calls = 0;
    const faulty = definePlugin({
      kind: "loss", name: "faulty", version: "2.0.0",
      hook: () => ({ decide() { if (++calls === 500) throw new Error("out of ideas"); } }),
    });
    const r = await runScenario(busy({ plugin: "faulty" }), { plugins: [faulty], sliceEvents: 10_000 });
    expect(r.error).toBe('plugin "faulty": threw: out of ideas; the samples so far are kept');
    expect(r.series.t.length).toBeGreaterThan(1);
    expect(r.series.t.at(-1)).toBeLessThan(60);
  });

  test("an async hook that never answers is stopped after hookTimeout, named", async () => {
    const stuck = definePlugin({ kind: "loss", name: "stuck", version: "1.0.0", hook: () => ({ decide: () => new Promise<void>(() => {}) }) });
    const r = await runScenario(busy({ plugin: "stuck" }), { plugins: [stuck], hookTimeout: 200 });
    expect(r.error).toBe('plugin "stuck": a batch took longer than 200 ms (hookTimeout); the samples so far are kept');
  });
});

describe("the kernel tier", () => {
  test("a kernel plugin runs in the engine: the same result as the built-in model it names", async () => {
    const kernelCoin = definePlugin({
      kind: "loss", name: "kernel-coin", version: "1.0.0",
      options: z.strictObject({ percent: z.number().min(0).max(100) }),
      kernel: ({ percent }) => ({ model: "bernoulli", p: percent / 100 }),
    });
    const viaPlugin = await runScenario(busy({ plugin: "kernel-coin", percent: 3 }), { plugins: [kernelCoin] });
    const builtIn = await runScenario(busy({ plugin: "bernoulli", p: 0.03 }));
    expect(viaPlugin.totals).toEqual(builtIn.totals);
    expect(viaPlugin.series).toEqual(builtIn.series);
  });
});

describe("checks and errors", () => {
  test("options are checked by the plugin's schema before anything runs, naming the field and the plugin", async () => {
    await expect(runScenario(busy({ plugin: "coin", p: 2 }), { plugins: [coin] })).rejects.toThrow(
      'scenario.links.0.loss.p: must be at most 1, got number 2 (plugin "coin" 1.0.0)');
    await expect(runScenario(busy({ plugin: "coin", p: 0.1, rate: 1 }), { plugins: [coin] })).rejects.toThrow(
      'scenario.links.0.loss.rate: unknown field. Allowed: plugin, p (plugin "coin" 1.0.0)');
  });

  test("an unknown plugin name lists the built-ins; a module that is not a plugin says so", async () => {
    expect(() => planScenario(busy({ plugin: "coln", p: 0.1 }))).toThrow(ScenarioError);
    const notPlugin = pathToFileURL(join(ROOT, "examples/default.json")).href;
    await expect(loadPlugins(busy({ plugin: "./test/helpers.ts" }))).rejects.toThrow(/a plugin module is JavaScript/);
    await expect(loadPlugins(busy({ plugin: "./does-not-exist.mjs" }), [], ROOT)).rejects.toThrow(
      /^scenario\.links\.0\.loss\.plugin: cannot load "\.\/does-not-exist\.mjs"/);
    expect(notPlugin).toContain("default.json");
  });

  test.each([
    [{ name: "", version: "1", kind: "loss", hook: () => ({ decide() {} }) }, "needs a name"],
    [{ name: "x", kind: "loss", hook: () => ({ decide() {} }) }, "needs a version"],
    [{ name: "x", version: "1", kind: "allocator", hook: () => ({ decide() {} }) }, 'kind "allocator" is not supported'],
    [{ name: "x", version: "1", kind: "loss" }, "needs a kernel(options) or a hook(options, context)"],
  ])("definePlugin refuses a malformed plugin: %#", (p, says) => {
    expect(() => definePlugin(p as never)).toThrow(PluginError);
    expect(() => definePlugin(p as never)).toThrow(says);
  });
});

describe("a third-party plugin by path (examples/plugins/tail-drop.mjs)", () => {
  const scenario = JSON.parse(readFileSync(join(ROOT, "examples/tail-drop.json"), "utf8"));
  const withCapacity = (capacity: number) => ({ ...scenario, links: [{ ...scenario.links[0], loss: { ...scenario.links[0].loss, capacity } }] });
  const load = (s: unknown) => loadPlugins(s, [], join(ROOT, "examples"));

  test("drops only when the queue is full: none with a deep queue, tails with a shallow one", async () => {
    const deep = withCapacity(10_000);
    const deepPlan = planScenario(deep, { plugins: await load(deep) });
    expect((await runPlan(deepPlan)).totals.segments.dropped).toBe(0);
    const shallow = withCapacity(8);
    const r = await runPlan(planScenario(shallow, { plugins: await load(shallow) }));
    expect(r.totals.segments.dropped).toBeGreaterThan(1000);
    expect(r.totals.segments.retransmitted).toBeGreaterThan(r.totals.segments.dropped / 2);
  });

  test("the CLI loads it relative to the scenario file", () => {
    const run = spawnSync(process.execPath, ["bin/connsim.mjs", "run", "examples/tail-drop.json", "--quiet", "--json", "-"], { cwd: ROOT, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).totals.segments.dropped).toBeGreaterThan(1000);
  });

  test("in workers too: two groups, each through the plugin, sharded, equal to one thread", async () => {
    const two = {
      ...scenario,
      hosts: { ...scenario.hosts, c2: { ip: "10.0.1.1" }, s2: { ip: "10.0.1.2", listen: [{ port: 80 }] } },
      links: [...scenario.links, { ...scenario.links[0], between: ["c2", "s2"] }],
      workloads: [...scenario.workloads, { ...scenario.workloads[0], from: "c2", to: "s2:80" }],
    };
    const plugins = await load(two);
    const plan = planScenario(two, { plugins });
    const one = await runPlan(plan);
    const { WorkerPool, runOnPool } = await import("../sdk/index.js");
    const pool = new WorkerPool({ workers: 2 });
    try {
      const sharded = await runOnPool(plan, pool);
      expect(sharded.engine.workers).toBe(2);
      expect(sharded.error).toBeUndefined();
      expect(sharded.totals).toEqual(one.totals);
      expect(sharded.series).toEqual(one.series);
    } finally {
      await pool.close();
    }
  });
});

describe("built-in plugins by name (plugins/, written against the public API)", () => {
  const through = (rate: number) => ({
    name: "policed", seed: 1, duration: "30s", sample: "1s", trace: 100,
    hosts: { client: { ip: "10.0.0.1" }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "5ms", loss: { plugin: "policer", rate, burst: 30000 } }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 2, arrival: "constant", request: 100, response: 500_000 }],
  });
  const delivered = (r: Awaited<ReturnType<typeof runScenario>>) =>
    r.traces!.flatMap((t) => t.segments).filter((s) => s.from === "server" && s.fate === "delivered").reduce((a, s) => a + s.len + 40, 0);

  test("policer: below its rate nothing is dropped; above it, what passes stays under rate x time + burst", async () => {
    const free = await runScenario(through(10_000_000));
    expect(free.error).toBeUndefined();
    expect(free.totals.segments.dropped).toBe(0);
    const policed = await runScenario(through(400_000)); // 1 MB/s offered, 400 kB/s allowed
    expect(policed.totals.segments.dropped).toBeGreaterThan(100);
    // Both directions share nothing: the server's bucket alone bounds what reaches the client.
    expect(delivered(policed)).toBeLessThanOrEqual(400_000 * 30 + 30_000);
    expect(delivered(policed)).toBeGreaterThan(0.5 * 400_000 * 30); // and TCP still gets a fair share through
  });

  test("an unknown name is still refused with the built-in models listed", async () => {
    await expect(runScenario({ ...through(1), links: [{ between: ["client", "server"], latency: "5ms", loss: { plugin: "polcer" } }] } as never))
      .rejects.toThrow(/^scenario\.links\.0\.loss\.plugin: unknown plugin "polcer"/);
  });
});
