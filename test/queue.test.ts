// Sweeps on a BullMQ queue against a real redis-server (Debian's; .ci/run installs it):
// `connsim worker` processes and `connsim sweep --queue` submitters as a user runs them,
// each test on its own Redis database. The table always equals the local sweep's, byte
// for byte; the faults: a worker SIGKILLed mid-job, a job failing every try, Redis
// restarting, a submitter killed and started again.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { jobKey, parseQueueUrl, QUEUE_NAME, stableJson, type JobReturn, type SweepJob } from "../sdk/queue/job.js";
import { VERSION } from "../sdk/run.js";
import { connsim, ROOT } from "./cli-helpers.js";

const REDIS = ["/usr/bin/redis-server", "/usr/local/bin/redis-server"].find(existsSync);
if (!REDIS && process.env.CONNSIM_REQUIRE_REDIS === "1") throw new Error("redis-server is required (CONNSIM_REQUIRE_REDIS=1) but missing; apt-get install -y redis-server");

describe("queue URLs and job keys", () => {
  test("redis://host:port/db, rediss:// and a password; anything else is one line naming --queue", () => {
    expect(parseQueueUrl("redis://127.0.0.1:6380/2")).toEqual({ shown: "redis://127.0.0.1:6380/2", host: "127.0.0.1", port: 6380, db: 2, tls: false });
    expect(parseQueueUrl("rediss://:s3cret@redis.example:7000")).toEqual({ shown: "rediss://redis.example:7000", host: "redis.example", port: 7000, db: 0, tls: true, password: "s3cret" });
    expect(parseQueueUrl("redis://[::1]").port).toBe(6379);
    expect(() => parseQueueUrl("127.0.0.1:6379")).toThrow("--queue 127.0.0.1:6379: expected redis://host:port[/db]");
    expect(() => parseQueueUrl("redis://h:1/x")).toThrow('the database is a number, e.g. redis://127.0.0.1:6379/2, got "/x"');
  });

  test("the key: the same point in any key order is one job; seed, version and each byte of a plugin's source make another", () => {
    const job: SweepJob = { scenario: { a: 1, b: { c: [1, 2] } }, seed: 3, plugins: [{ ref: "./p.mjs", source: "export default 1;" }], version: VERSION };
    const key = jobKey(job);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(jobKey({ ...job, scenario: { b: { c: [1, 2] }, a: 1 } })).toBe(key);
    expect(stableJson({ b: 1, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"b":1}');
    for (const other of [{ seed: 4 }, { version: "0.0.0" }, { plugins: [{ ref: "./p.mjs", source: "export default 2;" }] }, { scenario: { a: 1, b: { c: [2, 1] } } }]) {
      expect(jobKey({ ...job, ...other }), JSON.stringify(other)).not.toBe(key);
    }
    // Where a large result is written is not part of what is computed.
    expect(jobKey({ ...job, results: "file:///tmp/r" })).toBe(key);
  });

  test("bad flags are one line each, before Redis is asked", () => {
    const r = connsim("sweep", "examples/default.json", "--vary", "workloads.0.rate=1,2", "--queue", "localhost:6379");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("connsim: --queue localhost:6379: expected redis://host:port[/db], e.g. redis://127.0.0.1:6379 (rediss:// for TLS)\n");
    expect(connsim("sweep", "examples/default.json", "--vary", "workloads.0.rate=1,2", "--results", "file:///tmp/x").stderr)
      .toBe("connsim: --results is for a queued sweep: --queue redis://HOST:PORT --results file:///DIR\n");
    expect(connsim("worker").stderr).toMatch(/^connsim: worker needs --queue redis:\/\/HOST:PORT; usage: connsim worker --queue/);
  });

  test("the queue library loads only for a queued sweep or a worker, not for a run", () => {
    // A resolve hook that names every import of bullmq or ioredis on stderr.
    const hook = `import { register } from "node:module"; register("data:text/javascript," + encodeURIComponent(
      'export async function resolve(s, c, n) { if (/^(bullmq|ioredis)$/.test(s)) process._rawDebug("imported " + s); return n(s, c); }'));`;
    const traced = (...args: string[]) => spawnSync(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(hook)}`, join(ROOT, "bin/connsim.mjs"), ...args], { cwd: ROOT, encoding: "utf8" });
    const run = traced("sweep", "examples/default.json", "--vary", "workloads.0.rate=10", "--workers", "1", "--quiet");
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toBe("");
    const worker = traced("worker", "--queue", "redis://127.0.0.1:1");
    expect(worker.stderr).toBe("imported bullmq\nimported ioredis\nconnsim: cannot reach Redis at redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1\n");
    expect(worker.status).toBe(1);
  });
});

// ---- against redis-server ----

// BullMQ's lock on a job and the stalled-job check: short where a killed worker's job
// is to be taken back, long enough elsewhere that a worker starved of CPU on a busy
// machine keeps its lock (losing it, its job would run again: correct, but not what
// those tests count).
const STALL_MS = { short: "1000", long: "5000" };
let dir: string;
let port: number;
let redisProcess: ChildProcess | undefined;
const children = new Set<ChildProcess>();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port: p } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return p;
}

/** redis-server on loopback with its append-only file in our directory: a restart keeps what was written. */
async function startRedis(): Promise<void> {
  redisProcess = spawn(REDIS!, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"], { stdio: "ignore" });
  const probe = new Redis({ port, host: "127.0.0.1", retryStrategy: () => 50, maxRetriesPerRequest: null });
  probe.on("error", () => {}); // until it listens
  await probe.ping();
  probe.disconnect();
}

async function stopRedis(): Promise<void> {
  const p = redisProcess!;
  const exited = new Promise((r) => p.once("exit", r));
  p.kill("SIGTERM"); // redis-server shuts down cleanly: the append-only file is complete
  await exited;
}

/** Each test's own database. */
const url = (db: number) => `redis://127.0.0.1:${port}/${db}`;

function cli(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [join(ROOT, "bin/connsim.mjs"), ...args], { cwd: dir, env: { ...process.env, CONNSIM_QUEUE_STALL_MS: STALL_MS.long, ...env } });
  children.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => { stdout += d; });
  child.stderr!.on("data", (d) => { stderr += d; });
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) => child.once("exit", (code) => { children.delete(child); r({ code, stdout, stderr }); }));
  return { child, exit, get stderr() { return stderr; } };
}

/** A `connsim worker` that has said it is taking jobs; its name is host:pid. */
async function worker(db: number, env: Record<string, string> = {}) {
  const w = cli(["worker", "--queue", url(db), "--concurrency", "1"], env);
  await until(() => w.stderr.includes("takes jobs from"), () => `worker did not start: ${w.stderr}`);
  return Object.assign(w, { name: /worker: (\S+) takes jobs/.exec(w.stderr)![1] });
}

async function until(done: () => boolean | Promise<boolean>, why: () => string, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(why());
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The test's view of a database's queue. */
function queueOf(db: number) {
  const connection = new Redis({ port, host: "127.0.0.1", db, maxRetriesPerRequest: null });
  connection.on("error", () => {});
  const queue = new Queue<SweepJob, JobReturn>(QUEUE_NAME, { connection });
  queue.on("error", () => {});
  return {
    queue,
    completed: () => queue.getJobs(["completed"]),
    close: async () => { await queue.close(); connection.disconnect(); },
  };
}

// 40 points of a shortened default study: tw_reuse 0/1 x 20 rates.
const SWEEP = ["sweep", "scenario.json", "--vary", "hosts.client.tcp.twReuse=0,1", "--vary", "workloads.0.rate=100:900:20"];
let local: { csv: string; table: string };

describe.skipIf(!REDIS)("on a real redis-server", () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "connsim-queue-"));
    const s = JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));
    writeFileSync(join(dir, "scenario.json"), JSON.stringify({ ...s, duration: "20s" }));
    port = await freePort();
    await startRedis();
    const r = spawnSync(process.execPath, [join(ROOT, "bin/connsim.mjs"), ...SWEEP, "--csv", "local.csv"], { cwd: dir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    local = { csv: readFileSync(join(dir, "local.csv"), "utf8"), table: r.stdout.replace(/wrote local\.csv\n$/, "") };
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    if (redisProcess && redisProcess.exitCode === null) await stopRedis();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("two workers finish a 40-point sweep whose table is the local one's; one SIGKILLed mid-job loses and doubles nothing", async () => {
    const q = queueOf(1);
    const [a, b] = [await worker(1, { CONNSIM_QUEUE_STALL_MS: STALL_MS.short }), await worker(1, { CONNSIM_QUEUE_STALL_MS: STALL_MS.short })];
    const sweep = cli([...SWEEP, "--queue", url(1), "--csv", "queued.csv"]);
    // Kill a mid-job: once a few points are done, freeze it (SIGSTOP: it can finish
    // nothing more) and look at the job it holds; none held (between two), let it go on.
    let held: Job | undefined;
    await until(async () => {
      if ((await q.completed()).length < 5) return false;
      a.child.kill("SIGSTOP");
      await new Promise((r) => setTimeout(r, 200)); // a command it sent before lands
      held = (await q.queue.getActive()).find((j) => j.processedBy === a.name);
      if (!held) a.child.kill("SIGCONT");
      return held !== undefined;
    }, () => `worker a never held a job: ${sweep.stderr}`);
    a.child.kill("SIGKILL");
    const done = await sweep.exit;
    expect(done.code, done.stderr).toBe(0);
    expect(readFileSync(join(dir, "queued.csv"), "utf8")).toBe(local.csv);
    expect(done.stdout).toBe(`${local.table}wrote queued.csv\n`);
    expect(done.stderr).toMatch(/connsim: 40\/40 done, 0 running, 0 failed\n$/);
    // The job a held went back to the queue when its lock lapsed, and b ran it.
    const again = (await Job.fromId<SweepJob, JobReturn>(q.queue, held!.id!))!;
    expect(again.processedBy).toBe(b.name);
    expect(again.finishedOn).toBeGreaterThan(0);
    // 40 jobs, each completed once (a stalled job is not a failed try).
    const jobs = await q.completed();
    expect(jobs).toHaveLength(40);
    expect(new Set(jobs.map((j) => j.id)).size).toBe(40);
    expect(jobs.every((j) => j.attemptsMade === 1), JSON.stringify(jobs.map((j) => j.attemptsMade))).toBe(true);
    b.child.kill("SIGTERM"); // finishes, then exits
    const bExit = await b.exit;
    expect(bExit.code).toBe(0);
    expect(bExit.stderr).toMatch(/SIGTERM: finishing the running jobs[^]*stopped after \d+ jobs done\n$/);
    await q.close();
  });

  test("a job failing all three tries is reported with its error; the rest of the sweep finishes, plugin by path and all", async () => {
    // A loss plugin that ends its thread at simulated time `at`: a worker crash, on every try.
    copyFileSync(join(ROOT, "test/fixtures/exit-loss.mjs"), join(dir, "exit-loss.mjs"));
    const s = JSON.parse(readFileSync(join(dir, "scenario.json"), "utf8"));
    s.duration = "10s";
    s.links[0].loss = { plugin: "./exit-loss.mjs", at: 1000 };
    writeFileSync(join(dir, "crash.json"), JSON.stringify(s));
    const w = await worker(2);
    const sweep = await cli(["sweep", "crash.json", "--vary", "links.0.loss.at=1000,5,2000", "--queue", url(2)]).exit;
    expect(sweep.code, sweep.stderr).toBe(1);
    const localRun = spawnSync(process.execPath, [join(ROOT, "bin/connsim.mjs"), "sweep", "crash.json", "--vary", "links.0.loss.at=1000,2000", "--workers", "1"], { cwd: dir, encoding: "utf8" });
    const good = localRun.stdout.split("\n").slice(1, 3);
    const rows = sweep.stdout.split("\n");
    expect(rows[0].startsWith(localRun.stdout.split("\n")[0]) && rows[0].endsWith("  error"), rows[0]).toBe(true);
    expect(rows[1].startsWith(good[0])).toBe(true);
    expect(rows[2]).toMatch(/^5 +worker \d+ crashed while running "port-exhaustion": exited with code 3 \(failed 3 times\)$/);
    expect(rows[3].startsWith(good[1])).toBe(true);
    expect(sweep.stderr).toMatch(/connsim: 2\/3 done, 0 running, 1 failed\nconnsim: 1 of 3 runs failed; their rows say why\n$/);
    expect(w.stderr.match(/failed on try \d/g)).toEqual(["failed on try 1", "failed on try 2", "failed on try 3"]);
    // Submitted again: the finished points are reused, the failed one gets three more tries.
    const again = await cli(["sweep", "crash.json", "--vary", "links.0.loss.at=1000,5,2000", "--queue", url(2)]).exit;
    const anyWorker = (text: string) => text.replace(/worker \d+ crashed/g, "worker N crashed");
    expect(anyWorker(again.stdout)).toBe(anyWorker(sweep.stdout));
    expect(again.stderr.split("\n")[0]).toBe("connsim: 3 points: 2 already done, 1 that failed before tried again");
    expect(w.stderr.match(/failed on try \d/g)).toHaveLength(6);
    w.child.kill("SIGINT");
    await w.exit;
  });

  test("a result above the size Redis holds goes to --results DIR, the job returning where; the figures are the local sweep's", async () => {
    const q = queueOf(5);
    const w = await worker(5, { CONNSIM_QUEUE_INLINE_BYTES: "2000" });
    const results = join(dir, "results");
    const args = ["sweep", "scenario.json", "--vary", "workloads.0.rate=100,900", "--json", "-", "--quiet"];
    const sweep = await cli([...args, "--queue", url(5), "--results", `file://${results}`]).exit;
    expect(sweep.code, sweep.stderr).toBe(0);
    const localRun = spawnSync(process.execPath, [join(ROOT, "bin/connsim.mjs"), ...args, "--workers", "1"], { cwd: dir, encoding: "utf8" });
    const figures = (jsonl: string) => jsonl.trim().split("\n").map((l) => { const { values, totals, peak } = JSON.parse(l); return { values, totals, peak }; });
    expect(figures(sweep.stdout)).toEqual(figures(localRun.stdout));
    const jobs = await q.completed();
    expect(jobs).toHaveLength(2);
    for (const job of jobs) {
      const ret = job.returnvalue as { ref: string; bytes: number; summary: { totals: unknown } };
      expect(ret.ref).toBe(`file://${results}/${job.id}.json`);
      const whole = JSON.parse(readFileSync(join(results, `${job.id}.json`), "utf8"));
      expect(Buffer.byteLength(JSON.stringify(whole))).toBe(ret.bytes);
      expect(ret.bytes).toBeGreaterThan(2000);
      expect(whole.series.t.length).toBe(21);
      expect(ret.summary.totals).toEqual(whole.totals);
    }
    w.child.kill("SIGINT");
    await w.exit;
    await q.close();
  });

  test("a worker stopped by a second signal gives its running job back to the queue, untried", async () => {
    const q = queueOf(6);
    // One long run: 12 million connections.
    const s = JSON.parse(readFileSync(join(dir, "scenario.json"), "utf8"));
    s.hosts.client.ports = "1024-65535";
    s.duration = "600s";
    s.workloads[0].rate = 20000;
    writeFileSync(join(dir, "long.json"), JSON.stringify(s));
    const sweep = cli(["sweep", "long.json", "--vary", "seed=2", "--queue", url(6)]);
    const w = await worker(6);
    await until(async () => (await q.queue.getActive()).length === 1, () => sweep.stderr);
    w.child.kill("SIGTERM");
    await until(() => w.stderr.includes("SIGTERM: finishing"), () => w.stderr);
    w.child.kill("SIGINT");
    const exit = await w.exit;
    expect(exit.code).toBe(0);
    expect(exit.stderr).toMatch(/SIGINT: giving the running jobs back to the queue\nconnsim worker: stopped after 0 jobs done\n$/);
    const [job] = await q.queue.getWaiting();
    expect(job).toBeDefined();
    expect([job.attemptsMade, job.failedReason ?? null, await q.queue.getFailedCount()]).toEqual([0, null, 0]);
    sweep.child.kill("SIGKILL");
    await q.close();
  });

  test("Redis restarting mid-sweep loses no finished result; the submitter waits for it and finishes", async () => {
    const q = queueOf(3);
    const workers = [await worker(3), await worker(3)];
    const sweep = cli([...SWEEP, "--queue", url(3)]);
    await until(async () => (await q.completed()).length >= 10, () => sweep.stderr);
    await q.close();
    await stopRedis();
    // What Redis held as finished when it stopped (read from its append-only file on restart).
    await startRedis();
    const q2 = queueOf(3);
    const before = new Map((await q2.completed()).map((j) => [j.id, stableJson(j.returnvalue)]));
    expect(before.size).toBeGreaterThanOrEqual(10);
    const done = await sweep.exit;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toBe(local.table);
    expect(done.stderr).toContain(`connsim: lost Redis at ${url(3)}`);
    expect(done.stderr).toContain(`connsim: Redis at ${url(3)} is back`);
    const after = new Map((await q2.completed()).map((j) => [j.id, j]));
    expect(after.size).toBe(40);
    for (const [id, ret] of before) expect(stableJson(after.get(id)!.returnvalue)).toBe(ret);
    for (const w of workers) w.child.kill("SIGINT");
    await Promise.all(workers.map((w) => w.exit));
    await q2.close();
  });

  test("a submitter killed and started again with the same command picks up the same sweep; a third submission runs nothing", async () => {
    const q = queueOf(4);
    const workers = [await worker(4), await worker(4)];
    const first = cli([...SWEEP, "--queue", url(4)]);
    await until(async () => (await q.completed()).length >= 10, () => first.stderr);
    first.child.kill("SIGKILL");
    await first.exit;
    const second = await cli([...SWEEP, "--queue", url(4)]).exit;
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(local.table);
    expect(second.stderr).toMatch(/^connsim: 40 points: \d+ already done(, \d+ already queued or running)?\n/);
    const jobs = await q.completed();
    expect(jobs).toHaveLength(40);
    expect(jobs.every((j) => j.attemptsStarted === 1)).toBe(true); // no point ran twice
    const finished = stableJson(jobs.map((j) => [j.id, j.finishedOn]));
    const third = await cli([...SWEEP, "--queue", url(4)]).exit;
    expect(third.stdout).toBe(local.table);
    expect(third.stderr).toBe("connsim: 40 points: 40 already done\nconnsim: 40/40 done, 0 running, 0 failed\n");
    expect(stableJson((await q.completed()).map((j) => [j.id, j.finishedOn]))).toBe(finished);
    for (const w of workers) w.child.kill("SIGINT");
    await Promise.all(workers.map((w) => w.exit));
    await q.close();
  });
});
