// The engine's tables past their old fixed sizes (1024 hosts, addresses, listeners and
// workloads): each grows, and a scenario runs as its counts say. Where a field's width
// or memory truly limits, the scenario is refused before it runs, with the field, the
// count and the limit; and the engine itself refuses a call beyond a table.
// Needs the build (build/engine.wasm; dist/ for workers and the CLI), as `npm test` does.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { HostParam, WlParam } from "../assembly/abi.js";
import { instantiateEngine, type EngineExports } from "../sdk/engine.js";
import { runScenario, snapshotScenario, type Result, type Scenario } from "../sdk/index.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
type Workload = Scenario["workloads"][number];

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
const churn = (from: string, to: string, count: number, extra: Partial<Workload> = {}): Workload =>
  ({ plugin: "tcp-churn", from, to, rate: 1000, arrival: "constant", count, request: 100, response: 1000, closer: "client", ...extra }) as Workload;

/** Server "s" and `clients` clients c0.. linked to it, each opening `count` connections; `idle` unlinked hosts more. */
function fleet(clients: number, count: number, idle = 0): Scenario {
  const hosts: Scenario["hosts"] = { s: { ip: "9.0.0.1", listen: [{ port: 80 }] } };
  const links: Scenario["links"] = [];
  const workloads: Workload[] = [];
  for (let i = 0; i < clients; i++) {
    hosts[`c${i}`] = { ip: ip(i + 1) };
    links.push({ between: [`c${i}`, "s"], latency: "1ms" });
    workloads.push(churn(`c${i}`, "s:80", count));
  }
  for (let i = 0; i < idle; i++) hosts[`idle${i}`] = { ip: ip(clients + i + 1) };
  return { duration: "1s", sample: "100ms", hosts, links, workloads };
}

/** Client "c" to server "s" (`addresses` of them, a listener on each), `count` connections. */
function manyAddresses(addresses: number, count: number): Scenario {
  return {
    duration: "1s", sample: "100ms",
    hosts: { c: { ip: "9.0.0.1" }, s: { ip: Array.from({ length: addresses }, (_, i) => ip(i + 1)), listen: [{ port: 80 }] } },
    links: [{ between: ["c", "s"], latency: "1ms" }],
    workloads: [churn("c", "s:80", count)],
  };
}

const last = (xs: number[]) => xs[xs.length - 1];
/**
 * Every connection of a plain churn exchange, no failure: 10 segments under Linux (the
 * handshake's 3, request, its quick ACK, response, its quick ACK, and the 3-segment close).
 */
function expectAllCompleted(r: Result, n: number): void {
  expect(r.error).toBeUndefined();
  const { attempted, established, completed, pending, segments } = r.totals;
  expect({ attempted, established, completed, pending, sent: segments.sent })
    .toEqual({ attempted: n, established: n, completed: n, pending: 0, sent: 10 * n });
  expect(Object.values(r.totals.failed).every((v) => v === 0)).toBe(true);
}

describe("tables grow past 1024", () => {
  test("1031 hosts (it hung): every one of 1030 clients' 2 connections completes, each client ends with 2 in TIME_WAIT", async () => {
    const r = await runScenario(fleet(1030, 2));
    expectAllCompleted(r, 2060);
    for (let i = 0; i < 1030; i++) expect(last(r.series.byHost[`c${i}`].TIME_WAIT), `c${i}`).toBe(2);
    expect(last(r.series.byHost.s.TIME_WAIT)).toBe(0);
  });

  test("3000 hosts and 2000 links: the linked clients' connections complete, the idle hosts hold nothing", async () => {
    const r = await runScenario(fleet(2000, 1, 999));
    expect(Object.keys(r.series.byHost)).toHaveLength(3000);
    expectAllCompleted(r, 2000);
    for (let i = 0; i < 2000; i++) expect(last(r.series.byHost[`c${i}`].TIME_WAIT), `c${i}`).toBe(1);
    for (let i = 0; i < 999; i++) expect(last(r.series.byHost[`idle${i}`].TIME_WAIT)).toBe(0);
  });

  test("1100 workloads (it hung; the 1025th never ran): all run, the 1025th from a host of its own", async () => {
    const s: Scenario = {
      duration: "1s", sample: "100ms",
      hosts: { c: { ip: "10.0.0.1" }, d: { ip: "10.0.0.3" }, s: { ip: "10.0.0.2", listen: [{ port: 80 }] } },
      links: [{ between: ["c", "s"], latency: "1ms" }, { between: ["d", "s"], latency: "1ms" }],
      workloads: Array.from({ length: 1100 }, (_, i) => churn(i === 1024 ? "d" : "c", "s:80", 1)),
    };
    const r = await runScenario(s);
    expectAllCompleted(r, 1100);
    expect(last(r.series.byHost.d.TIME_WAIT)).toBe(1);
    expect(last(r.series.byHost.c.TIME_WAIT)).toBe(1099);
  });

  test("1100 listeners (it hung): the first and the last answer, each protocol finds its own, a port nobody listens on refuses", async () => {
    const listen = [...Array.from({ length: 1100 }, (_, i) => ({ port: 1000 + i })), { port: 2099, protocol: "udp" as const }, { port: 2100, protocol: "udp" as const }];
    const udp = (to: string, count: number) => ({ plugin: "udp-request", from: "c", to, rate: 100, count, arrival: "constant" }) as Workload;
    const s: Scenario = {
      duration: "1s", sample: "100ms",
      hosts: { c: { ip: "10.0.0.1" }, s: { ip: "10.0.0.2", listen } },
      links: [{ between: ["c", "s"], latency: "1ms" }],
      // TCP to 1000 and 2099 (also UDP); TCP to 2100 (UDP only): refused; UDP to 2099: answered; UDP to 2101: unreachable.
      workloads: [churn("c", "s:1000", 3), churn("c", "s:2099", 4), churn("c", "s:2100", 5), udp("s:2099", 2), udp("s:2101", 6)],
    };
    const r = await runScenario(s);
    expect(r.error).toBeUndefined();
    expect(r.totals).toMatchObject({ attempted: 20, established: 15, completed: 9, pending: 0 });
    expect(r.totals.failed).toEqual({ EADDRNOTAVAIL: 0, ECONNREFUSED: 11, ETIMEDOUT: 0, ECONNRESET: 0, EADDRINUSE: 0 });
    expect(last(r.series.byHost.s.LISTEN)).toBe(1100);
  });

  test("1100 addresses on one host (0 of 503 were established): 503 of 503, as with one address", async () => {
    const many = await runScenario(manyAddresses(1100, 503));
    expectAllCompleted(many, 503);
    expect(last(many.series.byHost.s.LISTEN)).toBe(1100);
    const one = await runScenario(manyAddresses(1, 503));
    expect(many.totals).toEqual(one.totals);
    expect(many.series.byHost.c).toEqual(one.series.byHost.c);
  });

  test("10,000 addresses ('unreachable'): 503 of 503; the engine stays under 4 GiB", async () => {
    const r = await runScenario(manyAddresses(10_000, 503));
    expectAllCompleted(r, 503);
    expect(r.engine.memoryBytes).toBeLessThan(2 ** 32);
  });

  test("a snapshot reads port tables above 2 GiB (the engine's addresses came back as negative i32)", async () => {
    const snap = await snapshotScenario(manyAddresses(8200, 10), { at: "500ms", top: 1 });
    expect(snap.hosts.s.states.LISTEN).toBe(8200);
    expect(snap.hosts.c.states.TIME_WAIT).toBe(10);
    expect(snap.hosts.c.busiest).toEqual([{ ip: "9.0.0.1", port: 51080, // the linux allocator's first pick
 sockets: 1, timeWait: 1, listening: false }]);
  });
});

describe("refused before the run, naming the field, the count and the limit", () => {
  test("addresses whose port tables need more than WebAssembly's 4 GiB", async () => {
    await expect(runScenario(manyAddresses(16_000, 1))).rejects.toThrow(
      "scenario.hosts: 16001 addresses on 2 hosts need about 4.16 GiB of engine memory before the first connection (272 KiB of port tables each); WebAssembly gives an engine 4.00 GiB: use fewer addresses");
  });

  test("addresses past memoryLimit", async () => {
    await expect(runScenario(manyAddresses(10_000, 1), { memoryLimit: 2 ** 30 })).rejects.toThrow(
      "scenario.hosts: 10001 addresses on 2 hosts need about 2.60 GiB of engine memory before the first connection (272 KiB of port tables each); memoryLimit is 1.00 GiB: raise it or use fewer addresses");
  });

  test("two host groups too big for one engine: refused in one, and each runs in a worker of its own", async () => {
    const half = manyAddresses(8200, 503);
    const s: Scenario = {
      ...half,
      hosts: { ...half.hosts, c2: { ip: "9.0.0.2" }, s2: { ip: Array.from({ length: 8200 }, (_, i) => ip(100_000 + i)), listen: [{ port: 80 }] } },
      links: [...half.links, { between: ["c2", "s2"], latency: "1ms" }],
      workloads: [...half.workloads, churn("c2", "s2:80", 503)],
    };
    await expect(runScenario(s)).rejects.toThrow(
      "scenario.hosts: 16402 addresses on 4 hosts need about 4.26 GiB of engine memory before the first connection (272 KiB of port tables each); WebAssembly gives an engine 4.00 GiB: use fewer addresses; host groups that no link joins can run in separate workers (--workers)");
    const r = await runScenario(s, { workers: 2 });
    expect(r.engine.workers).toBe(2);
    expectAllCompleted(r, 1006);
  });

  test("more workloads than a socket's u16 workload field holds", async () => {
    const s: Scenario = {
      duration: "1s", hosts: { c: { ip: "10.0.0.1" }, s: { ip: "10.0.0.2" } }, links: [{ between: ["c", "s"], latency: "1ms" }],
      workloads: Array.from({ length: 65_537 }, () => churn("c", "s:80", 1)),
    };
    await expect(runScenario(s)).rejects.toThrow(
      "scenario.workloads: 65537 workloads (a rate step counts as one), the engine takes at most 65536 in one run");
  });

  test("more links than the u16 direction fields hold", async () => {
    const hosts: Scenario["hosts"] = {};
    const links: Scenario["links"] = [];
    for (let i = 0; i < 257; i++) hosts[`h${i}`] = { ip: ip(i + 1) };
    for (let i = 0; i < 257; i++) for (let j = i + 1; j < 257; j++) links.push({ between: [`h${i}`, `h${j}`], latency: "1ms" });
    await expect(runScenario({ duration: "1s", hosts, links, workloads: [] })).rejects.toThrow(
      "scenario.links: 32896 links, the engine takes at most 32768 in one run");
  });

  test("the CLI: exit 2 and the one line, before its output directory is made", () => {
    const dir = mkdtempSync(join(tmpdir(), "connsim-limits-"));
    try {
      const file = join(dir, "big.json");
      writeFileSync(file, JSON.stringify(manyAddresses(16_000, 1)));
      const out = join(dir, "out");
      const r = spawnSync(process.execPath, ["bin/connsim.mjs", "run", file, "--quiet", "--out", out], { cwd: ROOT, encoding: "utf8", timeout: 50_000 });
      expect(existsSync(out)).toBe(false);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe("connsim: scenario.hosts: 16001 addresses on 2 hosts need about 4.16 GiB of engine memory before the first connection (272 KiB of port tables each); WebAssembly gives an engine 4.00 GiB: use fewer addresses\n");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the engine refuses a call beyond its tables", () => {
  async function engine(): Promise<EngineExports> {
    const e = await instantiateEngine(await WebAssembly.compile(readFileSync(join(ROOT, "build/engine.wasm"))));
    e.reset(0, 1, 1024);
    return e;
  }

  test("an index past its table, a port past 65535, configuration after the start", async () => {
    const e = await engine();
    expect(() => e.addIp(0, 1)).toThrow("engine configuration: no such host");
    const h = e.addHost(0);
    expect(() => e.setHostParam(h, 99, 1)).toThrow("engine configuration: no such host parameter");
    const a = e.addIp(h, 1);
    expect(() => e.addListener(a + 1, 80, 1)).toThrow("engine configuration: no such address");
    expect(() => e.addListener(a, 70_000, 1)).toThrow("engine configuration: a port above 65535");
    expect(() => e.setLoss(0, 0, 0, 0, 0, 0)).toThrow("engine configuration: no such link direction");
    expect(() => e.setWorkloadParam(0, 0, 1)).toThrow("engine configuration: no such workload");
    const w = e.addWorkload(0);
    e.setWorkloadParam(w, WlParam.Dir, 7); // a direction no link made
    expect(() => e.run(10)).toThrow("engine configuration: a workload's address, direction or port is not in the tables");
    const g = await engine();
    g.setHostParam(g.addHost(0), HostParam.PortHi, 70_000);
    expect(() => g.run(10)).toThrow("engine configuration: a host's port range is not within 0-65535");
    const f = await engine();
    f.addHost(0);
    f.setRun(1000, 1000, 0);
    f.run(10);
    expect(() => f.addHost(1)).toThrow("engine configuration: the run has started");
  });

  test("a table at the width of its index field: links, workloads", async () => {
    const e = await engine();
    e.addHost(0); e.addHost(1);
    for (let i = 0; i < 32_768; i++) e.addLink(0, 1, 1000, 1000, i);
    expect(() => e.addLink(0, 1, 1000, 1000, 32_768)).toThrow("engine table full: at most 32768 links (65536 directions)");
    for (let i = 0; i < 65_536; i++) e.addWorkload(i);
    expect(() => e.addWorkload(65_536)).toThrow("engine table full: at most 65536 workloads");
  });
});
