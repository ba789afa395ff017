// One form for plugins: runScenario, planScenario and runPlan all take a list of plugin
// objects (runPlan runs the hooks). A scenario that names a module by path needs it
// loaded for planScenario (loadPlugins); runScenario loads it itself.
import { readFileSync } from "node:fs";
import { definePlugin, loadPlugins, planScenario, runPlan, runScenario, z } from "connsim";

const everyTenth = definePlugin({
  kind: "loss", name: "every-tenth", version: "1.0.0",
  options: z.strictObject({ from: z.number().int().min(0) }),
  hook: ({ from }) => ({
    decide(batch, drop) {
      for (let i = 0; i < batch.size; i++) drop[i] = batch.conn[i] >= from && batch.conn[i] % 10 === 0 ? 1 : 0;
    },
  }),
});

const scenario = JSON.parse(readFileSync(new URL("../default.json", import.meta.url), "utf8"));
scenario.duration = "10s";
scenario.links[0].loss = { plugin: "every-tenth", from: 100 };

const ran = await runScenario(scenario, { plugins: [everyTenth] });
const planned = await runPlan(planScenario(scenario, { plugins: [everyTenth] }), { plugins: [everyTenth] });
console.log("runScenario:", ran.totals.completed, "completed,", ran.totals.segments.dropped, "dropped");
console.log("planScenario:", planned.totals.completed, "completed,", planned.totals.segments.dropped, "dropped");

// A plugin module named by path, relative to baseDir (here, examples/).
const bottleneck = JSON.parse(readFileSync(new URL("../tail-drop.json", import.meta.url), "utf8"));
const baseDir = new URL("..", import.meta.url).pathname;
const plugins = await loadPlugins(bottleneck, [], baseDir);
console.log("loaded:", plugins.map((p) => p.name).join(", "));
console.log("retransmitted:", (await runPlan(planScenario(bottleneck, { plugins }))).totals.segments.retransmitted);
