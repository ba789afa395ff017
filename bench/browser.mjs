// The browser bench: the engine bench's churn (bench/workload.mjs) in a Chromium module
// Web Worker (BrowserPool, dist/browser/) and in a Node worker thread (WorkerPool), the
// same plan, the same worker code (sdk/workers/api.ts), in one run of this script.
// Each side: a warm-up run, then `--reps` timed runs alternating Chromium and Node;
// events a second from the engine's own wall time in the worker (Result.engine), medians.
// The target: Chromium within 1.3x of Node. Needs /usr/bin/chromium (or --chromium PATH).
// Results: a table on stdout and bench/results/browser.json.
//
//   node bench/browser.mjs [--connections N] [--reps N] [--chromium PATH]

import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import os from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { execFileSync } from "node:child_process";
import { ROOT } from "./ts-kernel/load.mjs";
import { churnScenario, warmScenario } from "./workload.mjs";

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const CONNECTIONS = Number(opt("--connections", 500_000));
const REPS = Number(opt("--reps", 5));
const CHROMIUM = opt("--chromium", "/usr/bin/chromium");
if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (apt-get install chromium, or --chromium PATH)`);
for (const f of ["dist/index.js", "dist/browser/connsim.js", "dist/browser/engine.wasm"]) {
  if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing; run node scripts/build.mjs`);
}

const sdk = await import(pathToFileURL(join(ROOT, "dist", "index.js")).href);
const { chromium } = await import("playwright-core");
const scenario = churnScenario(CONNECTIONS);
const plan = sdk.planScenario(scenario);
const warm = sdk.planScenario(warmScenario(scenario));

// dist/browser/ and a page that makes a one-worker pool from it.
const PAGE = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">import * as connsim from "./connsim.js"; window.pool = new connsim.BrowserPool({ workers: 1 });</script>`;
const server = createServer((req, res) => {
  const name = new URL(req.url, "http://x").pathname.slice(1) || "index.html";
  if (name === "index.html") return res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
  const file = join(ROOT, "dist/browser", name);
  if (!/^[\w.-]+$/.test(name) || !existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { "content-type": name.endsWith(".wasm") ? "application/wasm" : "text/javascript" }).end(readFileSync(file));
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
const page = await browser.newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.waitForFunction(() => "pool" in window);
const chromiumVersion = browser.version();

const inChromium = (p) => page.evaluate(async (p) => {
  const r = await window.pool.run(p);
  return { events: r.engine.events, wallSeconds: r.engine.wallSeconds, completed: r.totals.completed };
}, p);
const nodePool = new sdk.WorkerPool({ workers: 1 });
const inNode = async (p) => {
  const r = await nodePool.run(p);
  return { events: r.engine.events, wallSeconds: r.engine.wallSeconds, completed: r.totals.completed };
};

await inChromium(warm);
await inNode(warm);
const runs = { chromium: [], node: [] };
for (let i = 0; i < REPS; i++) {
  // Alternated, and which goes first alternates too: the VM's speed drifts.
  const order = i % 2 ? [["node", inNode], ["chromium", inChromium]] : [["chromium", inChromium], ["node", inNode]];
  for (const [side, run] of order) runs[side].push(await run(plan));
}
await nodePool.close();
await browser.close();
server.close();

const [c0, n0] = [runs.chromium[0], runs.node[0]];
if (c0.events !== n0.events || c0.completed !== n0.completed) throw new Error(`Chromium and Node disagree: ${JSON.stringify(c0)} vs ${JSON.stringify(n0)}`);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (side) => median(runs[side].map((r) => r.events / r.wallSeconds));
const chromiumRate = rate("chromium"), nodeRate = rate("node");
const ratio = nodeRate / chromiumRate;
const range = (side) => runs[side].map((r) => r.events / r.wallSeconds / 1e6);
const cpu = os.cpus()[0]?.model ?? "unknown CPU";
let chromiumBinary = chromiumVersion;
try { chromiumBinary = execFileSync(CHROMIUM, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(); } catch { /* the version from the protocol */ }

console.log(`\nconnsim browser bench: ${CONNECTIONS.toLocaleString("en-US")} connections (${c0.events.toLocaleString("en-US")} events), ${REPS} runs each, ${os.cpus().length} cores (${cpu})`);
console.log(`${"".padEnd(34)}${"events/s (median)".padStart(18)}${"range".padStart(18)}`);
console.log(`${`Chromium worker (${chromiumVersion})`.padEnd(34)}${`${(chromiumRate / 1e6).toFixed(2)} M`.padStart(18)}${`${Math.min(...range("chromium")).toFixed(2)}-${Math.max(...range("chromium")).toFixed(2)} M`.padStart(18)}`);
console.log(`${`Node worker thread (${process.version})`.padEnd(34)}${`${(nodeRate / 1e6).toFixed(2)} M`.padStart(18)}${`${Math.min(...range("node")).toFixed(2)}-${Math.max(...range("node")).toFixed(2)} M`.padStart(18)}`);
console.log(`Node / Chromium: ${ratio.toFixed(2)}x (target: within 1.3x)`);

mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
writeFileSync(join(ROOT, "bench", "results", "browser.json"), JSON.stringify({
  date: new Date().toISOString(), node: process.version, chromium: chromiumBinary, cpus: os.cpus().length, connections: CONNECTIONS, events: c0.events,
  reps: REPS, chromiumEventsPerSecond: chromiumRate, nodeEventsPerSecond: nodeRate, nodeOverChromium: ratio, runs,
}, null, 2) + "\n");
