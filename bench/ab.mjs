// A/B of engine builds on the benchmark's workload (bench/workload.mjs, as bench/run.mjs),
// through dist/index.js runPlan with each given .wasm, pinned with taskset, the builds
// alternated A, B, A, B, ... because the machine's speed drifts; medians of events/s
// per build at the end, and the median of the per-round ratios (paired, so drift
// between rounds cancels). By default each run is a fresh process (a warm-up run, then
// one timed run of 1M connections); with --inproc one process warms every build up and
// then alternates them (rotating which goes first), which keeps the pairs close in time.
//
//   node scripts/build.mjs && cp build/engine.wasm /tmp/base.wasm   # (on the base commit)
//   node bench/ab.mjs /tmp/base.wasm build/engine.wasm [--runs 5] [--quick] [--cpu 1] [--inproc] [--connections N] [--base-root DIR]
//
// --base-root DIR runs build A with the SDK of DIR (a built checkout of the base commit),
// for a change that adds a number to the ABI the old engine refuses (a new host knob).
//
// The runs must agree on events and segment events per build; a difference between the
// builds is reported (a change of event order shows here first).

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./ts-kernel/load.mjs";
import { churnScenario, warmScenario } from "./workload.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);

async function timedRun(dist, plan, engineModule) {
  const cpu0 = process.cpuUsage();
  const r = await dist.runPlan(plan, { engineModule, sliceEvents: 1_000_000 });
  const cpu = process.cpuUsage(cpu0);
  if (r.error) throw new Error(r.error);
  return { wall: r.engine.wallSeconds, cpu: (cpu.user + cpu.system) / 1e6, events: r.engine.events, segmentEvents: r.engine.segmentEvents,
    completed: r.totals.completed, sent: r.totals.segments.sent };
}

if (process.env.CONNSIM_AB_CHILD) {
  // One timed run of one build, or with CONNSIM_AB_INPROC all of them in rounds.
  const files = process.env.CONNSIM_AB_CHILD.split("\n");
  const connections = Number(process.env.CONNSIM_AB_CONNECTIONS);
  const rounds = Number(process.env.CONNSIM_AB_ROUNDS ?? "1");
  const scenario = churnScenario(connections);
  const dist = await import(pathToFileURL(join(process.env.CONNSIM_AB_ROOT || ROOT, "dist", "index.js")).href);
  const modules = files.map((f) => WebAssembly.compile(readFileSync(f)));
  const warm = dist.planScenario(warmScenario(scenario));
  for (const m of modules) await dist.runPlan(warm, { engineModule: await m, sliceEvents: 1_000_000 });
  const plan = dist.planScenario(scenario);
  for (let i = 0; i < rounds; i++) {
    for (let k = 0; k < files.length; k++) {
      const f = (i + k) % files.length; // rotate which build goes first
      globalThis.gc?.();
      console.log(JSON.stringify({ round: i, file: f, ...await timedRun(dist, plan, await modules[f]) }));
    }
  }
  process.exit(0);
}

const files = args.filter((a, i) => !a.startsWith("--") && !(i > 0 && ["--runs", "--cpu", "--connections", "--base-root"].includes(args[i - 1])));
const BASE_ROOT = opt("--base-root", "");
if (BASE_ROOT && args.includes("--inproc")) { console.error("--base-root runs each build in its own process: not with --inproc"); process.exit(2); }
if (files.length < 2) { console.error("usage: node bench/ab.mjs A.wasm B.wasm [--runs N] [--quick] [--cpu C] [--inproc] [--connections N]"); process.exit(2); }
const RUNS = Number(opt("--runs", "5"));
const CPU = opt("--cpu", "1");
const INPROC = args.includes("--inproc");
const CONNECTIONS = Number(opt("--connections", args.includes("--quick") ? 100_000 : INPROC ? 300_000 : 1_000_000));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const results = files.map(() => []);
const show = (x, f) => console.log(`run ${x.round + 1} ${String.fromCharCode(65 + f)} ${files[f]}: ${x.wall.toFixed(3)} s (cpu ${x.cpu.toFixed(3)} s), ` +
  `${(x.events / x.wall / 1e6).toFixed(3)} M events/s, ${(x.segmentEvents / x.wall / 1e6).toFixed(3)} M segment events/s`);
const child = (which, rounds) => {
  const r = spawnSync("taskset", ["-c", CPU, process.execPath, "--expose-gc", process.argv[1]], {
    env: { ...process.env, CONNSIM_AB_CHILD: which.map((f) => resolve(f)).join("\n"), CONNSIM_AB_CONNECTIONS: String(CONNECTIONS),
      CONNSIM_AB_ROUNDS: String(rounds), CONNSIM_AB_ROOT: BASE_ROOT && which[0] === files[0] ? resolve(BASE_ROOT) : "" }, encoding: "utf8",
  });
  if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
  return r.stdout.trim().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
};
if (INPROC) {
  for (const x of child(files, RUNS)) { results[x.file][x.round] = x; show(x, x.file); }
} else {
  for (let i = 0; i < RUNS; i++) {
    for (let f = 0; f < files.length; f++) {
      const x = { ...child([files[f]], 1)[0], round: i };
      results[f].push(x);
      show(x, f);
    }
  }
}
console.log("");
for (let f = 0; f < files.length; f++) {
  const rs = results[f];
  const counts = new Set(rs.map((x) => `${x.events}/${x.segmentEvents}/${x.completed}/${x.sent}`));
  const w = median(rs.map((x) => x.wall));
  const c = median(rs.map((x) => x.cpu));
  console.log(`${String.fromCharCode(65 + f)} ${files[f]}: median of ${rs.length}: ${w.toFixed(3)} s (cpu ${c.toFixed(3)} s), ` +
    `${(rs[0].events / w / 1e6).toFixed(3)} M events/s, ${(rs[0].segmentEvents / w / 1e6).toFixed(3)} M segment events/s, ` +
    `${(w / rs[0].events * 1e9).toFixed(1)} ns/event; counts (events/segment events/completed/sent) ${[...counts].join(" | ")}`);
}
const base = median(results[0].map((x) => x.wall));
const baseCpu = median(results[0].map((x) => x.cpu));
for (let f = 1; f < files.length; f++) {
  const w = median(results[f].map((x) => x.wall));
  const c = median(results[f].map((x) => x.cpu));
  const paired = median(results[f].map((x, i) => results[0][i].wall / x.wall));
  console.log(`${String.fromCharCode(65 + f)} / A speed: ${(base / w).toFixed(3)}x by median wall time, ${(baseCpu / c).toFixed(3)}x by median cpu time, ` +
    `${paired.toFixed(3)}x median of the ${results[f].length} paired ratios`);
}
