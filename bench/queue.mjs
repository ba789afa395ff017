// The queue bench: sweeps through BullMQ on a redis-server of its own (loopback, a free
// port, no persistence), run as a user runs them: `connsim worker` processes and a
// `connsim sweep --queue` submitter.
//
// 1. The queue's overhead: N points of a near-empty scenario (one connection, 10 ms
//    simulated), through the queue to one worker process, against the same sweep on the
//    local pool: jobs per second each way, and CPU per point past the processes' start
//    (a 1-point sweep each way is that start).
// 2. A 40-point sweep (the default study, 120 s simulated, tw_reuse 0/1 x 20 rates up to 2,000/s) on
//    1 worker process against 2, each process running one job at a time
//    (--concurrency 1): the speed-up is what a second machine gives.
// Each measurement uses a fresh database, so no point is reused from an earlier one.
// Wall time and CPU time (all the processes: submitter, workers, redis-server) of each.
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
  console.log("\nconnsim queue bench: skipped, redis-server is not installed (apt-get install redis-server)");
  process.exit(0);
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
writeFileSync(join(dir, "study.json"), JSON.stringify(def));
const empty = (n) => ["sweep", "empty.json", "--vary", n > 1 ? `seed=1:${n}:${n}` : "seed=1", "--quiet"];
const STUDY = ["sweep", "study.json", "--vary", "hosts.client.tcp.twReuse=0,1", "--vary", "workloads.0.rate=100:2000:20", "--quiet"];

/**
 * CPU seconds of this process's finished children (the CLI processes: workers once they
 * have exited, submitters, local sweeps) plus redis-server's own, from /proc: wall time
 * on a machine shared with other work says little, CPU time says what a point costs.
 */
const TICK = 100; // USER_HZ on Linux
const stat = (pid) => readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
function cpu() {
  const self = stat("self"); // fields 14-17 of stat(5): utime stime cutime cstime, counted from state (3)
  const r = stat(redis.pid);
  return (Number(self[13]) + Number(self[14]) + Number(r[11]) + Number(r[12])) / TICK;
}

let db = 0;
/** Wall seconds of a queued sweep with `workers` worker processes at `concurrency`, on a fresh database. */
async function queued(sweep, workers, concurrency) {
  db++;
  const c = cpu();
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
  return { wall, cpu: cpu() - c };
}
function local(sweep, workers) {
  const c = cpu();
  const t = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...sweep, "--workers", String(workers)], { cwd: dir, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`local sweep failed: ${r.stderr}`);
  return { wall: (performance.now() - t) / 1000, cpu: cpu() - c };
}

try {
  const cores = os.availableParallelism();
  // A sweep of 1 point says what starting the processes costs; the rest is per point.
  const localOne = local(empty(1), cores);
  const emptyLocal = local(empty(JOBS), cores);
  const queuedOne = await queued(empty(1), 1, cores);
  const emptyQueued = await queued(empty(JOBS), 1, cores);
  const studyOne = await queued(STUDY, 1, 1);
  const studyTwo = await queued(STUDY, 2, 1);
  const rows = [
    [`${JOBS} near-empty points, local pool of ${cores}`, emptyLocal, JOBS],
    [`${JOBS} near-empty points, queue, 1 worker x ${cores}`, emptyQueued, JOBS],
    ["40-point study, queue, 1 worker process", studyOne, 40],
    ["40-point study, queue, 2 worker processes", studyTwo, 40],
  ];
  const load = os.loadavg()[0];
  console.log(`\nconnsim queue bench: redis-server ${spawnSync(REDIS, ["--version"], { encoding: "utf8" }).stdout.match(/v=(\S+)/)?.[1]}, ${cores} cores, node ${process.version}, load average ${load.toFixed(1)}`);
  console.log(`${"".padEnd(48)}${"wall (s)".padStart(10)}${"points/s".padStart(10)}${"CPU (s)".padStart(10)}`);
  for (const [name, m, n] of rows) console.log(`${name.padEnd(48)}${m.wall.toFixed(2).padStart(10)}${(n / m.wall).toFixed(1).padStart(10)}${m.cpu.toFixed(2).padStart(10)}`);
  const perPoint = (all, one) => ((all.cpu - one.cpu) / (JOBS - 1)) * 1000;
  const [localMs, queuedMs] = [perPoint(emptyLocal, localOne), perPoint(emptyQueued, queuedOne)];
  const overheadMs = queuedMs - localMs;
  const speedup = studyOne.wall / studyTwo.wall;
  console.log(`CPU per near-empty point, past the processes' start: ${localMs.toFixed(1)} ms local, ${queuedMs.toFixed(1)} ms through the queue: the queue's cost ${overheadMs.toFixed(1)} ms`);
  console.log(`40-point study, 2 worker processes vs 1 (wall):   ${speedup.toFixed(2)}x${load > cores ? ` (a load average of ${load.toFixed(1)} on ${cores} cores: other work took the second core)` : ""}`);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "queue.json"), JSON.stringify({
    date: new Date().toISOString(), node: process.version, cores, jobs: JOBS, loadAverage: load,
    empty: { localOne, local: emptyLocal, queuedOne, queued: emptyQueued, queuedJobsPerSecond: JOBS / emptyQueued.wall, cpuMsPerJob: { local: localMs, queued: queuedMs, queue: overheadMs } },
    study: { one: studyOne, two: studyTwo, speedup },
  }, null, 2) + "\n");
} finally {
  probe.disconnect();
  redis.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}
