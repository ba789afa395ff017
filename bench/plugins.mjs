// The plugin bench: `npm run bench` runs it last.
//
// The churn workload (150,000 connections) on one link, in this thread, medians of 12
// runs per configuration:
// 1. The cost of the hook tier: Bernoulli loss (p = 1%) as the engine's kernel and as a
//    TypeScript hook through the batch buffer. Same model, so the difference is the
//    boundary: reported as decisions per second and nanoseconds per decision.
// 2. The cost of the kernel tier. Every built-in is a kernel plugin now (plugins/), the
//    workload included, so "without any plugin" is a link without `loss`: against it, a
//    third-party plugin whose kernel asks for no loss (the same engine setting; the
//    goal: within 5%), and the registered bernoulli plugin with p = 0 (which adds a
//    random draw per segment). Also the planning cost (plugin lookup, option schema,
//    kernel check) per run: planScenario on the bench scenario, 2000 times.
// Results: a table on stdout and bench/results/plugins.json. Run with --expose-gc (npm
// run bench does) so each run starts from a collected heap.

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./ts-kernel/load.mjs";

const sdk = await import(pathToFileURL(join(ROOT, "dist", "index.js")).href);
const N = 150_000;
const scenario = (loss) => ({
  name: "plugins", seed: 1, duration: `${N / 20000 + 3}s`, sample: "100ms",
  hosts: { c: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "2s" } }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
  links: [{ between: ["c", "s"], latency: "500us", ...(loss ? { loss } : {}) }],
  workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 20000, count: N }],
});

const coin = sdk.definePlugin({
  kind: "loss", name: "coin", version: "1.0.0",
  options: sdk.z.strictObject({ p: sdk.z.number() }),
  hook: ({ p }, ctx) => ({ decide(batch, drop) { for (let i = 0; i < batch.size; i++) drop[i] = ctx.random() < p ? 1 : 0; } }),
});
const lossless = sdk.definePlugin({
  kind: "loss", name: "lossless", version: "1.0.0",
  kernel: () => ({ model: "none" }),
});
const plugins = [coin, lossless];

// Two groups, each in turn for thirteen rounds (the first warms V8), each round starting
// one configuration later: medians, so that drift on a shared machine falls on all alike;
// the kernel tier's comparisons are medians of the ratios within a round (its runs are
// short, 0.15-0.25 s, and this VM's speed moves between rounds).
// The kernel tier is measured apart from the hook, whose garbage would slow the run after it.
const ROUNDS = 13;
const walls = {};
const last = {};
async function measure(configs) {
  const order = Object.entries(configs);
  for (const [k] of order) walls[k] = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, loss] of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
      globalThis.gc?.();
      const t0 = performance.now();
      const r = await sdk.runScenario(scenario(loss), { plugins });
      if (r.error) throw new Error(r.error);
      if (round > 0) walls[k].push((performance.now() - t0) / 1000);
      last[k] = r;
    }
  }
}
await measure({ none: undefined, kernelPlugin: { plugin: "lossless" }, builtinZero: { plugin: "bernoulli", p: 0 } });
await measure({ kernel: { plugin: "bernoulli", p: 0.01 }, hook: { plugin: "coin", p: 0.01 } });
const median = (xs) => { const w = [...xs].sort((a, b) => a - b); const m = w.length >> 1; return w.length % 2 ? w[m] : (w[m - 1] + w[m]) / 2; };
const summary = (k) => ({ wall: median(walls[k]), sent: last[k].totals.segments.sent, dropped: last[k].totals.segments.dropped, events: last[k].engine.events });
/** The median over rounds of k's wall time over the no-plugin run's in the same round. */
const pairedOverNone = (k) => median(walls[k].map((w, i) => w / walls.none[i]));
const [kernel, hook, builtinZero, kernelPlugin, none] = ["kernel", "hook", "builtinZero", "kernelPlugin", "none"].map(summary);

const perDecisionNs = ((hook.wall - kernel.wall) / hook.sent) * 1e9;
for (let i = 0; i < 200; i++) sdk.planScenario(scenario({ plugin: "lossless" }), { plugins }); // warm
const p0 = performance.now();
for (let i = 0; i < 2000; i++) sdk.planScenario(scenario({ plugin: "lossless" }), { plugins });
const planUs = ((performance.now() - p0) / 2000) * 1000;
const rows = [
  ["Bernoulli 1% as the engine's kernel", kernel],
  ["Bernoulli 1% as a TypeScript hook", hook],
  ["registered bernoulli plugin, p = 0", builtinZero],
  ["third-party kernel plugin, no loss", kernelPlugin],
  ["no loss plugin at all", none],
];
console.log(`\nconnsim plugin bench: ${N.toLocaleString("en-US")} connections, medians of ${ROUNDS - 1} interleaved runs`);
for (const [name, r] of rows) {
  console.log(`${name.padEnd(38)}${r.wall.toFixed(3).padStart(8)} s  ${(r.sent / r.wall / 1e6).toFixed(2)} M segments/s  (${r.dropped.toLocaleString("en-US")} dropped)`);
}
console.log(`hook decisions per second:            ${(hook.sent / hook.wall / 1e6).toFixed(2)} M (the whole run's segments / its wall time)`);
console.log(`a hook's cost per decision:           ${perDecisionNs.toFixed(0)} ns over the kernel`);
const kernelPluginOverNone = pairedOverNone("kernelPlugin"), bernoulliZeroOverNone = pairedOverNone("builtinZero");
console.log(`kernel plugin vs no plugin:           ${((kernelPluginOverNone - 1) * 100).toFixed(1)}% wall time, median of the rounds' ratios (the same engine setting: noise)`);
console.log(`bernoulli p = 0 vs no plugin:         ${((bernoulliZeroOverNone - 1) * 100).toFixed(1)}% wall time, median of the rounds' ratios (a random draw per segment)`);
console.log(`planning with plugins, per run:       ${planUs.toFixed(0)} us (lookup, options, kernel check)`);

mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "plugins.json"), JSON.stringify({
  date: new Date().toISOString(), connections: N, kernel, hook, builtinZero, kernelPlugin, none,
  hookNsPerDecision: perDecisionNs, kernelPluginOverNone, bernoulliZeroOverNone, planUs,
}, null, 2) + "\n");
