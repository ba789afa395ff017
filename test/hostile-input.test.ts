// Issue 13, "The SDK and CLI check their options" and "Security of what a scenario can
// do": every option checked as the scenario is (one line naming the field and what is
// allowed), keys treated as data, plugin paths that are not files refused, CSV cells
// that a spreadsheet would run neutralised, control characters kept off the terminal,
// temp files created exclusively. Needs the build (dist/, build/).

import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { planScenario, runOnPool, runScenario, ScenarioError, WorkerPool, type Scenario } from "../sdk/index.js";
import { csvCell, seriesCsv } from "../sdk/report/csv.js";
import { htmlPage } from "../sdk/report/html.js";
import { summary } from "../sdk/report/summary.js";
import { visible } from "../sdk/units.js";
import { applyVary, parseVary, planSweep, sweepTable } from "../sdk/workers/sweep.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const DEFAULT = JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));
const small = (): Scenario => ({ ...structuredClone(DEFAULT), duration: "2s" });

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "connsim-hostile-")); });
afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function connsim(...args: string[]) {
  const r = spawnSync(process.execPath, ["bin/connsim.mjs", ...args], { cwd: ROOT, encoding: "utf8", timeout: 50_000 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Exit 2 and exactly this one line on stderr. */
function expectUserError(r: ReturnType<typeof connsim>, line: string) {
  expect(r.stderr).toBe(`${line}\n`);
  expect(r.code).toBe(2);
}

const SEED_RANGE = "from 0 to 9007199254740991";

describe("RunOptions are checked before anything runs", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ seed: NaN }, `options.seed: expected a whole number ${SEED_RANGE}, got number NaN`],
    [{ seed: -1 }, `options.seed: expected a whole number ${SEED_RANGE}, got number -1`],
    [{ seed: 1.5 }, `options.seed: expected a whole number ${SEED_RANGE}, got number 1.5`],
    [{ seed: "x" }, `options.seed: expected a whole number ${SEED_RANGE}, got string "x"`],
    [{ seed: 1e30 }, `options.seed: expected a whole number ${SEED_RANGE}, got number 1e+30`],
    [{ trace: -1 }, "options.trace: expected a whole number from 0 to 4294967295, got number -1"],
    [{ trace: 2 ** 32 }, "options.trace: expected a whole number from 0 to 4294967295, got number 4294967296"],
    [{ sliceEvents: NaN }, "options.sliceEvents: expected a whole number from 1 to 4294967295, got number NaN"],
    [{ memoryLimit: -1 }, "options.memoryLimit: expected a whole number of bytes from 1048576 to 4294967296, got number -1"],
    [{ flavour: "fast" }, 'options.flavour: expected "release" or "debug", got string "fast"'],
    [{ plugins: [null] }, "options.plugins.0: expected a plugin made with definePlugin({...}), got null"],
    [{ plugins: [{ name: "x", kind: "loss" }] }, 'options.plugins.0: plugin "x": needs a version, e.g. "1.0.0"'],
    [{ plugins: {} }, "options.plugins: expected a list of plugins made with definePlugin, got an object"],
    [{ hookTimeout: 0 }, "options.hookTimeout: expected a whole number of milliseconds from 1 to 2147483647, got number 0"],
    [{ hookTimeout: 2 ** 31 }, "options.hookTimeout: expected a whole number of milliseconds from 1 to 2147483647, got number 2147483648"],
    [{ workers: 0 }, "options.workers: expected a whole number from 1 to 1024, got number 0"],
    [{ workers: Infinity }, "options.workers: expected a whole number from 1 to 1024, got number Infinity"],
    [{ baseDir: 7 }, "options.baseDir: expected a directory path (a string), got number 7"],
    [{ signal: {} }, "options.signal: expected an AbortSignal (new AbortController().signal), got an object"],
    [{ onProgress: "yes" }, 'options.onProgress: expected a function, got string "yes"'],
    [{ seeds: 1 }, 'options.seeds: unknown option; did you mean "seed"? Allowed: seed, trace, flavour, onProgress, signal, sliceEvents, memoryLimit, hookTimeout, onSlice, engineBytes, engineModule, plugins, checkInvariants, workers, baseDir'],
  ];
  test.each(cases)("runScenario %j", async (options, message) => {
    await expect(runScenario(small(), options as never)).rejects.toThrow(new ScenarioError(message.split(": ")[0], message.slice(message.indexOf(": ") + 2)));
    await expect(runScenario(small(), options as never)).rejects.toThrow(message);
  });

  test("planScenario's overrides", () => {
    expect(() => planScenario(small(), { seed: NaN })).toThrow(`options.seed: expected a whole number ${SEED_RANGE}, got number NaN`);
    expect(() => planScenario(small(), { trace: 2 ** 32 })).toThrow("options.trace: expected a whole number from 0 to 4294967295, got number 4294967296");
    // One form for planScenario and runScenario: a list of plugin objects (a Map was planScenario's once).
    expect(() => planScenario(small(), { plugins: new Map() as never })).toThrow("options.plugins: expected a list of plugins made with definePlugin, got ");
    expect(() => planScenario(small(), { plugins: [{ kind: "loss" }] as never })).toThrow('options.plugins.0: plugin "(unnamed)": needs a name');
  });

  test("a scenario's trace above the engine's u32 (it wrapped to 0)", () => {
    expect(() => planScenario({ ...small(), trace: 2 ** 32 })).toThrow("scenario.trace: must be at most 4294967295, got number 4294967296");
  });

  test("worker pools: their size and each run's options", async () => {
    expect(() => new WorkerPool({ workers: NaN })).toThrow("options.workers: expected a whole number from 1 to 1024, got number NaN");
    const pool = new WorkerPool({ workers: 1 });
    try {
      const plan = planScenario(small());
      await expect(pool.run(plan, { sliceEvents: NaN })).rejects.toThrow("options.sliceEvents: expected a whole number from 1 to 4294967295, got number NaN");
      await expect(runOnPool(plan, pool, { stallTimeout: -1 })).rejects.toThrow("options.stallTimeout: expected a whole number of milliseconds from 0 to 2147483647, got number -1");
    } finally {
      await pool.close();
    }
  });

  test("memoryLimit applies to each worker of a sharded run", async () => {
    // Two independent pairs, each holding some 30,000 connections in TIME_WAIT by t=5s (closed loops: not refused up front).
    const s: Scenario = {
      duration: "30s", sample: "100ms",
      hosts: {
        c1: { ip: "10.0.0.1", ports: "1024-65535" }, s1: { ip: "10.0.0.2", listen: [{ port: 80 }] },
        c2: { ip: "10.0.1.1", ports: "1024-65535" }, s2: { ip: "10.0.1.2", listen: [{ port: 80 }] },
      },
      links: [{ between: ["c1", "s1"], latency: "1ms" }, { between: ["c2", "s2"], latency: "1ms" }],
      workloads: [{ plugin: "closed-loop", from: "c1", to: "s1:80", clients: 40, think: "2ms" }, { plugin: "closed-loop", from: "c2", to: "s2:80", clients: 40, think: "2ms" }],
    };
    const r = await runScenario(s, { workers: 2, memoryLimit: 7 * 2 ** 20, sliceEvents: 20_000 });
    expect(r.engine.workers).toBe(2);
    expect(r.error).toMatch(/^shard \d \(hosts c\d, s\d\): the engine reached its memory limit \(\d+ MB\) at t=[\d.]+s; the samples so far are kept/);
    expect(r.series.t.length).toBeLessThan(300);
  });
});

test("hookTimeout applies in each worker of a sharded run", async () => {
  const loss = { plugin: "./test/fixtures/stuck-loss.mjs" };
  const s: Scenario = {
    duration: "5s",
    hosts: { c1: { ip: "10.0.0.1" }, s1: { ip: "10.0.0.2", listen: [{ port: 80 }] }, c2: { ip: "10.0.1.1" }, s2: { ip: "10.0.1.2", listen: [{ port: 80 }] } },
    links: [{ between: ["c1", "s1"], latency: "1ms", loss }, { between: ["c2", "s2"], latency: "1ms", loss }],
    workloads: [{ plugin: "tcp-churn", from: "c1", to: "s1:80", rate: 10 }, { plugin: "tcp-churn", from: "c2", to: "s2:80", rate: 10 }],
  };
  const r = await runScenario(s, { workers: 2, hookTimeout: 300, baseDir: ROOT });
  expect(r.engine.workers).toBe(2);
  expect(r.error).toBe('shard 0 (hosts c1, s1): plugin "stuck": a batch took longer than 300 ms (hookTimeout); the samples so far are kept');
});

describe("keys are data", () => {
  const oddHosts = (): Scenario => ({
    name: "odd names", duration: "10s", sample: "1s",
    hosts: {
      toString: { ip: "10.0.0.1", ports: "40000-40099" }, constructor: { ip: "10.0.0.2", listen: [{ port: 80 }] },
      hasOwnProperty: { ip: "10.0.0.3", ports: "40000-40099" }, valueOf: { ip: "10.0.0.4", listen: [{ port: 80 }] },
    },
    links: [{ between: ["toString", "constructor"], latency: "1ms" }, { between: ["hasOwnProperty", "valueOf"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "toString", to: "constructor:80", rate: 20 }, { plugin: "tcp-churn", from: "hasOwnProperty", to: "valueOf:80", rate: 30 }],
  });

  test("hosts named toString, constructor, hasOwnProperty: the same result on 1 and 2 workers, in JSON, CSV, HTML and the summary", async () => {
    const one = await runScenario(oddHosts());
    const two = await runScenario(oddHosts(), { workers: 2 });
    expect(two.engine.workers).toBe(2);
    const stable = (r: typeof one) => JSON.stringify({ ...r, engine: undefined });
    expect(stable(two)).toBe(stable(one));
    expect(Object.keys(one.series.byHost)).toEqual(["toString", "constructor", "hasOwnProperty", "valueOf"]);
    const own = <T>(o: Record<string, T>, k: string): T => Object.getOwnPropertyDescriptor(o, k)!.value;
    expect(own(one.series.byHost, "toString").TIME_WAIT.at(-1)).toBe(100);
    expect(own(one.series.byHost, "hasOwnProperty").TIME_WAIT.at(-1)).toBe(100);
    expect(own(one.series.portsInUse, "constructor").at(-1)).toBe(1);
    const csv = seriesCsv(two).split("\n")[0].split(",");
    expect(csv.filter((c) => c.startsWith("portsInUse."))).toEqual(["portsInUse.toString", "portsInUse.constructor", "portsInUse.hasOwnProperty", "portsInUse.valueOf"]);
    const html = await htmlPage(two, oddHosts(), { toString: 100, hasOwnProperty: 100 });
    expect(html).toContain("<tr><th>constructor</th><td>1</td></tr>");
    expect(html).toContain("<tr><th>toString</th><td>100 (100% of 100)</td></tr>");
    expect(html).not.toMatch(/NaN|native code/);
    expect(summary(two, planScenario(oddHosts()))).toContain("attempted 517, established 200, completed 200");
  });

  test('a "__proto__" key anywhere in a scenario is refused, never dropped', () => {
    const inWorkload = JSON.parse('{"duration":"1s","hosts":{"c":{"ip":"10.0.0.1"},"s":{"ip":"10.0.0.2","listen":[{"port":80}]}},"links":[{"between":["c","s"],"latency":"1ms"}],"workloads":[{"plugin":"tcp-churn","from":"c","to":"s:80","rate":1,"__proto__":{"rate":5}}]}');
    expect(() => planScenario(inWorkload)).toThrow("scenario.workloads.0.__proto__: is not allowed as a name or a key (JavaScript objects treat it as their prototype)");
    const asHost = JSON.parse('{"duration":"1s","hosts":{"__proto__":{"ip":"10.0.0.1"}},"links":[],"workloads":[]}');
    expect(() => planScenario(asHost)).toThrow("scenario.hosts.__proto__: is not allowed as a name or a key (JavaScript objects treat it as their prototype)");
  });

  test("--vary __proto__.x=1 names a field; Object.prototype is untouched", () => {
    expect(() => planSweep(DEFAULT, [parseVary("__proto__.x=1")])).toThrow(
      "--vary __proto__.x=1: scenario.__proto__: is not allowed as a name or a key (JavaScript objects treat it as their prototype)");
    expect(() => planSweep(DEFAULT, [parseVary("constructor.prototype.x=1")])).toThrow(
      /^--vary constructor\.prototype\.x=1: scenario\.constructor: unknown field/);
    expect(() => planSweep(DEFAULT, [parseVary("hosts.toString=1")])).toThrow(/^--vary hosts\.toString=1: scenario\.hosts\.toString: expected an object/);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, "x")).toBe(false);
    expect((applyVary({ a: {} }, "a.__proto__", 1) as { a: object }).a).toEqual(Object.defineProperty({}, "__proto__", { value: 1, enumerable: true }));
  });

  test("a list takes its own items only: not length, not a hole past its end", () => {
    expect(() => applyVary(DEFAULT, "workloads.length", 0)).toThrow('--vary workloads.length: no "length" in workloads: a list of 1, indices 0 to 0');
    expect(() => applyVary(DEFAULT, "workloads.1", {} as never)).toThrow('--vary workloads.1: no "1" in workloads: a list of 1, indices 0 to 0');
    expect(() => applyVary(DEFAULT, "links.0.between.2", "x")).toThrow('--vary links.0.between.2: no "2" in links.0.between: a list of 2, indices 0 to 1');
  });

  test("a path varied twice is refused", () => {
    expect(() => planSweep(DEFAULT, [parseVary("name=a"), parseVary("name=b")])).toThrow("--vary name: is varied twice; give its values in one --vary");
  });

  test("a range count past a sweep's limit is refused before any array is made", () => {
    expect(() => parseVary("workloads.0.rate=1:2:99999999999")).toThrow(
      "--vary workloads.0.rate=1:2:99999999999: 99,999,999,999 values; a sweep runs at most 10,000 combinations");
  });
});

describe("plugin paths", () => {
  const withLoss = (plugin: string): Scenario => ({ ...small(), links: [{ between: ["client", "server"], latency: "1ms", loss: { plugin } }] });

  test("a path that is not a regular file is refused: a device, a directory, a FIFO", async () => {
    await expect(runScenario(withLoss("/dev/zero"))).rejects.toThrow(
      'scenario.links.0.loss.plugin: cannot load "/dev/zero": not a regular file (a device, a pipe or a socket); a plugin is a .js or .mjs module file');
    mkdirSync(join(dir, "plug.mjs"));
    await expect(runScenario(withLoss("./plug.mjs"), { baseDir: dir })).rejects.toThrow(
      'scenario.links.0.loss.plugin: cannot load "./plug.mjs": a directory; a plugin is a .js or .mjs module file');
    spawnSync("mkfifo", [join(dir, "fifo.mjs")]);
    await expect(runScenario(withLoss("./fifo.mjs"), { baseDir: dir })).rejects.toThrow(
      'scenario.links.0.loss.plugin: cannot load "./fifo.mjs": not a regular file (a device, a pipe or a socket); a plugin is a .js or .mjs module file');
    await expect(runScenario(withLoss("./missing.mjs"), { baseDir: dir })).rejects.toThrow(
      'scenario.links.0.loss.plugin: cannot load "./missing.mjs": no such file; a plugin is a .js or .mjs module file');
  });

  test("RunOptions.baseDir: relative plugin paths resolve against it, not the working directory", async () => {
    const s = JSON.parse(readFileSync(join(ROOT, "examples/tail-drop.json"), "utf8"));
    s.duration = "2s";
    await expect(runScenario(s)).rejects.toThrow('scenario.links.0.loss.plugin: cannot load "./plugins/tail-drop.mjs": no such file');
    const r = await runScenario(s, { baseDir: join(ROOT, "examples") });
    expect(r.error).toBeUndefined();
    expect(r.totals.segments.dropped).toBeGreaterThan(0);
  });
});

describe("CSV cells a spreadsheet would run", () => {
  test.each([
    ["=cmd|' /C calc'!A0", `"'=cmd|' /C calc'!A0"`], ["+1+1", `"'+1+1"`], ["@SUM(A1)", `"'@SUM(A1)"`], ["-1+cmd", `"'-1+cmd"`],
    ["\tx", `"'\tx"`], ["\rx", `"'\rx"`], ['=HYPERLINK("x")', `"'=HYPERLINK(""x"")"`],
    ["-5", "-5"], ["-1.5", "-1.5"], ["-2e-7", "-2e-7"], ["12", "12"], ["a,b", '"a,b"'], ["plain", "plain"],
  ])("%j is written as %s", (text, cell) => {
    expect(csvCell(text)).toBe(cell);
  });

  test("a sweep table with a formula as a --vary value", () => {
    const varies = [parseVary("name==cmd|' /C calc'!A0,-3")];
    const table = sweepTable(varies, [{ values: { name: "=cmd|' /C calc'!A0" } }, { values: { name: -3 } }]);
    expect(table.map((r) => csvCell(r[0]))).toEqual(["name", `"'=cmd|' /C calc'!A0"`, "-3"]);
  });
});

describe("control characters never reach the terminal raw", () => {
  test("visible() writes them as escapes", () => {
    expect(visible("a\x1b[31mb\x07\x9b\u202e\x7f")).toBe("a\\x1b[31mb\\x07\\x9b\\u202e\\x7f");
    expect(visible("one\ntwo", "\n")).toBe("one\ntwo");
    expect(visible("one\ntwo")).toBe("one\\x0atwo");
  });

  test("a scenario name with ESC sequences: the summary, and a CLI error", async () => {
    const s = { ...small(), name: "evil\x1b]0;pwned\x07\x1b[2J" };
    const text = summary(await runScenario(s));
    expect(text.split("\n")[0]).toBe("evil\\x1b]0;pwned\\x07\\x1b[2J (profile linux, seed 1)");
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f]/);
    const file = join(dir, "evil.json");
    writeFileSync(file, JSON.stringify({ ...s, hosts: { ...s.hosts, client: { ...s.hosts.client, portAllocator: "\x1b[2Jnope" } } }));
    expectUserError(connsim("run", file), 'connsim: scenario.hosts.client.portAllocator: unknown plugin "\\u001b[2Jnope". Allowed: sequential, random, linux, windows');
    writeFileSync(file, JSON.stringify(s));
    const run = connsim("run", file);
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[0]).toBe("evil\\x1b]0;pwned\\x07\\x1b[2J (profile linux, seed 1)");
    expect(run.stdout).not.toContain("\x1b");
  });
});

describe("the CLI's numeric flags", () => {
  test("--seed above 2^53", () => {
    expectUserError(connsim("run", "examples/default.json", "--seed", "9007199254740993"),
      `connsim: --seed: expected a whole number ${SEED_RANGE}, got "9007199254740993"`);
  });
  test("a negative --seed is named by its flag, not called ambiguous", () => {
    expectUserError(connsim("run", "examples/default.json", "--seed", "-1"), `connsim: --seed: expected a whole number ${SEED_RANGE}, got "-1"`);
    expectUserError(connsim("sweep", "examples/default.json", "--vary", "seed=1,2", "--seed", "-1"), `connsim: --seed: expected a whole number ${SEED_RANGE}, got "-1"`);
  });
  test("--trace 2^32 (which wrapped to 0)", () => {
    expectUserError(connsim("run", "examples/default.json", "--trace", "4294967296"),
      'connsim: --trace: expected a whole number from 0 to 4294967295, got "4294967296"');
  });
  test("--workers 0 and 5000", () => {
    expectUserError(connsim("run", "examples/default.json", "--workers", "0"), 'connsim: --workers: expected a whole number from 1 to 1024, got "0"');
    expectUserError(connsim("sweep", "examples/default.json", "--vary", "name=a", "--workers", "5000"), 'connsim: --workers: expected a whole number from 1 to 1024, got "5000"');
  });
  test("sweep --vary __proto__.x=1", () => {
    expectUserError(connsim("sweep", "examples/default.json", "--vary", "__proto__.x=1", "--workers", "1"),
      "connsim: --vary __proto__.x=1: scenario.__proto__: is not allowed as a name or a key (JavaScript objects treat it as their prototype)");
  });

  test("sweep with a 1e12 rate warns before any run, as run does", async () => {
    const child = spawn(process.execPath, ["bin/connsim.mjs", "sweep", "examples/default.json", "--vary", "workloads.0.rate=10,1e12", "--workers", "1"], { cwd: ROOT });
    let stderr = "";
    await new Promise<void>((done) => {
      child.stderr.on("data", (d) => { stderr += d; if (stderr.includes("\n")) done(); });
      child.on("exit", () => done());
    });
    child.kill("SIGKILL");
    expect(stderr.split("\n")[0]).toBe("connsim: --vary workloads.0.rate=1000000000000: about 1200000.0 billion events, roughly 83333.3 hours; Ctrl-C stops the sweep");
  });
});

describe("temp files", () => {
  test("a symlink planted at FILE.tmp-<pid> is not followed; the output lands and no temp file is left", () => {
    const out = join(dir, "tmp-test");
    mkdirSync(out);
    const victim = join(out, "victim.txt");
    writeFileSync(victim, "precious\n");
    // The child plants the link at the name its own pid would have given, then runs the CLI in-process.
    const script = `
      import { symlinkSync } from "node:fs";
      const json = ${JSON.stringify(join(out, "r.json"))};
      symlinkSync(${JSON.stringify(victim)}, json + ".tmp-" + process.pid);
      const { main } = await import(${JSON.stringify(join(ROOT, "dist/cli.js"))});
      process.exitCode = await main(["run", "examples/default.json", "--quiet", "--json", json]);`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(readFileSync(victim, "utf8")).toBe("precious\n");
    expect(JSON.parse(readFileSync(join(out, "r.json"), "utf8")).totals.attempted).toBe(12108);
    expect(readdirSync(out).filter((f) => !f.startsWith("r.json.tmp-")).sort()).toEqual(["r.json", "victim.txt"]);
    expect(readdirSync(out).filter((f) => f.startsWith("r.json.tmp-"))).toHaveLength(1); // only the planted link
  });
});
