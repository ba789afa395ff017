// The queue bench: sweeps through BullMQ on a redis-server of its own (loopback, a free
// port, no persistence), run as a user runs them: `connsim worker` processes and a
// `connsim sweep --queue` submitter.
//
// 1. The queue's overhead: N points of a near-empty scenario (one connection, 10 ms
//    simulated), through the queue to one worker process, against the same sweep on the
//    local pool: jobs per second each way.
// 2. A 40-point sweep (the default study, 60 s simulated, tw_reuse 0/1 x 20 rates) on
//    1 worker process against 2, each process running one job at a time
//    (--concurrency 1): the speed-up is what a second machine gives.
// Each measurement uses a fresh database, so no point is reused from an earlier one.
// Results: a table on stdout and bench/results/queue.json.
//
//   node bench/queue.mjs [--jobs N]

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import { join } from "node:path";
import { ROOT } from "./ts-kernel/load.mjs";

const args = process.argv.slice(2);
const JOBS = args.includes("--jobs") ? Number(args[args.indexOf("--jobs") + 1]) : 200;
const REDIS = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find(existsSync);
if (!REDIS) {
  console.error("bench/queue.mjs needs redis-server (apt-get install redis-server)");
  process.exit(2);
}
const CLI = join(ROOT, "bin", "connsim.mjs");

const dir = mkdtempSync(join(os.tmpdir(), "connsim-queue-bench-"));
const server = createServer();
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const port = server.address().port;
await new Promise((r) => server.close(r));
const redis = spawn(REDIS, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no"], { stdio: "ignore" });
const { Redis } = await import("ioredis");
const probe = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 50, maxRetriesPerRequest: null });
probe.on("error", () => {});
await probe.ping();

const def = JSON.parse(readFileSync(join(ROOT, "examples", "default.json"), "utf8"));
writeFileSync(join(dir, "empty.json"), JSON.stringify({ ...def, name: "empty", duration: "10ms", sample: "10ms", workloads: [{ ...def.workloads[0], rate: 100, arrival: "constant" }] }));
writeFileSync(join(dir, "study.json"), JSON.stringify({ ...def, duration: "60s" }));
const EMPTY = ["sweep", "empty.json", "--vary", `seed=1:${JOBS}:${JOBS}`, "--quiet"];
const STUDY = ["sweep", "study.json", "--vary", "hosts.client.tcp.twReuse=0,1", "--vary", "workloads.0.rate=100:900:20", "--quiet"];

let db = 0;
/** Wall seconds of a queued sweep with `workers` worker processes at `concurrency`, on a fresh database. */
async function queued(sweep, workers, concurrency) {
  db++;
  const url = `redis://127.0.0.1:${port}/${db}`;
  const procs = Array.from({ length: workers }, () => spawn(process.execPath, [CLI, "worker", "--queue", url, "--concurrency", String(concurrency)], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] }));
  await Promise.all(procs.map((p) => new Promise((r) => {
    let text = "";
    p.stderr.on("data", (d) => { text += d; if (text.includes("takes jobs")) r(); });
  })));
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...sweep, "--queue", url], { cwd: dir, encoding: "utf8" });
  const wall = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`queued sweep failed: ${r.stderr}`);
  await Promise.all(procs.map((p) => new Promise((done) => { p.once("exit", done); p.kill("SIGTERM"); })));
  return wall;
}
function local(sweep, workers) {
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...sweep, "--workers", String(workers)], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`local sweep failed: ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

try {
  const cores = os.availableParallelism();
  const emptyLocal = local(EMPTY, cores);
  const emptyQueued = await queued(EMPTY, 1, cores);
  const studyOne = await queued(STUDY, 1, 1);
  const studyTwo = await queued(STUDY, 2, 1);
  const rows = [
    [`${JOBS} near-empty points, local pool of ${cores}`, emptyLocal, JOBS / emptyLocal],
    [`${JOBS} near-empty points, queue, 1 worker x ${cores}`, emptyQueued, JOBS / emptyQueued],
    ["40-point study, queue, 1 worker process", studyOne, 40 / studyOne],
    ["40-point study, queue, 2 worker processes", studyTwo, 40 / studyTwo],
  ];
  console.log(`\nconnsim queue bench: redis-server ${spawnSync(REDIS, ["--version"], { encoding: "utf8" }).stdout.match(/v=(\S+)/)?.[1]}, ${cores} cores, node ${process.version}`);
  console.log(`${"".padEnd(48)}${"wall (s)".padStart(10)}${"points/s".padStart(10)}`);
  for (const [name, wall, rate] of rows) console.log(`${name.padEnd(48)}${wall.toFixed(2).padStart(10)}${rate.toFixed(1).padStart(10)}`);
  const overheadMs = (emptyQueued / JOBS - emptyLocal / JOBS) * 1000;
  console.log(`the queue's cost per point:                     ${overheadMs.toFixed(1)} ms (wall, both including the CLI's start)`);
  console.log(`40-point study, 2 worker processes vs 1:        ${(studyOne / studyTwo).toFixed(2)}x`);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "queue.json"), JSON.stringify({
    date: new Date().toISOString(), node: process.version, cores, jobs: JOBS,
    empty: { localSeconds: emptyLocal, queuedSeconds: emptyQueued, queuedJobsPerSecond: JOBS / emptyQueued, overheadMsPerJob: overheadMs },
    study: { oneWorkerSeconds: studyOne, twoWorkersSeconds: studyTwo, speedup: studyOne / studyTwo },
  }, null, 2) + "\n");
} finally {
  probe.disconnect();
  redis.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
