// From code as from the CLI: docs/code.md shows examples/code/*.mjs verbatim, and each
// example, run as a user runs it (node, importing "connsim"), gives what the matching
// command gives. The writers are checked byte for byte on the CLI's own result.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { htmlReport, pcapBytes, resultJson, seriesCsv, type Result } from "../sdk/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const dir = mkdtempSync(join(tmpdir(), "connsim-from-code-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function node(...args: string[]) {
  const r = spawnSync(process.execPath, args, { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
  if (r.error) throw r.error;
  expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(0);
  return r;
}
const connsim = (...args: string[]) => node("bin/connsim.mjs", ...args);
const read = (file: string) => readFileSync(file, "utf8");
const scenario = JSON.parse(read(join(ROOT, "examples/default.json")));

test("docs/code.md shows every example of examples/code as it is, and nothing else as code", () => {
  const doc = read(join(ROOT, "docs/code.md"));
  const shown = [...doc.matchAll(/\[examples\/code\/([\w.-]+)\]\([^)]*\):\n\n```js\n([\s\S]*?)```\n/g)].map(([, file, code]) => [file, code]);
  expect(shown.map(([file]) => file).sort()).toEqual(readdirSync(join(ROOT, "examples/code")).sort());
  for (const [file, code] of shown) expect(code, file).toBe(read(join(ROOT, "examples/code", file)));
  expect(doc.match(/```/g)?.length).toBe(2 * shown.length);
});

describe("each example gives what the CLI gives", () => {
  test("outputs.mjs: the files of `connsim run --trace 10 --json --csv --html --pcap`", async () => {
    const cli = join(dir, "cli");
    connsim("run", "examples/default.json", "--quiet", "--trace", "10", "--json", join(cli, "result.json"), "--csv", join(cli, "series.csv"),
      "--html", join(cli, "report.html"), "--pcap", join(cli, "trace.pcap"));
    const code = join(dir, "code");
    expect(node("examples/code/outputs.mjs", code).stdout).toBe(`wrote ${code}: result.json, series.csv, report.html, trace.pcap\n`);
    for (const file of ["series.csv", "trace.pcap"]) expect(readFileSync(join(code, file)).equals(readFileSync(join(cli, file))), file).toBe(true);
    // Two runs differ only in their wall time.
    const [a, b] = [cli, code].map((d) => JSON.parse(read(join(d, "result.json"))) as Result);
    expect({ ...b, engine: { ...b.engine, wallSeconds: 0 } }).toEqual({ ...a, engine: { ...a.engine, wallSeconds: 0 } });
    expect(a.traces).toHaveLength(10);

    // One result through both paths: the same bytes, every writer.
    expect(resultJson(a)).toBe(read(join(cli, "result.json")));
    expect(seriesCsv(a)).toBe(read(join(cli, "series.csv")));
    expect(Buffer.from(pcapBytes(a.traces!)).equals(readFileSync(join(cli, "trace.pcap")))).toBe(true);
    expect(await htmlReport(a, scenario)).toBe(read(join(cli, "report.html")));
  });

  test("sweep.mjs: `connsim sweep --vary workloads.0.rate=10,100 --csv`", () => {
    const csv = join(dir, "sweep.csv");
    connsim("sweep", "examples/default.json", "--vary", "workloads.0.rate=10,100", "--workers", "2", "--csv", csv);
    const r = node("examples/code/sweep.mjs");
    expect(r.stdout).toBe(read(csv));
    expect(r.stdout.split("\n")[2]).toMatch(/^100,12108,2000,2000,10108,/);
  });

  test("snapshot.mjs: `connsim snapshot --at 30s --json`", () => {
    const json = join(dir, "snapshot.json");
    const cli = connsim("snapshot", "examples/default.json", "--at", "30s", "--json", json);
    expect(cli.stdout).toMatch(/^port-exhaustion at t=30s \(seed 1\)\n/);
    expect(cli.stdout.endsWith(`wrote ${json}\n`)).toBe(true);
    const r = node("examples/code/snapshot.mjs");
    expect(r.stdout).toBe(read(json));
    expect(r.stderr).toBe("client at 30s: 1000 in TIME_WAIT, 1000 ports in use\n");
    // --json -: stdout holds only the snapshot; the text view goes to stderr.
    const piped = connsim("snapshot", "examples/default.json", "--at", "30s", "--json", "-");
    expect(piped.stdout).toBe(read(json));
    expect(piped.stderr).toBe(cli.stdout.replace(`wrote ${json}\n`, ""));
  });

  test("plugins.mjs: planScenario + runPlan with the plugin list equals runScenario with it; a module by path loads", () => {
    const lines = node("examples/code/plugins.mjs").stdout.split("\n");
    const [ran, planned] = [lines[0].replace("runScenario:", ""), lines[1].replace("planScenario:", "")];
    expect(planned).toBe(ran);
    // Every tenth connection from the 100th loses every segment; the others complete.
    expect(ran).toMatch(/^ \d+ completed, [1-9]\d* dropped$/);
    expect(lines[2]).toBe("loaded: tail-drop");
    expect(Number(lines[3].replace("retransmitted: ", ""))).toBeGreaterThan(0);
  });
});
