// A plugin loaded by path from a folder where connsim is not installed (a temp dir,
// outside this repository): its `import ... from "connsim/plugin"` and `from "connsim"`
// resolve to the connsim running it, in the main thread and in worker threads, from the
// CLI and from code. `connsim plugins ./x.mjs` shows how a scenario names it: by path.
// These run Node as a user does (the built bin and dist/), not the test's own resolver.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, expect, test } from "vitest";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "connsim-plugin-path-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Drops each connection's first SYN (client to server): each connection retransmits it once.
writeFileSync(join(dir, "drop-first-syn.mjs"), `import { definePlugin, z } from "connsim/plugin";
import { VERSION } from "connsim";
export default definePlugin({
  kind: "loss", name: "drop-first-syn", version: VERSION, options: z.strictObject({ after: z.number().int().min(0).describe("connections spared first") }),
  hook({ after }) {
    const seen = new Set();
    return { decide(batch, drop) {
      for (let i = 0; i < batch.size; i++) {
        const first = batch.flagText[i] === "S" && batch.conn[i] >= after && !seen.has(batch.conn[i]);
        if (first) seen.add(batch.conn[i]);
        drop[i] = first ? 1 : 0;
      }
    } };
  },
});
`);
// Two independent groups of hosts, so --workers 2 shards the run over two worker threads.
const pair = (n: number) => ({
  hosts: { [`c${n}`]: { ip: `10.0.${n}.1` }, [`s${n}`]: { ip: `10.0.${n}.2`, listen: [{ port: 80 }] } },
  link: { between: [`c${n}`, `s${n}`], latency: "1ms", loss: { plugin: "./drop-first-syn.mjs", after: 5 } },
  workload: { plugin: "tcp-churn", from: `c${n}`, to: `s${n}:80`, rate: [{ at: "0s", rate: 20 }, { at: "5s", rate: 0 }] },
});
const [a, b] = [pair(1), pair(2)];
writeFileSync(join(dir, "s.json"), JSON.stringify({
  name: "first-syn", seed: 1, duration: "10s", hosts: { ...a.hosts, ...b.hosts }, links: [a.link, b.link], workloads: [a.workload, b.workload],
}));

function run(args: string[], cwd = dir) {
  const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", timeout: 120_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const connsim = (...args: string[]) => run([join(ROOT, "bin/connsim.mjs"), ...args]);

test("plain Node cannot load the plugin there: nothing beside it provides connsim", () => {
  const r = run(["--input-type=module", "-e", `import(${JSON.stringify(pathToFileURL(join(dir, "drop-first-syn.mjs")).href)}).catch((e) => console.log(e.code))`]);
  expect(r.stdout.trim()).toBe("ERR_MODULE_NOT_FOUND");
});

test("connsim plugins ./x.mjs: the usage names the plugin by its path, and that usage runs", () => {
  const r = connsim("plugins", "./drop-first-syn.mjs");
  expect(r.code, r.stderr).toBe(0);
  const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
  expect(r.stdout).toBe(`drop-first-syn ${version}: a loss plugin (hook)
  "loss": { "plugin": "./drop-first-syn.mjs", ... }
  (a scenario names a plugin module by its path from the scenario file's folder)
  after  required  connections spared first
`);
  // A built-in keeps the by-name usage.
  expect(connsim("plugins", "bernoulli").stdout.split("\n")[1]).toBe('  "loss": { "plugin": "bernoulli", ... }');
});

test("the CLI runs it in this thread and in two worker threads: the same result; the first SYN of every connection but the spared is dropped once", () => {
  const one = connsim("run", "s.json", "--quiet", "--json", "-");
  expect(one.code, one.stderr).toBe(0);
  const two = connsim("run", "s.json", "--quiet", "--workers", "2", "--json", "-");
  expect(two.code, two.stderr).toBe(0);
  const [r1, r2] = [JSON.parse(one.stdout), JSON.parse(two.stdout)];
  expect(r2.engine.workers).toBe(2);
  expect(r2.totals).toEqual(r1.totals);
  const { attempted, completed, segments } = r1.totals;
  expect(attempted).toBeGreaterThanOrEqual(2 * 99); // 20 a second for 5 s, twice
  expect(completed).toBe(attempted);
  expect(segments.dropped).toBe(attempted - 2 * 5);
  expect(segments.retransmitted).toBe(segments.dropped);
});

test("from code, with the package's dist: runScenario and a sweep on a worker pool load it relative to baseDir", () => {
  // A file, not `node -e`: worker threads inherit the process's options, and -e's are not theirs.
  writeFileSync(join(dir, "study.mjs"), `
    import { readFileSync } from "node:fs";
    import { parseVary, runScenario, runSweep, WorkerPool } from ${JSON.stringify(pathToFileURL(join(ROOT, "dist/index.js")).href)};
    const scenario = JSON.parse(readFileSync("s.json", "utf8"));
    const result = await runScenario(scenario, { baseDir: process.cwd() });
    const pool = new WorkerPool({ workers: 2 });
    const rows = await runSweep(scenario, ["links.0.loss.after=0,1000", "links.1.loss.after=0,1000"].map(parseVary), pool, { baseDir: process.cwd() });
    await pool.close();
    console.log(JSON.stringify([result.totals.attempted, result.totals.segments.dropped, ...rows.map((row) => row.error ?? row.result.totals.segments.dropped)]));
  `);
  const r = run(["study.mjs"]);
  expect(r.code, r.stderr).toBe(0);
  const [attempted, dropped, both, firstOnly, secondOnly, neither] = JSON.parse(r.stdout);
  expect(dropped).toBe(attempted - 2 * 5); // as the CLI's run
  // Sparing 0 or 1000 connections on each link: all, one group's, the other's, none.
  expect([both, neither, firstOnly + secondOnly]).toEqual([attempted, 0, attempted]);
  expect(Math.min(firstOnly, secondOnly)).toBeGreaterThan(attempted / 4);
});

test("a .js or .ts scenario there imports connsim too: the CLI runs it", () => {
  const body = `const scenario${"TYPE"} = {
  name: "typed-scenario", description: \`made with connsim \${VERSION}\`, seed: 1, duration: "2s",
  hosts: { c: { ip: "10.0.0.1" }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
  links: [{ between: ["c", "s"], latency: "1ms" }],
  workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 10 }],
};
export default scenario;
`;
  writeFileSync(join(dir, "scenario.mjs"), `import { VERSION } from "connsim";\n${body.replace("TYPE", "")}`);
  writeFileSync(join(dir, "scenario.ts"), `import { VERSION, type Scenario } from "connsim";\n${body.replace("TYPE", ": Scenario")}`);
  const totals = (file: string) => {
    const r = connsim("run", file, "--quiet", "--json", "-");
    expect(r.code, `${file}: ${r.stderr}`).toBe(0);
    return JSON.parse(r.stdout).totals;
  };
  writeFileSync(join(dir, "twin.json"), JSON.stringify({ name: "typed-scenario", seed: 1, duration: "2s",
    hosts: { c: { ip: "10.0.0.1" }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } }, links: [{ between: ["c", "s"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 10 }] }));
  const twin = totals("twin.json"); // the same scenario as JSON
  expect(twin.completed).toBeGreaterThan(10);
  for (const file of ["scenario.mjs", "scenario.ts"]) expect(totals(file), file).toEqual(twin);
});
