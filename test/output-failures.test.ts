// Told before it hurts, not after: the CLI refuses what cannot fit before it runs,
// and when something fails mid-way (a full disk, a crashed worker, a hook that leaves
// a timer behind) it still writes what it can, says what failed in one line and exits.
// Needs the build (dist/cli.js): `node scripts/build.mjs`, as `npm test` does.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { loadPlugins, planScenario, runOnPool, runScenario, WorkerPool } from "../sdk/index.js";
import { runSweep, parseVary } from "../sdk/workers/sweep.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FIXTURES = join(ROOT, "test/fixtures");

let dir: string;
beforeAll(() => {
  if (!existsSync(join(ROOT, "dist/cli.js"))) throw new Error("dist/cli.js is missing; run `node scripts/build.mjs` first");
  dir = mkdtempSync(join(tmpdir(), "connsim-failures-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `connsim ...` in a shell, after `ulimit -f KB` when given (files past it fail with EFBIG, as on a full disk). */
function connsim(args: string[], fileLimitKb?: number) {
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const r = spawnSync("/bin/sh", ["-c", `${fileLimitKb ? `ulimit -f ${fileLimitKb}; ` : ""}exec "${process.execPath}" bin/connsim.mjs ${quoted}`], {
    cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function file(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value));
  return path;
}

/** Many short connections: several slices of samples, each slice a few KB of samples.jsonl. */
const BUSY = {
  name: "busy", seed: 1, duration: "120s", sample: "1s",
  hosts: { c: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "1s" } }, s: { ip: "10.0.0.2", listen: [{ port: 80, backlog: 4096 }] } },
  links: [{ between: ["c", "s"], latency: "500us" }],
  workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 5000 }],
};

describe("a full disk", () => {
  test("samples.jsonl ends on a whole line, no temp file is left, every failed file is named with its errno, exit 1", () => {
    const out = join(dir, "full");
    const r = connsim(["run", file("busy.json", BUSY), "--out", out, "--quiet", "--workers", "1"], 16);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe([
      `connsim: --out: cannot write ${out}/samples.jsonl: EFBIG (file too large)`,
      `connsim: --out: cannot write ${out}/result.json: EFBIG (file too large)`,
      `connsim: --out: cannot write ${out}/report.html: EFBIG (file too large)`,
      "",
    ].join("\n"));
    expect(readdirSync(out).sort()).toEqual(["samples.jsonl", "series.csv"]);
    const text = readFileSync(join(out, "samples.jsonl"), "utf8");
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ name: "busy", seed: 1, connsim: "0.1.0" });
    // Samples up to the slice that did not fit, in order from the first.
    expect(lines.length).toBeGreaterThan(2);
    expect(lines.slice(1).map((s) => s.t)).toEqual(lines.slice(1).map((_, i) => i));
    expect(statSync(join(out, "samples.jsonl")).size).toBeLessThanOrEqual(16 * 1024);
    // The run stopped there: the CSV holds the samples it had.
    expect(readFileSync(join(out, "series.csv"), "utf8").trimEnd().split("\n").length).toBeLessThan(121 + 1);
  });

  test("--json /dev/full: ENOSPC named, the other outputs written, exit 1", () => {
    const csv = join(dir, "devfull.csv");
    const r = connsim(["run", "examples/default.json", "--json", "/dev/full", "--csv", csv, "--quiet"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe("connsim: --json: cannot write /dev/full: ENOSPC (no space left on device)\n");
    expect(readFileSync(csv, "utf8").trimEnd().split("\n")).toHaveLength(1 + 121); // a header, t = 0..120 s
  });
});

describe("a hook that leaves a timer running", () => {
  const scenario = (mode: string) => ({
    name: "leaky", seed: 1, duration: "5s", sample: "1s",
    hosts: { c: { ip: "10.0.0.1" }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["c", "s"], latency: "1ms", loss: { plugin: join(FIXTURES, "leaky-hook.mjs"), mode } }],
    workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 10 }],
  });

  test("a hook that throws: the CLI writes its outputs, says why in one line and exits 1", () => {
    const json = join(dir, "leaky-throw.json");
    const r = connsim(["run", file("leaky-throw-scenario.json", scenario("throw")), "--json", json, "--quiet"]);
    expect(r.signal).toBe(null);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe('connsim: run stopped early: plugin "leaky": threw: boom; the samples so far are kept\n');
    expect(JSON.parse(readFileSync(json, "utf8")).error).toBe('plugin "leaky": threw: boom; the samples so far are kept');
  });

  test("a hook that times out (hookTimeout, 10 s): the CLI still exits, with the outputs written", () => {
    const json = join(dir, "leaky-hang.json");
    const r = connsim(["run", file("leaky-hang-scenario.json", scenario("hang")), "--json", json, "--quiet"]);
    expect(r.signal).toBe(null); // not killed by the spawn timeout
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toBe('connsim: run stopped early: plugin "leaky": a batch took longer than 10000 ms (hookTimeout); the samples so far are kept\n');
    expect(existsSync(json)).toBe(true);
  }, 70_000);
});

describe("a worker that crashes in a sharded run", () => {
  test("the samples every shard reached are kept: samples.jsonl, result.json, series.csv and report.html, then exit 1 naming the shard", () => {
    // Two independent pairs, so two shards: "a" churns through several engine slices and
    // its worker dies at t=60 s; "b" is small and done in its first slice.
    const scenario = {
      name: "crash", seed: 1, duration: "120s", sample: "1s",
      hosts: {
        a1: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "1s" } }, a2: { ip: "10.0.0.2", listen: [{ port: 80, backlog: 4096 }] },
        b1: { ip: "10.0.1.1" }, b2: { ip: "10.0.1.2", listen: [{ port: 80 }] },
      },
      links: [
        { between: ["a1", "a2"], latency: "5ms", loss: { plugin: join(FIXTURES, "exit-loss.mjs"), at: 60 } },
        { between: ["b1", "b2"], latency: "1ms" },
      ],
      workloads: [
        { plugin: "tcp-churn", from: "a1", to: "a2:80", rate: 5000 },
        { plugin: "tcp-churn", from: "b1", to: "b2:80", rate: 10 },
      ],
    };
    const out = join(dir, "crash");
    const r = connsim(["run", file("crash.json", scenario), "--out", out, "--workers", "2", "--quiet"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^connsim: run stopped early: shard 0 \(hosts a1, a2\): worker \d crashed while running "crash": exited with code 3\n$/);
    expect(readdirSync(out).sort()).toEqual(["report.html", "result.json", "samples.jsonl", "series.csv"]);
    const result = JSON.parse(readFileSync(join(out, "result.json"), "utf8"));
    expect(result.error).toBe(r.stderr.slice("connsim: run stopped early: ".length, -1));
    const n = result.series.t.length;
    // Samples up to the last slice shard 0 finished before t=60 s, for every host.
    expect(n).toBeGreaterThan(10);
    expect(n).toBeLessThanOrEqual(60);
    expect(result.series.t).toEqual(Array.from({ length: n }, (_, i) => i));
    for (const h of ["a1", "a2", "b1", "b2"]) expect(result.series.byHost[h].ESTABLISHED).toHaveLength(n);
    expect(Math.max(...result.series.byHost.a1.TIME_WAIT)).toBeGreaterThan(1000);
    expect(Math.max(...result.series.byHost.b1.TIME_WAIT)).toBeGreaterThan(0);
    // The crashed shard's counters as of its last report: well under 120 s at 5000/s.
    expect(result.totals.attempted).toBeGreaterThan(5000 * 10);
    expect(result.totals.attempted).toBeLessThan(5000 * 60 + 1200);
    // samples.jsonl holds the same samples as they were taken, and the CSV the same rows.
    const lines = readFileSync(join(out, "samples.jsonl"), "utf8").trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(lines.slice(1).map((s) => s.t)).toEqual(result.series.t);
    expect(lines.slice(1).map((s) => s.states.TIME_WAIT)).toEqual(result.series.states.TIME_WAIT);
    expect(readFileSync(join(out, "series.csv"), "utf8").trimEnd().split("\n")).toHaveLength(1 + n);
  });
});

describe("refused before running", () => {
  /** A user mistake: exit 2, nothing on stdout, exactly this one line on stderr. */
  const refused = (r: ReturnType<typeof connsim>, line: string) => {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(line + "\n");
  };

  test("--trace 1000000000 (heap out of memory after 90 s): at most 100,000 traced connections", () => {
    refused(connsim(["run", "examples/default.json", "--trace", "1000000000"]),
      "connsim: --trace 1000000000: at most 100,000 connections can be traced (each holds about 15 KB of memory until the run ends), got 1,000,000,000");
    const s = JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));
    refused(connsim(["run", file("trace-1e9.json", { ...s, trace: 1e9 })]),
      "connsim: scenario.trace: at most 100,000 connections can be traced (each holds about 15 KB of memory until the run ends), got 1,000,000,000");
    // The limit itself is allowed.
    expect(connsim(["run", file("trace-1e5.json", { ...s, trace: 100000, duration: "2s" }), "--quiet"]).code).toBe(0);
  });

  test("a sweep of 10^8 combinations (SIGABRT): counted before the grid is made, at most 10,000", () => {
    refused(connsim(["sweep", "examples/default.json", "--vary", "workloads.0.rate=1:2:10000", "--vary", "workloads.0.request=1:2:10000"]),
      "connsim: --vary: 10,000 x 10,000 = 100,000,000 combinations; a sweep runs at most 10,000");
    refused(connsim(["sweep", "examples/default.json", "--vary", "workloads.0.rate=1:2:100000000"]),
      "connsim: --vary workloads.0.rate=1:2:100000000: 100,000,000 values; a sweep runs at most 10,000 combinations");
  });
});

describe("the same limits from code", () => {
  test("RunOptions.trace and a sweep's grid", async () => {
    const s = JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));
    await expect(runScenario(s, { trace: 1e6 })).rejects.toThrow(
      "options.trace: at most 100,000 connections can be traced (each holds about 15 KB of memory until the run ends), got 1,000,000");
    const never = { run: () => { throw new Error("nothing may run"); } };
    await expect(runSweep(s, [parseVary("workloads.0.rate=1:10:200"), parseVary("seed=1:100:100")], never)).rejects.toThrow(
      "--vary: 200 x 100 = 20,000 combinations; a sweep runs at most 10,000");
  });
});

describe("runOnPool when a shard's worker dies", () => {
  test("the merged result keeps the samples every shard reached, with the dead shard's error; progress streamed the same samples", async () => {
    const s = {
      name: "crash", seed: 3, duration: "20s", sample: "250ms",
      hosts: { a1: { ip: "10.0.0.1" }, a2: { ip: "10.0.0.2", listen: [{ port: 80 }] }, b1: { ip: "10.0.1.1" }, b2: { ip: "10.0.1.2", listen: [{ port: 80 }] } },
      links: [
        { between: ["a1", "a2"], latency: "1ms" },
        { between: ["b1", "b2"], latency: "2ms", loss: { plugin: join(FIXTURES, "exit-loss.mjs"), at: 5 } },
      ],
      workloads: [
        { plugin: "tcp-churn", from: "a1", to: "a2:80", rate: 200 },
        { plugin: "tcp-churn", from: "b1", to: "b2:80", rate: 200 },
      ],
    };
    const plan = planScenario(s, { plugins: await loadPlugins(s, [], ROOT) });
    const pool = new WorkerPool({ workers: 2 });
    const streamed: number[] = [];
    try {
      const r = await runOnPool(plan, pool, { sliceEvents: 2000, onProgress: (p) => { for (const x of p.samples) streamed.push(x.t); } });
      expect(r.error).toMatch(/^shard 1 \(hosts b1, b2\): worker \d crashed while running "crash": exited with code 3$/);
      expect(r.engine.workers).toBe(2);
      // Up to the last slice shard 1 finished before t=5 s (20 samples), for every host.
      expect(r.series.t.length).toBeGreaterThan(4);
      expect(r.series.t.length).toBeLessThanOrEqual(20);
      expect(r.series.t).toEqual(streamed);
      for (const h of ["a1", "a2", "b1", "b2"]) expect(r.series.portsInUse[h]).toHaveLength(r.series.t.length);
      expect(Math.max(...r.series.byHost.b1.TIME_WAIT)).toBeGreaterThan(0);
      expect(r.totals.attempted).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
  });
});
