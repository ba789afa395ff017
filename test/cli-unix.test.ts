// The CLI as Unix users expect it: data alone on stdout when it goes to a pipe, help per
// command, a version, Ctrl-C's summary over the time simulated, caps named with their
// counts, --expect checks with their own exit code, and small things (write failures
// name the flag, --out with a file flag, all connections refused, 10d).

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { connsim, expectUserError, ROOT } from "./cli-helpers.js";

const DEFAULT = JSON.parse(readFileSync(join(ROOT, "examples/default.json"), "utf8"));
const VERSION = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;

let dir: string;
beforeAll(() => {
  if (!existsSync(join(ROOT, "dist/cli.js"))) throw new Error("dist/cli.js is missing; run `node scripts/build.mjs` first");
  dir = mkdtempSync(join(tmpdir(), "connsim-unix-"));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A scenario file in the temp dir: the default study changed by `edit`. */
function scenario(name: string, edit: (s: typeof DEFAULT) => void = () => {}): string {
  const s = structuredClone(DEFAULT);
  edit(s);
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(s));
  return path;
}

function sh(command: string) {
  const r = spawnSync("sh", ["-c", command], { cwd: ROOT, encoding: "utf8", timeout: 50_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The summary's line that starts with `label` (after its indent). */
const line = (text: string, label: string) => text.split("\n").find((l) => l.trimStart().startsWith(label));

describe("pipes: data alone on stdout", () => {
  test("run --json - | a JSON parser: stdout is the result, the summary is on stderr", () => {
    const r = sh(`"${process.execPath}" bin/connsim.mjs run examples/default.json --json - | "${process.execPath}" -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => { const r = JSON.parse(s); console.log(r.name, r.totals.failed.EADDRNOTAVAIL); })'`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe("port-exhaustion 10108\n");
    expect(r.stderr).toMatch(/^port-exhaustion \(profile linux, seed 1\)\n/);
    expect(r.stderr).toContain("    first EADDRNOTAVAIL  by 11 s     10 s      ports / rate\n");
    expect(r.stderr).not.toContain("wrote -");
  });

  test("run --csv -: only CSV rows on stdout; other files are still named on stderr", () => {
    const json = join(dir, "piped.json");
    const r = connsim("run", "examples/default.json", "--csv", "-", "--json", json);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trimEnd().split("\n");
    expect(rows[0]).toMatch(/^t,/);
    expect(rows).toHaveLength(1 + JSON.parse(readFileSync(json, "utf8")).series.t.length);
    expect(rows.every((l) => l.split(",").length === rows[0].split(",").length)).toBe(true);
    expect(r.stderr).toContain(`  wrote ${json}\n`);
  });

  test("sweep --csv -: the CSV on stdout, the table on stderr", () => {
    const r = connsim("sweep", "examples/default.json", "--vary", "workloads.0.rate=10,100", "--workers", "1", "--csv", "-");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^workloads\.0\.rate,attempted,established,/);
    expect(r.stdout.split("\n")[2]).toMatch(/^100,12108,2000,2000,10108,/);
    expect(r.stderr).toMatch(/^workloads\.0\.rate +attempted +established/);
  });

  test("sweep --json -: JSON Lines on stdout, one run a line", () => {
    const r = connsim("sweep", "examples/default.json", "--vary", "workloads.0.rate=10,100", "--workers", "1", "--json", "-");
    expect(r.code, r.stderr).toBe(0);
    const runs = r.stdout.trimEnd().split("\n").map((l) => JSON.parse(l));
    expect(runs.map((x) => [x.values["workloads.0.rate"], x.totals.attempted, x.totals.failed.EADDRNOTAVAIL])).toEqual([[10, 1197, 0], [100, 12108, 10108]]);
  });

  test("two outputs cannot share stdout", () => {
    expectUserError(connsim("run", "examples/default.json", "--json", "-", "--csv", "-"), "connsim: --json - and --csv -: only one output can go to stdout");
  });
});

describe("help and version", () => {
  test("--version prints package.json's version", () => {
    const r = connsim("--version");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`connsim ${VERSION}\n`);
  });

  test("every command has --help, the same as connsim help COMMAND, listing each flag it takes", () => {
    const flags: Record<string, string[]> = {
      run: ["json", "csv", "html", "pcap", "out", "expect", "workers", "seed", "trace", "quiet"],
      snapshot: ["at", "seed", "top", "json"], sweep: ["vary", "workers", "seed", "csv", "json", "html", "queue", "results", "quiet"],
      worker: ["queue", "concurrency"], plugins: [],
    };
    for (const [command, names] of Object.entries(flags)) {
      const help = connsim(command, "--help");
      expect(help.code, command).toBe(0);
      expect(help.stderr).toBe("");
      expect(help.stdout.split("\n")[0]).toMatch(new RegExp(`^usage: connsim ${command} `));
      expect(connsim("help", command).stdout).toBe(help.stdout);
      const listed = [...help.stdout.matchAll(/^ {2}--([a-z]+)/gm)].map((m) => m[1]);
      expect(listed, command).toEqual(names); // the parser takes the same table (cli.ts COMMANDS)
    }
    expect(connsim("run", "--help").stdout).toContain("\n  --expect CHECK  a check on the result, e.g. 'failed.EADDRNOTAVAIL==0'; exit 3 if one fails\n");
    expectUserError(connsim("help", "simulate"), 'connsim: unknown command "simulate"');
  });
});

describe("Ctrl-C: the summary covers the time simulated", () => {
  test("SIGINT after the first progress line: the rate is the offered 5,000/s over the time reached, not over 3,000 s", async () => {
    const long = scenario("long.json", (s) => {
      Object.assign(s, { name: "long", duration: "3000s", sample: "1s" });
      s.hosts.client.ports = "1024-65535";
      s.hosts.client.tcp = { timeWait: "2s" };
      Object.assign(s.workloads[0], { rate: 5000, arrival: "constant" });
    });
    const json = join(dir, "long-result.json");
    const child = spawn(process.execPath, ["bin/connsim.mjs", "run", long, "--json", json], { cwd: ROOT });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => { stdout += d; });
    await new Promise<void>((resolve) => child.stderr.on("data", (d) => {
      stderr += d;
      if (/connsim: +\d+% +t=/.test(stderr)) resolve();
    }));
    child.kill("SIGINT");
    expect(await new Promise((r) => child.once("exit", r))).toBe(1);
    const result = JSON.parse(readFileSync(json, "utf8"));
    const reached = result.engine.simulatedSeconds;
    expect(reached).toBeGreaterThan(0);
    expect(reached).toBeLessThan(3000);
    // Every connection offered by the time reached was made (constant arrivals, 1 per 200 us).
    expect(Math.abs(result.totals.attempted - 5000 * reached)).toBeLessThanOrEqual(2);
    expect(line(stdout, "stopped")).toBe(`  stopped      at t=${Number(reached.toPrecision(3)).toLocaleString("en-US")} s of 3,000 s (cancelled); the figures are for the time simulated`);
    expect(line(stdout, "connections/s")).toBe("    connections/s        5,000       5,000     the offered rate");
  }, 60_000);
});

describe("caps that change the answer are named, with counts", () => {
  test("tcp_max_tw_buckets: the sockets closed instead of entering TIME_WAIT", () => {
    // TIME_WAIT outlasts the run, so every completed connection either entered it (500) or overflowed.
    const path = scenario("tw-buckets.json", (s) => { s.hosts.client.tcp = { maxTwBuckets: 500, timeWait: "600s" }; });
    const json = join(dir, "tw-buckets-result.json");
    const r = connsim("run", path, "--json", json);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(json, "utf8"));
    expect(res.peak.TIME_WAIT).toBe(500);
    expect(res.totals.timeWaitOverflow).toBe(res.totals.completed - 500);
    expect(line(r.stdout, "capped")).toBe(`  capped       tcp_max_tw_buckets 500 on client: ${res.totals.timeWaitOverflow.toLocaleString("en-US")} sockets closed at once instead of entering TIME_WAIT (TCPTimeWaitOverflow)`);
    // The port study's analytic column assumes a TIME_WAIT per port: not shown when the cap broke that.
    expect(r.stdout).not.toContain("analytic");
  });

  test("a full accept queue: ListenOverflows counted in the capped line", () => {
    const json = join(dir, "slow-accept.json");
    const r = connsim("run", "examples/slow-accept.json", "--json", json);
    expect(r.code, r.stderr).toBe(0);
    const { listen } = JSON.parse(readFileSync(json, "utf8")).totals;
    expect(listen.ListenOverflows).toBeGreaterThan(0);
    expect(line(r.stdout, "capped")).toBe(`  capped       accept queue full: ${listen.ListenOverflows.toLocaleString("en-US")} SYNs and handshake ACKs dropped or reset (ListenOverflows); the listen lines say which queue`);
  });

  test("nothing capped, no capped line", () => {
    expect(connsim("run", "examples/default.json").stdout).not.toContain("capped");
  });
});

describe("--expect: checks for CI", () => {
  test("each check is listed held or failed with its value; one failing exits 3 and says which on stderr", () => {
    const r = connsim("run", "examples/default.json", "--expect", "failed.EADDRNOTAVAIL==0", "--expect", "peak.TIME_WAIT<20000");
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      "  checks       failed  failed.EADDRNOTAVAIL==0  (10,108)\n" +
      "               held    peak.TIME_WAIT<20000     (1,000)\n");
    expect(r.stderr).toBe("connsim: 1 of 2 checks failed: failed.EADDRNOTAVAIL==0 (10,108)\n");
  });

  test("all held: exit 0; totals. may be written or left out; every operator", () => {
    const checks = ["totals.attempted==12108", "attempted!=0", "completed<=2000", "completed>=2000", "segments.sent>15999", "peak.TIME_WAIT<1001", "failed.EADDRNOTAVAIL>1e4"];
    const r = connsim("run", "examples/default.json", "--quiet", ...checks.flatMap((c) => ["--expect", c]));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toBe("");
  });

  test("a scenario's expect list is checked too, before the command line's", () => {
    const path = scenario("checked.json", (s) => { s.expect = ["failed.ECONNREFUSED==0", "completed>2000"]; });
    const r = connsim("run", path, "--expect", "peak.TIME_WAIT<=1000");
    expect(r.code).toBe(3);
    expect(r.stdout).toContain(
      "  checks       held    failed.ECONNREFUSED==0  (0)\n" +
      "               failed  completed>2000          (2,000)\n" +
      "               held    peak.TIME_WAIT<=1000    (1,000)\n");
  });

  test("a bad check is bad input (exit 2) naming the allowed roots, before anything runs", () => {
    expectUserError(connsim("run", "examples/default.json", "--expect", "peek.TIME_WAIT<1"),
      'connsim: --expect "peek.TIME_WAIT<1": no number at peek.TIME_WAIT (did you mean "peak"?); the roots are totals and peak, and a field of totals may be written without "totals.": attempted, established, completed, pending, failed, segments, timeWaitReused, timeWaitOverflow, listen, why');
    expectUserError(connsim("run", "examples/default.json", "--expect", "peak.TIME_WAT<1"), /^connsim: --expect "peak\.TIME_WAT<1": no number at peak\.TIME_WAT \(did you mean "TIME_WAIT"\?\); peak has CLOSED, LISTEN, /);
    expectUserError(connsim("run", "examples/default.json", "--expect", "failed<1"),
      'connsim: --expect "failed<1": failed is a group, not a number; it has EADDRNOTAVAIL, ECONNREFUSED, ETIMEDOUT, ECONNRESET, EADDRINUSE');
    expectUserError(connsim("run", "examples/default.json", "--expect", "failed.EADDRNOTAVAIL=0"),
      'connsim: --expect "failed.EADDRNOTAVAIL=0" is not a check; write PATH OPERATOR NUMBER, like "failed.EADDRNOTAVAIL==0" or "peak.TIME_WAIT<20000", with one of == != <= >= < >');
    expectUserError(connsim("run", scenario("bad-check.json", (s) => { s.expect = ["peak.TIME_WAIT<1", "engine.events>0"]; })),
      /^connsim: scenario\.expect\.1: "engine\.events>0": no number at engine\.events; the roots are totals and peak/);
  });
});

describe("small things", () => {
  test("a write that fails names the flag and the file, not a temp file", () => {
    const blocker = join(dir, "a-file");
    writeFileSync(blocker, "");
    const r = connsim("run", "examples/default.json", "--quiet", "--json", join(blocker, "r.json"));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`connsim: --json: cannot write ${join(blocker, "r.json")}: ${blocker} is a file, not a directory\n`);
    const s = connsim("sweep", "examples/default.json", "--quiet", "--vary", "workloads.0.rate=10", "--csv", join(blocker, "s.csv"));
    expect(s.stderr).toBe(`connsim: --csv: cannot write ${join(blocker, "s.csv")}: ${blocker} is a file, not a directory\n`);
  });

  test("--out DIR with --json FILE: the file flag wins for its file, DIR gets the rest", () => {
    const out = join(dir, "outdir");
    const json = join(dir, "elsewhere.json");
    const r = connsim("run", "examples/default.json", "--out", out, "--json", json);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(json)).toBe(true);
    expect(existsSync(join(out, "result.json"))).toBe(false);
    for (const f of ["samples.jsonl", "series.csv", "report.html"]) expect(existsSync(join(out, f)), f).toBe(true);
    expect(r.stdout).toContain(`  wrote ${json}\n`);
  });

  test("every connection refused: the study says so beside its analytic column", () => {
    const path = scenario("refused.json", (s) => { s.hosts.server.listen[0].port = 81; });
    const r = connsim("run", path);
    expect(r.code, r.stderr).toBe(0);
    expect(line(r.stdout, "connections/s")).toBe("    connections/s        0           16.7      none established: 12,108 refused (ECONNREFUSED), nothing listens on server:80");
  });

  test("10d is a duration", () => {
    const path = scenario("ten-days.json", (s) => { Object.assign(s, { duration: "10d", sample: "1d", workloads: [] }); });
    const json = join(dir, "ten-days-result.json");
    const r = connsim("run", path, "--quiet", "--json", json);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(json, "utf8"));
    expect(res.engine.simulatedSeconds).toBe(864_000);
    expect(res.series.t).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((d) => d * 86_400));
  });
});
