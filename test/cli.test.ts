// The CLI as a user runs it: `node bin/connsim.mjs run ...` in a child process, from the
// repository root. DESIGN.md, Contracts: results as JSON with stable names; bad input
// ends with exit code 2 and one line on stderr, never a stack trace.
// Needs the build (dist/cli.js, build/engine.wasm): `node scripts/build.mjs`, as `npm test` does.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connsim, expectUserError, ROOT } from "./cli-helpers.js";

const DEFAULT = readFileSync(join(ROOT, "examples/default.json"), "utf8");

let dir: string;
beforeAll(() => {
  if (!existsSync(join(ROOT, "dist/cli.js"))) throw new Error("dist/cli.js is missing; run `node scripts/build.mjs` first");
  dir = mkdtempSync(join(tmpdir(), "connsim-cli-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const OVERVIEW =
  "usage: connsim run <scenario.json|.js|.ts> [--json FILE] [--csv FILE] [--html FILE] [--pcap FILE] [--out DIR] [--expect CHECK ...] [--workers N] [--seed N] [--trace N] [--quiet]\n" +
  "       connsim snapshot <scenario.json|.js|.ts> --at TIME [--seed N] [--top N] [--json FILE]\n" +
  "       connsim sweep <scenario.json|.js|.ts> [--vary PATH=V1,V2,... | PATH=FROM:TO:COUNT ...] [--workers N] [--seed N] [--csv FILE] [--json FILE] [--html FILE] [--queue redis://HOST:PORT[/DB]] [--results file:///DIR] [--quiet]\n" +
  "       connsim worker --queue redis://HOST:PORT[/DB] [--concurrency N]\n" +
  "       connsim plugins [NAME | ./module.js]\n" +
  "\n" +
  "connsim help COMMAND (or connsim COMMAND --help) describes a command's flags; connsim --version prints the version.\n";

/** A file in the test's temp dir. */
function file(name: string, text?: string): string {
  const path = join(dir, name);
  if (text !== undefined) writeFileSync(path, text);
  return path;
}

describe("connsim run: results", () => {
  test("examples/default.json --quiet --json writes the contract fields", () => {
    const out = file("default-result.json");
    const r = connsim("run", "examples/default.json", "--quiet", "--json", out);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("");   // --quiet: no summary
    expect(r.stderr).toBe("");
    const res = JSON.parse(readFileSync(out, "utf8"));
    expect(res.name).toBe("port-exhaustion");
    expect(res.seed).toBe(1);
    expect(res.profile).toBe("linux");
    expect(typeof res.engine.version).toBe("string");
    expect(res.engine.version.length).toBeGreaterThan(0);
    expect(res.totals.attempted).toBeGreaterThan(0);
    // 1000 ports held 60 s in TIME_WAIT cannot carry 100 connections a second.
    expect(res.totals.failed.EADDRNOTAVAIL).toBeGreaterThan(0);
    expect(res.peak.TIME_WAIT).toBeGreaterThan(0);
    expect(res.peak.TIME_WAIT).toBeLessThanOrEqual(1000);
    expect(Array.isArray(res.series.t)).toBe(true);
    expect(res.series.t.length).toBeGreaterThan(0);
    expect(res.series.states.TIME_WAIT).toHaveLength(res.series.t.length);
    expect(res.series.portsInUse.client).toHaveLength(res.series.t.length);
    expect(Math.max(...res.series.portsInUse.client)).toBeLessThanOrEqual(1000);
  });

  test("without --quiet a summary is printed", () => {
    const r = connsim("run", "examples/default.json");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("port-exhaustion (profile linux, seed 1)");
    expect(r.stdout).toContain("EADDRNOTAVAIL");
  });

  test("--seed 7 shows in the JSON seed", () => {
    const out = file("seed7.json");
    const r = connsim("run", "examples/default.json", "--quiet", "--seed", "7", "--json", out);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(out, "utf8")).seed).toBe(7);
  });

  test("a .ts scenario with export default runs", () => {
    const sc = JSON.parse(DEFAULT);
    const ts = file("scenario.ts", [
      "interface Host { ip: string; ports?: string; listen?: { port: number }[] }",
      `const hosts: Record<string, Host> = ${JSON.stringify(sc.hosts)};`,
      "export default {",
      '  name: "from-typescript",',
      '  duration: "20s" as const,',
      "  hosts,",
      `  links: ${JSON.stringify(sc.links)},`,
      `  workloads: ${JSON.stringify(sc.workloads)},`,
      "};",
      "",
    ].join("\n"));
    const out = file("ts-result.json");
    const r = connsim("run", ts, "--quiet", "--json", out);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(out, "utf8"));
    expect(res.name).toBe("from-typescript");
    expect(res.totals.attempted).toBeGreaterThan(0);
  });
});

describe("connsim run: bad input exits 2 with one line", () => {
  test("a scenario with a typo names the field", () => {
    const typo = file("typo.json", DEFAULT.replace('"duration"', '"durration"'));
    const line = expectUserError(connsim("run", typo, "--quiet"), "connsim: scenario.");
    expect(line).toBe(`connsim: scenario.durration: unknown field; did you mean "duration"? Allowed: name, description, seed, duration, sample, profile, trace, hosts, links, workloads, expect, variant, vary`);
  });

  test("a nested typo names the nested field", () => {
    const sc = JSON.parse(DEFAULT);
    sc.hosts.client.tpc = { timeWait: "1s" };
    const line = expectUserError(connsim("run", file("nested.json", JSON.stringify(sc))), "connsim: scenario.hosts.client.tpc: ");
    expect(line).toContain('did you mean "tcp"?');
  });

  test("a missing file", () => {
    const line = expectUserError(connsim("run", join(dir, "no-such-scenario.json")), "connsim: cannot read scenario file");
    expect(line).toContain("no-such-scenario.json");
    expect(line).toContain("no such file");
  });

  test("invalid JSON says the line and column", () => {
    const line = expectUserError(connsim("run", file("broken.json", '{\n  "duration": 60s,\n  "seed": 1\n}\n')), "connsim: ");
    expect(line).toMatch(/broken\.json is not valid JSON: line 2, column 17: Expected .,. or .}. after property value$/);
  });

  test("a key given twice is refused by name, where it is", () => {
    const text = DEFAULT.replace('"rate": 100,', '"rate": 100, "rate": 400,');
    expectUserError(connsim("run", file("twice.json", text)),
      `connsim: ${join(dir, "twice.json")} is not valid JSON: line 14, column 33: scenario.workloads.0: key "rate" is given twice in one object`);
  });

  test("timeWait: 60000 names timeWait (a number is seconds)", () => {
    const sc = JSON.parse(DEFAULT);
    sc.hosts.client.tcp = { timeWait: 60000 };
    expectUserError(connsim("run", file("tw60000.json", JSON.stringify(sc))),
      'connsim: scenario.hosts.client.tcp.timeWait: 60000 is 60,000 s; a TCP timer must be at most 4294 s; a number is seconds: for 60000 milliseconds write "60000ms"');
  });

  test("an empty JSON file", () => {
    expectUserError(connsim("run", file("empty.json", "")), /^connsim: .*empty\.json is not valid JSON/);
  });

  test("JSON that is not an object", () => {
    expectUserError(connsim("run", file("list.json", "[]")), "connsim: scenario: expected an object with ");
  });

  test("an unknown option names itself and the command's flags", () => {
    expectUserError(connsim("run", "examples/default.json", "--frobnicate"),
      'connsim: unknown option "--frobnicate"; connsim run takes --json, --csv, --html, --pcap, --out, --expect, --workers, --seed, --trace, --quiet (connsim help run)');
    expectUserError(connsim("snapshot", "examples/default.json", "--att", "3s"),
      'connsim: unknown option "--att" (did you mean "--at"?); connsim snapshot takes --at, --seed, --top, --json (connsim help snapshot)');
    expectUserError(connsim("plugins", "--all"), 'connsim: unknown option "--all"; connsim plugins takes no flags (connsim help plugins)');
  });

  test("an option without its value", () => {
    expectUserError(connsim("run", "examples/default.json", "--json"), "connsim: --json needs a value: --json FILE");
  });

  test("--seed abc", () => {
    expectUserError(connsim("run", "examples/default.json", "--seed", "abc"), 'connsim: --seed: expected a whole number from 0 to 9007199254740991, got "abc"');
  });

  test("--seed -1", () => {
    expectUserError(connsim("run", "examples/default.json", "--seed=-1"), 'connsim: --seed: expected a whole number from 0 to 9007199254740991, got "-1"');
  });

  test("run without a scenario file", () => {
    expectUserError(connsim("run"), "connsim: expected one scenario file; usage: connsim run");
  });

  test("an unknown command", () => {
    expectUserError(connsim("simulate", "examples/default.json"), 'connsim: unknown command "simulate"; the commands are run, snapshot, sweep, worker, plugins and help (connsim help)');
    expectUserError(connsim("runn"), 'connsim: unknown command "runn" (did you mean "run"?); the commands are run, snapshot, sweep, worker, plugins and help (connsim help)');
  });

  test("a file type that is not a scenario", () => {
    expectUserError(connsim("run", file("scenario.yaml", "duration: 60s\n")), "connsim: scenario file must end in .json, .js or .ts");
  });

  test("a .ts file that does not compile says where", () => {
    expectUserError(connsim("run", file("syntax.ts", "export default {\n  duration: ,\n};\n")), /^connsim: cannot compile .*syntax\.ts:2:\d+: /);
  });

  test("a .ts file without a default export", () => {
    expectUserError(connsim("run", file("nodefault.ts", "export const scenario = {};\n")), /^connsim: .*nodefault\.ts has no default export/);
  });

  test("a .ts file that throws while loading", () => {
    expectUserError(connsim("run", file("throws.ts", 'throw new Error("no scenario today");\n')), /^connsim: cannot load .*throws\.ts: no scenario today$/);
  });

  test("no arguments prints usage", () => {
    const r = connsim();
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe(OVERVIEW);
  });

  test("--help and help print the overview to stdout and succeed", () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = connsim(...args);
      expect(r.code, args[0]).toBe(0);
      expect(r.stdout).toBe(OVERVIEW);
      expect(r.stderr).toBe("");
    }
  });
});

describe("connsim run: report files and snapshot", () => {
  test("--json --csv --html --pcap in one run: each written, the summary says where", () => {
    const [json, csv, html, pcap] = ["r.json", "r.csv", "r.html", "r.pcap"].map((n) => file(n));
    const r = connsim("run", "examples/default.json", "--json", json, "--csv", csv, "--html", html, "--pcap", pcap);
    expect(r.code, r.stderr).toBe(0);
    for (const f of [json, csv, html]) expect(r.stdout).toContain(`  wrote ${f}\n`);
    expect(r.stdout).toContain(`  wrote ${pcap} (the first 10 connections; --trace N for others)\n`);
    const res = JSON.parse(readFileSync(json, "utf8"));
    expect(res.traces).toHaveLength(10); // --pcap traced them
    expect(readFileSync(csv, "utf8").trimEnd().split("\n")).toHaveLength(1 + res.series.t.length);
    expect(readFileSync(html, "utf8")).toMatch(/^<!doctype html>/i);
    const bytes = readFileSync(pcap);
    expect(bytes.readUInt32LE(0)).toBe(0xa1b2c3d4);
    // 10 connections of 10 segments each (Linux ACKs request and response at once), 16-byte
    // record headers, 54-byte headers plus options (timestamps on: SYN and SYN-ACK 20 bytes,
    // the 8 others 12) plus payload.
    const payload = res.traces.flatMap((t: { segments: { len: number }[] }) => t.segments).reduce((a: number, s: { len: number }) => a + s.len, 0);
    expect(bytes.length).toBe(24 + 100 * (16 + 54) + 10 * (2 * 20 + 8 * 12) + payload);
  });

  test("snapshot --at 30s: the ss -s view of the default study", () => {
    const r = connsim("snapshot", "examples/default.json", "--at", "30s", "--top", "2");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe([
      "port-exhaustion at t=30s (seed 1)",
      "  client: 1,000 TCP sockets, 1,000 local ports in use",
      "    TIME_WAIT 1,000",
      "    10.0.0.1:40000               1 socket (1 in TIME_WAIT)",
      "    10.0.0.1:40001               1 socket (1 in TIME_WAIT)",
      "  server: 0 TCP sockets, 1 listening, 1 local port in use",
      "    10.0.0.2:80                  0 sockets, listening",
      "",
    ].join("\n"));
  });

  test("snapshot without --at, and with a bad --at", () => {
    expectUserError(connsim("snapshot", "examples/default.json"), "connsim: snapshot needs --at TIME");
    expectUserError(connsim("snapshot", "examples/default.json", "--at", "soon"), 'connsim: --at: "soon" is not a duration');
  });
});

describe("connsim run into a pipe", () => {
  test("a reader that stops early (| head) ends the run quietly, not with a stack trace", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" bin/connsim.mjs run examples/flash-crowd.json --quiet --json - | head -c 40`], {
      cwd: ROOT, encoding: "utf8", timeout: 50_000,
    });
    expect(r.stdout).toBe('{\n  "name": "flash-crowd",\n  "seed": 1,\n');
    expect(r.stderr).toBe("");
  });
});

describe("connsim plugins", () => {
  test("lists every built-in by kind with its options, each read from the plugin's own schema", () => {
    const r = connsim("plugins");
    expect(r.code, r.stderr).toBe(0);
    const line = (name: string) => r.stdout.split("\n").find((l) => l.trim().startsWith(`${name} `));
    for (const name of ["none", "bernoulli", "gilbert-elliott", "drop", "delay-duplicate", "policer", "sequential", "random", "linux",
      "windows", "tcp-churn", "closed-loop", "keepalive-pool", "udp-request", "server-restart"]) expect(line(name), name).toBeDefined();
    expect(line("gilbert-elliott")).toMatch(/kernel +p, r, k\?, h\?$/);
    expect(line("policer")).toMatch(/hook +rate, burst$/);
    expect(line("server-restart")).toMatch(/kernel +clients, at, down, reuseAddr\?/);
  });

  test("one plugin in detail, by name or by module path; a typo is a one-line error", () => {
    const r = connsim("plugins", "bernoulli");
    expect(r.stdout).toBe('bernoulli 1.0.0: a loss plugin (kernel)\n  "loss": { "plugin": "bernoulli", ... }\n  p  required  the chance each segment is lost, 0 to 1\n');
    const crowd = connsim("plugins", "./examples/plugins/flash-crowd.mjs");
    expect(crowd.stdout.split("\n")[0]).toBe("flash-crowd 1.0.0: a workload plugin (kernel + hook)");
    expect(crowd.stdout).toMatch(/\n  surge +required +a number >= 1\n/);
    expectUserError(connsim("plugins", "bernouli"), 'connsim: no plugin named "bernouli"; did you mean "bernoulli"?');
  });
});

describe("connsim sweep", () => {
  test("a grid over two workers: one row per run, the varied values first; --csv has the same rows", () => {
    const csv = file("sweep.csv");
    const r = connsim("sweep", "examples/default.json", "--vary", "workloads.0.rate=10,100", "--workers", "2", "--csv", csv);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^workloads\.0\.rate +attempted +established +completed +EADDRNOTAVAIL /);
    expect(lines[1]).toMatch(/^10 +1197 +1197 +1197 +0 /);
    expect(lines[2]).toMatch(/^100 +12108 +2000 +2000 +10108 /);
    expect(lines[3]).toBe(`wrote ${csv}`);
    expect(readFileSync(csv, "utf8").split("\n")[2]).toMatch(/^100,12108,2000,2000,10108,/);
  });

  test("plugins named by path load for a sweep too, and their hooks run in the workers", () => {
    const r = connsim("sweep", "examples/flash-crowd.json", "--vary", "workloads.0.surge=1,10", "--workers", "2");
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split("\n").slice(1).map((l) => l.trim().split(/ +/).map(Number));
    // No surge: 200/s for 120 s, no failures. A 10x surge for 10 s: 18,000 more tries, some refused a port.
    expect(Math.abs(rows[0][1] - 24_000)).toBeLessThan(3 * Math.sqrt(24_000));
    expect(rows[0][4]).toBe(0);
    expect(Math.abs(rows[1][1] - 42_000)).toBeLessThan(3 * Math.sqrt(42_000));
    expect(rows[1][4]).toBeGreaterThan(0);
  });

  test("a bad --vary is a one-line error naming it", () => {
    expectUserError(connsim("sweep", "examples/default.json", "--vary", "workloads.0.rat=1,2"),
      'connsim: --vary workloads.0.rat=1: scenario.workloads.0.rat: unknown field; did you mean "rate"?');
    expectUserError(connsim("sweep", "examples/default.json"), "connsim: sweep needs at least one --vary");
  });
});

describe("connsim run --out DIR: long runs lose nothing", () => {
  // About 20 s of work: samples are streamed every slice (1M events, a fraction of a second).
  const LONG = JSON.stringify({
    name: "long", seed: 3, duration: "3000s", sample: "1s",
    hosts: { c: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "2s" } }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
    links: [{ between: ["c", "s"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 5000 }],
  });

  function startLong(dir: string) {
    return spawn(process.execPath, ["bin/connsim.mjs", "run", file("long.json", LONG), "--out", dir, "--quiet"], { cwd: ROOT });
  }
  async function linesOf(path: string, atLeast: number) {
    for (let i = 0; i < 400; i++) {
      if (existsSync(path) && readFileSync(path, "utf8").split("\n").length > atLeast) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return readFileSync(path, "utf8");
  }

  test("a run killed midway leaves every sample it had taken readable", async () => {
    const dir = join(tmpdir(), `connsim-out-${process.pid}-kill`);
    const child = startLong(dir);
    await linesOf(join(dir, "samples.jsonl"), 30);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const text = readFileSync(join(dir, "samples.jsonl"), "utf8");
    const lines = text.split("\n");
    expect(lines.pop()).toBe(""); // whole lines only
    const [head, ...samples] = lines.map((l) => JSON.parse(l));
    expect(head).toEqual({ name: "long", seed: 3, connsim: expect.any(String) });
    expect(samples.length).toBeGreaterThanOrEqual(30);
    samples.forEach((s, i) => expect(s.t).toBe(i));
    expect(samples.at(-1).states.TIME_WAIT).toBeGreaterThan(9000); // 5000/s x 2 s
    expect(existsSync(join(dir, "result.json"))).toBe(false); // never half written
    rmSync(dir, { recursive: true, force: true });
  });

  test("Ctrl-C stops at the next slice and still writes every file, with what was simulated", async () => {
    const dir = join(tmpdir(), `connsim-out-${process.pid}-int`);
    const child = startLong(dir);
    let stderr = "";
    child.stderr.on("data", (d) => { stderr += d; });
    await linesOf(join(dir, "samples.jsonl"), 10);
    child.kill("SIGINT");
    const code = await new Promise((r) => child.once("exit", r));
    expect(code).toBe(1);
    expect(stderr).toContain("connsim: run stopped early: cancelled");
    const result = JSON.parse(readFileSync(join(dir, "result.json"), "utf8"));
    expect(result.error).toBe("cancelled");
    const streamed = readFileSync(join(dir, "samples.jsonl"), "utf8").trimEnd().split("\n").length - 1;
    expect(result.series.t).toHaveLength(streamed);
    expect(readFileSync(join(dir, "series.csv"), "utf8").trimEnd().split("\n")).toHaveLength(streamed + 1);
    expect(existsSync(join(dir, "report.html"))).toBe(true);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("limits named before the run", () => {
  test("a run of hours is announced on stderr before it starts", async () => {
    const huge = file("huge.json", JSON.stringify({
      duration: "10h", sample: "1m",
      hosts: { c: { ip: "10.0.0.1", ports: "1024-65535", tcp: { timeWait: "1s" } }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
      links: [{ between: ["c", "s"], latency: "1ms" }],
      workloads: [{ plugin: "tcp-churn", from: "c", to: "s:80", rate: 20000 }],
    }));
    const child = spawn(process.execPath, ["bin/connsim.mjs", "run", huge], { cwd: ROOT });
    let stderr = "";
    await new Promise<void>((resolve) => child.stderr.on("data", (d) => { stderr += d; if (stderr.includes("\n")) resolve(); }));
    child.kill("SIGKILL");
    // 20,000/s for 36,000 s, about 10 events each.
    expect(stderr.split("\n")[0]).toBe("connsim: about 7.2 billion events, roughly 0.5 hours; Ctrl-C stops it and keeps what was simulated");
  });

  test("a result too large for memory is refused, naming the sample", () => {
    const many = JSON.parse(DEFAULT);
    for (let i = 0; i < 30; i++) many.hosts[`h${i}`] = { ip: `10.1.0.${i + 1}` };
    many.duration = "264h"; many.sample = "1s";
    // 950,401 samples x (32 hosts x 12 + 6) numbers.
    expectUserError(connsim("run", file("many.json", JSON.stringify(many))),
      "connsim: scenario.sample: 950401 samples of 32 hosts make a result of 371 million numbers (at most 200 million); use a longer sample");
  });
});

test("--json to a device writes to it and leaves it a device (/dev/null)", () => {
  const r = connsim("run", "examples/default.json", "--quiet", "--json", "/dev/null");
  expect(r.code, r.stderr).toBe(0);
  expect(statSync("/dev/null").isCharacterDevice()).toBe(true);
});
