// Start-up: how soon a small run gets going, and how a sweep of small points divides
// over workers (issue 19). Reports, as medians of --rounds runs (default 7):
//   - the time from the CLI starting to the engine's first event, for a 1-connection
//     scenario run by `node bin/connsim.mjs run`, and the CPU time in it: issue 19's
//     target (100 ms). bench/startup-probe.mjs, loaded with --import, notes when Node
//     hands over to the main module (the CLI starting: what comes before is Node's own
//     start, which no code of connsim's changes) and when the engine's first run() call
//     comes. Beside it, the time from the process starting to the first event, and
//     Node's bare start (`node -e 0`, the whole process);
//   - the whole process's wall time for that run, by `node bin/connsim.mjs` and by the
//     package bin through npx (`npx connsim`, which adds npm's own start);
//   - a sweep of 8 small points (the churn workload, --connections each, default
//     20,000, seeds 1-8) from a cold start in a new process (`connsim sweep`), on 1
//     worker and on 2: the wall time of each and the 1/2 ratio, and the CPU time the
//     process used (all its threads; the probe notes it at exit); and what bounds the
//     ratio: each point's engine time (the result's engine.wallSeconds), the rest of
//     the 1-worker sweep as a fixed cost, and the ratio that cost leaves at best.
// The machine's load average is printed with the figures: on a shared machine they move.
// --tree DIR measures another checkout (built) the same way, for a before and after;
// --only run or --only sweep measures one half.
// Results: a table on stdout and bench/results/startup.json.
//
//   node bench/startup.mjs [--rounds N] [--connections N] [--tree DIR] [--only run|sweep]

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { ROOT } from "./ts-kernel/load.mjs";
import { churnScenario } from "./workload.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : dflt);
const ROUNDS = opt("--rounds", 7);
const CONNECTIONS = opt("--connections", 20_000);
const TREE = args.includes("--tree") ? args[args.indexOf("--tree") + 1] : ROOT;
const ONLY = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const PROBE = join(ROOT, "bench/startup-probe.mjs");

const dir = mkdtempSync(join(os.tmpdir(), "connsim-startup-"));
const tiny = join(dir, "one-connection.json");
writeFileSync(tiny, JSON.stringify({
  name: "one-connection", duration: "2s",
  hosts: { client: { ip: "10.0.0.1" }, server: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
  links: [{ between: ["client", "server"], latency: "1ms" }],
  workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 1, count: 1 }],
}));
const sweepFile = join(dir, "sweep.json");
writeFileSync(sweepFile, JSON.stringify(churnScenario(CONNECTIONS)));

const min = (xs) => Math.min(...xs);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };

/** Runs a command, failing loudly; its wall time in ms. */
function timed(command, argv, env = {}) {
  const t0 = performance.now();
  const r = spawnSync(command, argv, { cwd: TREE, env: { ...process.env, ...env }, encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${command} ${argv.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const probeOut = join(dir, "probe.json");
const first = [], firstCpu = [], fromCli = [], fromCliCpu = [], whole = [], viaNpx = [], bare = [];
const sweep = { 1: [], 2: [] }, sweepCpu = { 1: [], 2: [] }, pointMs = [], sweepEngineMs = [];
const sweepJson = join(dir, "sweep.jsonl");
let rows;
for (let round = 0; round < ROUNDS; round++) {
  if (ONLY !== "sweep") runRound();
  if (ONLY !== "run") sweepRound(round);
}
rmSync(dir, { recursive: true, force: true });

function runRound() {
  timed(process.execPath, ["--import", PROBE, "bin/connsim.mjs", "run", tiny, "--quiet"], { STARTUP_PROBE_OUT: probeOut });
  const seen = JSON.parse(readFileSync(probeOut, "utf8"));
  first.push(seen.firstEventMs);
  firstCpu.push(seen.firstEventCpuMs);
  fromCli.push(seen.firstEventMs - seen.cliStartMs);
  fromCliCpu.push(seen.firstEventCpuMs - seen.cliStartCpuMs);
  bare.push(timed(process.execPath, ["-e", "0"]).ms);
  whole.push(timed(process.execPath, ["bin/connsim.mjs", "run", tiny, "--quiet"]).ms);
  viaNpx.push(timed("npx", ["--no-install", "connsim", "run", tiny, "--quiet"]).ms);
}

function sweepRound(round) {
  // Alternate the worker counts so a change in the machine's load falls on both.
  for (const workers of round % 2 ? [2, 1] : [1, 2]) {
    const r = timed(process.execPath, ["--import", PROBE, "bin/connsim.mjs", "sweep", sweepFile, "--vary", "seed=1:8:8", "--workers", String(workers), "--csv", "-", "--json", sweepJson, "--quiet"], { STARTUP_PROBE_OUT: probeOut });
    sweep[workers].push(r.ms);
    sweepCpu[workers].push(JSON.parse(readFileSync(probeOut, "utf8")).exitCpuMs);
    // The engine's own time in each point (its runPlan, in its worker).
    const engine = readFileSync(sweepJson, "utf8").trim().split("\n").map((line) => JSON.parse(line).engine.wallSeconds * 1000);
    if (workers === 1) { pointMs.push(...engine); sweepEngineMs.push(engine.reduce((a, b) => a + b, 0)); }
    if (rows === undefined) rows = r.stdout;
    else if (r.stdout !== rows) throw new Error(`the sweep on ${workers} workers gave another table than before:\n${r.stdout}\n${rows}`);
  }
}

const figures = {
  tree: TREE, date: new Date().toISOString(), node: process.version, cores: os.availableParallelism(), load: os.loadavg().map((l) => Number(l.toFixed(2))),
  rounds: ROUNDS, sweepConnectionsPerPoint: CONNECTIONS,
  firstEventFromCliMs: median(fromCli), firstEventFromCliCpuMs: median(fromCliCpu), firstEventFromCliMinMs: min(fromCli),
  nodeBareMs: median(bare),
  firstEventMs: median(first), firstEventCpuMs: median(firstCpu), firstEventMinMs: min(first), firstEventCpuMinMs: min(firstCpu),
  wholeMs: { node: median(whole), npx: median(viaNpx) },
  sweepMs: { 1: median(sweep[1]), 2: median(sweep[2]) },
  sweepCpuMs: { 1: median(sweepCpu[1]), 2: median(sweepCpu[2]) },
  sweepRatio: median(sweep[1].map((t, i) => t / sweep[2][i])),
  // What limits the ratio: the engine's time per point (1 worker), and the rest of the
  // 1-worker sweep (Node's start, the CLI's, the worker's, planning, the table) as a
  // fixed cost. Were that cost the same on 2 workers and the points split evenly, the
  // best ratio would be T1 / (fixed + engine / 2).
  sweepPointMs: median(pointMs),
  sweepFixedMs: median(sweep[1].map((t, i) => t - sweepEngineMs[i])),
  sweepBestRatio: median(sweep[1].map((t, i) => t / (t - sweepEngineMs[i] / 2))),
};
const f = (ms) => `${Math.round(ms)} ms`;
console.log(`node ${figures.node}, ${figures.cores} cores, load average ${figures.load.join(" ")}; medians of ${ROUNDS} rounds`);
if (ONLY !== "sweep") {
  console.log(`first event from the CLI starting (1-connection scenario)  ${f(figures.firstEventFromCliMs)} (CPU ${f(figures.firstEventFromCliCpuMs)}; least ${f(figures.firstEventFromCliMinMs)})`);
  console.log(`first event from the process starting                      ${f(figures.firstEventMs)} (CPU ${f(figures.firstEventCpuMs)}; least ${f(figures.firstEventMinMs)}, CPU ${f(figures.firstEventCpuMinMs)})`);
  console.log(`Node's bare start, node -e 0 (whole process)               ${f(figures.nodeBareMs)}`);
  console.log(`whole process, node bin/connsim.mjs run                     ${f(figures.wholeMs.node)}`);
  console.log(`whole process, npx connsim run                              ${f(figures.wholeMs.npx)}`);
}
if (ONLY !== "run") {
  console.log(`sweep of 8 x ${CONNECTIONS.toLocaleString("en-US")} connections, 1 worker                ${f(figures.sweepMs[1])} (CPU ${f(figures.sweepCpuMs[1])})`);
  console.log(`sweep of 8 x ${CONNECTIONS.toLocaleString("en-US")} connections, 2 workers               ${f(figures.sweepMs[2])} (CPU ${f(figures.sweepCpuMs[2])}): ${figures.sweepRatio.toFixed(2)}x`);
  console.log(`  a point's engine time ${f(figures.sweepPointMs)}; the 1-worker sweep's fixed cost ${f(figures.sweepFixedMs)}; best 2-worker ratio with that cost ${figures.sweepBestRatio.toFixed(2)}x`);
}
mkdirSync(join(ROOT, "bench/results"), { recursive: true });
writeFileSync(join(ROOT, `bench/results/startup${TREE === ROOT ? "" : "-tree"}.json`), JSON.stringify(figures, null, 2) + "\n");
