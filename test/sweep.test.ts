// Sweeps: a grid of values over one scenario, checked before anything runs, fanned out
// over workers, gathered in grid order; a failed run keeps its row.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { planScenario, runPlan, ScenarioError, WorkerPool, type Plan, type Result } from "../sdk/index.js";
import { applyVary, parseVary, runSweep, sweepGrid, sweepTable } from "../sdk/workers/sweep.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT = JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));
const pools: WorkerPool[] = [];
afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

describe("--vary", () => {
  test("a list, a range with both ends, booleans and words", () => {
    expect(parseVary("hosts.client.tcp.twReuse=0,1,2")).toEqual({ path: "hosts.client.tcp.twReuse", values: [0, 1, 2] });
    expect(parseVary("workloads.0.rate=100:2000:5").values).toEqual([100, 575, 1050, 1525, 2000]);
    expect(parseVary("workloads.0.rate=0.1:0.3:3").values).toEqual([0.1, 0.2, 0.3]);
    expect(parseVary("workloads.0.halfClose=true,false").values).toEqual([true, false]);
    expect(parseVary("profile=linux,windows").values).toEqual(["linux", "windows"]);
  });

  test.each([["rate"], ["=1,2"], ["workloads.0.rate="], ["workloads.0.rate=5:1:1"]])("%s is refused with the form it wants", (spec) => {
    expect(() => parseVary(spec)).toThrow(ScenarioError);
  });

  test("the grid: every combination, the first --vary outermost", () => {
    expect(sweepGrid([{ path: "a", values: [1, 2] }, { path: "b", values: ["x", "y", "z"] }])).toEqual([
      { a: 1, b: "x" }, { a: 1, b: "y" }, { a: 1, b: "z" }, { a: 2, b: "x" }, { a: 2, b: "y" }, { a: 2, b: "z" },
    ]);
  });

  test("a path sets a copy; a missing object on the way is made; a misspelt key is named", () => {
    const s = applyVary(DEFAULT, "hosts.client.tcp.twReuse", 1) as typeof DEFAULT;
    expect(s.hosts.client.tcp).toEqual({ twReuse: 1 });
    expect(DEFAULT.hosts.client.tcp).toBeUndefined();
    expect(() => applyVary(DEFAULT, "hosts.clinet.tcp.twReuse", 1)).toThrow('--vary hosts.clinet.tcp.twReuse: no "clinet" in hosts; did you mean "client"?');
    expect(() => applyVary(DEFAULT, "workloads.3.rate", 1)).toThrow('no "3" in workloads');
  });
});

describe("runSweep", () => {
  test("rows come back in grid order and each equals that combination run alone", async () => {
    const pool = new WorkerPool({ workers: 2 });
    pools.push(pool);
    const varies = [parseVary("hosts.client.tcp.twReuse=0,1"), parseVary("workloads.0.rate=10:100:3")];
    const rows = await runSweep(DEFAULT, varies, pool);
    expect(rows.map((r) => r.values)).toEqual(sweepGrid(varies));
    for (const row of rows) {
      let s: unknown = DEFAULT;
      for (const [p, v] of Object.entries(row.values)) s = applyVary(s, p, v);
      const alone = await runPlan(planScenario(s));
      expect(row.result!.totals, JSON.stringify(row.values)).toEqual(alone.totals);
      expect(row.result!.peak).toEqual(alone.peak);
    }
    // tw_reuse=1 takes over TIME_WAIT tuples older than 1 s: no EADDRNOTAVAIL at 100/s.
    const table = sweepTable(varies, rows);
    const col = (name: string) => table.slice(1).map((r) => Number(r[table[0].indexOf(name)]));
    const failures = col("EADDRNOTAVAIL");
    expect(failures[0]).toBe(0);              // 10/s is below 1000 ports / 60 s
    expect(failures[1]).toBeGreaterThan(0);   // 55/s is above
    expect(failures[2]).toBe(10108);          // the default study
    expect(failures.slice(3)).toEqual([0, 0, 0]);
  });

  test("the longest runs go to the pool first (no worker idles at the end); rows stay in grid order", async () => {
    const started: number[] = [];
    const pool = { run: async (plan: Plan) => { started.push(plan.workloads[0].rate); return { name: plan.name } as Result; } };
    const rows = await runSweep(DEFAULT, [parseVary("workloads.0.rate=10,1000,100,1000")], pool);
    expect(started).toEqual([1000, 1000, 100, 10]);
    expect(rows.map((r) => r.values["workloads.0.rate"])).toEqual([10, 1000, 100, 1000]);
  });

  test("a bad combination stops the sweep before anything runs, naming the --vary", async () => {
    const pool = { run: () => { throw new Error("nothing may run"); } };
    await expect(runSweep(DEFAULT, [parseVary("workloads.0.rate=10,-5")], pool)).rejects.toThrow(
      /^--vary workloads\.0\.rate=-5: scenario\.workloads\.0\.rate: must be at least 0/);
  });

  test("a run whose worker dies keeps its row with the reason; the others complete", async () => {
    const pool = new WorkerPool({
      workers: 2,
      workerUrl: pathToFileURL(join(ROOT, "test/fixtures/crash-worker.mjs")),
      workerData: { real: pathToFileURL(join(ROOT, "dist/node-worker.js")).href },
    });
    pools.push(pool);
    const rows = await runSweep(DEFAULT, [parseVary("name=a,crash,b")], pool);
    expect(rows.map((r) => [r.values.name, r.result?.name ?? null, r.error ?? null])).toEqual([
      ["a", "a", null],
      ["crash", null, expect.stringMatching(/^worker \d+ crashed while running "crash"/)],
      ["b", "b", null],
    ]);
  });
});
