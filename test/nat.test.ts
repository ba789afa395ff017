// NAT hosts: forwarding over paths of several hops, SNAT as Linux's nf_nat picks tuples,
// conntrack following the TCP states. Analytic capacities, the Linux 6.18 gateway runs
// replayed (test/fixtures/linux-nat), tuples on each side of a traced connection,
// determinism over workers, and the scenario errors.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { planScenario, runOnPool, runPlan, runScenario, WorkerPool, type Result, type Scenario } from "../sdk/index.js";
import { seriesCsv } from "../sdk/report/csv.js";
import { htmlPage } from "../sdk/report/html.js";
import { summary } from "../sdk/report/summary.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const FIX = join(ROOT, "test/fixtures/linux-nat");

type Hosts = Scenario["hosts"];
/** Clients behind gateway "gw" (SNAT to 10.2.0.1.. , `ports`), servers beyond it, 1 ms a hop. */
function behindNat(o: {
  clients?: number; servers?: number; ports?: string; addresses?: string[]; max?: number; duration?: string; sample?: string;
  workload: Record<string, unknown>; trace?: number; timeouts?: Record<string, string>;
}): Scenario {
  const hosts: Hosts = {
    gw: { ip: "10.1.0.1", kind: "nat", nat: { addresses: o.addresses ?? ["10.2.0.1"], ports: o.ports ?? "40000-40999", ...(o.max ? { max: o.max } : {}), ...(o.timeouts ? { timeouts: o.timeouts } : {}) } },
  };
  const links: Scenario["links"] = [];
  const workloads: Scenario["workloads"] = [];
  const servers = o.servers ?? 1;
  for (let s = 0; s < servers; s++) {
    hosts[`server${s}`] = { ip: `10.3.0.${s + 1}`, listen: [{ port: 80 }, { port: 53, protocol: "udp" }] };
    links.push({ between: ["gw", `server${s}`], latency: "1ms" });
  }
  for (let c = 0; c < (o.clients ?? 1); c++) {
    hosts[`client${c}`] = { ip: `10.1.1.${c + 1}` };
    links.push({ between: [`client${c}`, "gw"], latency: "1ms" });
    for (let s = 0; s < servers; s++) workloads.push({ from: `client${c}`, to: `server${s}:${o.workload.plugin === "udp-request" ? 53 : 80}`, ...o.workload } as Scenario["workloads"][number]);
  }
  return { name: "nat", seed: 7, duration: o.duration ?? "120s", sample: o.sample ?? "1s", profile: "linux", trace: o.trace ?? 0, hosts, links, workloads };
}
const churn = (rate: number, hold: string) => ({ plugin: "tcp-churn", rate, arrival: "constant", request: 5, response: 5, hold });
function cumulative(a: number[]): number[] { let s = 0; return a.map((v) => (s += v)); }
const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;

describe("capacity with long-held flows is ports / hold time, per public address and per destination", () => {
  test("one address, one destination: 200 ports held 20 s sustain 10 connections/s of 40 offered", async () => {
    const r = await runScenario(behindNat({ ports: "40000-40199", workload: churn(40, "20s"), duration: "120s" }));
    const cap = r.nats!.gw.capacity!;
    expect(cap.binds).toBe("ports per destination");
    expect(cap.reached).toBe(true);
    expect(cap.rate).toBeGreaterThan(10 * 0.95);
    expect(cap.rate).toBeLessThan(10 * 1.05);
    expect(cap.portsLimit!).toBeGreaterThan(10 * 0.95);
    expect(cap.portsLimit!).toBeLessThan(10 * 1.05);
    expect(r.nats!.gw.peak.states.ESTABLISHED).toBe(200);
    expect(r.nats!.gw.totals.insertFailed).toBeGreaterThan(0);
  });

  test("endpoint-dependent mapping: two destinations double it, one public port serving both at once", async () => {
    const r = await runScenario(behindNat({ ports: "40000-40199", servers: 2, workload: churn(40, "20s"), duration: "120s" }));
    const cap = r.nats!.gw.capacity!;
    expect(cap.destinations).toBe(2);
    expect(cap.rate).toBeGreaterThan(20 * 0.95);
    expect(cap.rate).toBeLessThan(20 * 1.05);
    // 400 entries on 200 ports: each port carries a flow to each server.
    expect(r.nats!.gw.peak.entries).toBe(400);
    expect(Math.max(...r.nats!.gw.series.portsInUse["10.2.0.1"])).toBe(200);
  });

  test("several public addresses: each (client, server) pair keeps to one address, and each address used adds ports / hold", async () => {
    const r = await runScenario(behindNat({ ports: "40000-40099", clients: 8, addresses: ["10.2.0.1", "10.2.0.2"], workload: churn(20, "20s"), duration: "100s" }));
    const n = r.nats!.gw;
    const used = Object.values(n.series.mappings).filter((s) => Math.max(...s) > 0).length;
    expect(used).toBe(2);
    // Each address saturates at its 100 ports (one destination): 100 / 20 s = 5/s per address.
    for (const s of Object.values(n.series.portsInUse)) expect(Math.max(...s)).toBe(100);
    // (The measured rate comes in batches of 200 every ~20 s; the limit is per flow.)
    expect(n.capacity!.portsLimit!).toBeGreaterThan(used * 5 * 0.95);
    expect(n.capacity!.portsLimit!).toBeLessThan(used * 5 * 1.05);
    expect(n.capacity!.holdSeconds).toBeGreaterThan(20);
    expect(n.capacity!.holdSeconds).toBeLessThan(20 * 1.05);
    // Who holds the mappings: the eight clients, whose entries add up to the NAT's at every sample.
    expect(n.insideHosts.map((x) => x.host).sort()).toEqual(Array.from({ length: 8 }, (_, i) => `client${i}`));
    expect(n.insideHosts.reduce((a, x) => a + x.mean, 0)).toBeCloseTo(mean(n.series.entries), 1);
    expect(n.insideHosts[0].peak).toBeGreaterThanOrEqual(n.insideHosts[7].peak);
  });
});

describe("TIME_WAIT takeover", () => {
  test("a NAT that keeps a closed flow's port for its 120 s TIME_WAIT (takeover false) sustains ports / 120 s, where Linux sustains the offered rate", async () => {
    const s = behindNat({ ports: "40000-40999", workload: { plugin: "tcp-churn", rate: 25, arrival: "constant", request: 5, response: 5 }, duration: "300s" });
    // The client's ports one after another: none comes back within the run. (Linux's allocator returns to
    // a port once the client's own 60 s TIME_WAIT ends; its SYN then reopens the gateway's TIME_WAIT entry.)
    s.hosts.client0 = { ...s.hosts.client0, portAllocator: "sequential" };
    const linux = await runScenario(s);
    expect(linux.nats!.gw.totals.insertFailed).toBe(0);
    expect(linux.totals.failed.ETIMEDOUT).toBe(0);
    (s.hosts.gw.nat as { takeover?: boolean }).takeover = false;
    const held = await runScenario(s);
    const n = held.nats!.gw;
    expect(n.totals.takeovers).toBe(0);
    expect(n.totals.insertFailed).toBeGreaterThan(0);
    expect(n.capacity!.binds).toBe("ports per destination");
    expect(n.capacity!.portsLimit!).toBeGreaterThan(1000 / 120 * 0.95);
    expect(n.capacity!.portsLimit!).toBeLessThan(1000 / 120 * 1.05);
    // The first 1000 flows take every port in 40 s; the next 1000 as those entries expire, 120-160 s,
    // and the next 240-280 s: 1000 ports per 120 s, against Linux's 25/s x 300 s.
    expect(Math.max(...n.series.states.TIME_WAIT)).toBe(1000);
    expect(held.totals.established).toBe(3000);
    expect(linux.totals.established).toBe(7500);
  });
});

describe("UDP mappings", () => {
  test("follow Little's law: a DNS-like query stream holds rate x 30 s unreplied-timeout mappings", async () => {
    // (At 75% of the 1000 ports; nearer 90%, the search's runs of consecutive ports from a random
    // offset, like linear probing, start to miss the few free ones: a handful of queries fail.)
    const r = await runScenario(behindNat({ workload: { plugin: "udp-request", rate: 25, arrival: "poisson", request: 40, response: 100 }, duration: "150s" }));
    const n = r.nats!.gw;
    const plateau = mean(n.series.entries.slice(60));
    expect(plateau).toBeGreaterThan(25 * 30 * 0.95);
    expect(plateau).toBeLessThan(25 * 30 * 1.05);
    // A reply within 2 s of the first packet is no stream: the entries stay replied, not assured (120 s).
    expect(n.peak.states.UDP_ASSURED).toBe(0);
    expect(Object.values(r.totals.failed).reduce((a, b) => a + b, 0)).toBe(0);
  });

  test("a storm uses up the mappings: with 100 ports held 30 s, queries past 3.3/s fail", async () => {
    const r = await runScenario(behindNat({ ports: "40000-40099", workload: { plugin: "udp-request", rate: 10, arrival: "constant", request: 40, response: 100, timeout: "2s" }, duration: "120s" }));
    const n = r.nats!.gw;
    expect(Math.max(...n.series.portsInUse["10.2.0.1"])).toBe(100);
    expect(n.totals.insertFailed).toBeGreaterThan(0);
    expect(n.capacity!.portsLimit!).toBeGreaterThan(100 / 30 * 0.95);
    expect(n.capacity!.portsLimit!).toBeLessThan(100 / 30 * 1.05);
    // Every query the NAT dropped times out at the client.
    expect(r.totals.failed.ETIMEDOUT).toBeGreaterThanOrEqual(n.totals.insertFailed - 10 * 2);
    expect(r.totals.failed.ETIMEDOUT).toBeLessThanOrEqual(n.totals.insertFailed);
  });
});

describe("a full table", () => {
  test("drops a new flow's first packet: entries stop at nf_conntrack_max", async () => {
    const r = await runScenario(behindNat({ max: 50, workload: { plugin: "udp-request", rate: 10, arrival: "constant", request: 40, response: 100, timeout: "2s" }, duration: "299s" }));
    const n = r.nats!.gw;
    expect(n.peak.entries).toBe(50);
    expect(n.totals.tableFull).toBeGreaterThan(0);
    expect(n.totals.insertFailed).toBe(0);
    expect(n.capacity!.binds).toBe("table size");
    expect(n.capacity!.reached).toBe(true);
    // 50 entries living 30 s admit 50 flows every 30 s (the table refills as a batch expires): 10 batches in 299 s.
    expect(n.totals.created).toBe(500);
    expect(r.totals.completed).toBe(500);
    expect(n.totals.tableFull).toBe(r.totals.attempted - 500);
  });
});

// ---- the Linux 6.18 gateway runs ---------------------------------------------------------

function reference(name: string) {
  const [head, ...rows] = readFileSync(join(FIX, `${name}.csv`), "utf8").trim().split("\n").map((l) => l.split(","));
  const col = (c: string) => rows.map((r) => Number(r[head.indexOf(c)]));
  return { t: col("t"), col, meta: JSON.parse(readFileSync(join(FIX, `${name}.meta.json`), "utf8")) };
}
const within = (got: number, want: number, frac = 0.05) => {
  expect(got, `${got} vs the kernel's ${want}`).toBeGreaterThanOrEqual(want * (1 - frac));
  expect(got, `${got} vs the kernel's ${want}`).toBeLessThanOrEqual(want * (1 + frac));
};
/** The mean of a series over [t0, t1] s. */
const over = (t: number[], v: number[], t0: number, t1: number) => mean(v.filter((_, i) => t[i] >= t0 && t[i] <= t1));
const replay = (name: string) => ({ ...JSON.parse(readFileSync(join(ROOT, `examples/linux-nat/${name}.json`), "utf8")), sample: "100ms" });

describe("the Linux 6.18 SNAT gateway runs, replayed (within 5%)", () => {
  test("nat_tw_1dst: 25/s for 360 s all succeed, ~1000 TIME_WAIT entries taken over one by one", async () => {
    const k = reference("nat_tw_1dst");
    const r = await runScenario(replay("nat_tw_1dst"));
    const n = r.nats!.gw;
    within(r.totals.established, k.meta.totals.connect_ok);
    expect(r.totals.failed.ETIMEDOUT).toBe(0);
    expect(n.totals.insertFailed).toBe(0); // as the kernel's cts_insert_failed
    expect(Math.max(...k.col("cts_insert_failed"))).toBe(0);
    expect(n.totals.takeovers).toBeGreaterThan(0);
    within(over(r.series.t, n.series.states.TIME_WAIT, 45, 360), over(k.t, k.col("ct_tcp_TIME_WAIT"), 45, 360));
    within(over(r.series.t, n.series.entries, 45, 360), over(k.t, k.col("ct_entries"), 45, 360));
    // The climb to the plateau: 1000 entries once 1000 flows have been made.
    within(over(r.series.t, n.series.entries, 20, 35), over(k.t, k.col("ct_entries"), 20, 35));
  });

  test("nat_estab_hold60: 16.7/s sustained, SYNs dropped from ~38.8 s, ETIMEDOUTs on the SYN schedule", async () => {
    const k = reference("nat_estab_hold60");
    const r = await runScenario(replay("nat_estab_hold60"));
    const n = r.nats!.gw;
    within(r.totals.established, k.meta.totals.connect_ok);
    within(r.totals.failed.ETIMEDOUT, k.meta.totals.errs.ETIMEDOUT);
    const firstDrop = (t: number[], v: number[]) => t[v.findIndex((x) => x > 0)];
    within(firstDrop(r.series.t, cumulative(n.series.insertFailed)), firstDrop(k.t, k.col("cts_insert_failed")));
    within(n.totals.insertFailed, Math.max(...k.col("cts_insert_failed")));
    within(over(r.series.t, n.series.states.ESTABLISHED, 45, 240), over(k.t, k.col("ct_tcp_ESTABLISHED"), 45, 240));
    within(over(r.series.t, n.series.entries, 45, 240), over(k.t, k.col("ct_entries"), 45, 240));
    // TIME_WAIT entries are taken over as soon as they appear: a handful, as in the kernel.
    expect(over(r.series.t, n.series.states.TIME_WAIT, 65, 240)).toBeLessThan(20);
    expect(over(k.t, k.col("ct_tcp_TIME_WAIT"), 65, 240)).toBeLessThan(20);
    const cap = n.capacity!;
    expect(cap.binds).toBe("ports per destination");
    within(cap.portsLimit!, 1000 / 60);
  });

  test("port choice (portkeep.json): the client's port is kept when in range and free, else a random one", async () => {
    const keep = JSON.parse(readFileSync(join(FIX, "portkeep.json"), "utf8"));
    const s = behindNat({ clients: 2, servers: 2, duration: "5s", trace: 100, workload: { plugin: "tcp-churn", rate: 1, count: 1, request: 5, response: 5 } });
    // client0: port 40100 to both servers; client1: 40100 to server0 (taken by client0's flow), 50000 to server1 (outside the range).
    s.workloads = [
      { plugin: "tcp-churn", from: "client0", to: "server0:80", rate: 1, count: 1, localPort: 40100, hold: "3s", arrival: "constant" },
      { plugin: "tcp-churn", from: "client1", to: "server0:80", rate: 1, count: 1, localPort: 40100, hold: "3s", start: "0.5s", arrival: "constant" },
      { plugin: "tcp-churn", from: "client1", to: "server1:80", rate: 1, count: 1, localPort: 50000, hold: "3s", start: "0.6s", arrival: "constant" },
      { plugin: "tcp-churn", from: "client0", to: "server1:80", rate: 1, count: 1, localPort: 40101, hold: "3s", start: "0.7s", arrival: "constant" },
    ] as Scenario["workloads"];
    const r = await runScenario(s);
    const outside = (client: string) => r.traces!.find((t) => t.client === client)!.nat![0].outside;
    expect(keep.free_inrange.nat_port_equal_client_port).toBe(keep.free_inrange.flows);
    expect(outside("10.1.1.1:40100")).toBe("10.2.0.1:40100"); // in range and free: kept
    expect(outside("10.1.1.1:40101")).toBe("10.2.0.1:40101");
    const [other] = r.traces!.filter((t) => t.client === "10.1.1.2:40100").map((t) => t.nat![0].outside);
    expect(keep.same_port_other_client_ip_same_dst.nat_port_equal_client_port).toBe(0);
    expect(other).not.toBe("10.2.0.1:40100"); // the tuple to server0 is taken: another port
    expect(Number(other.split(":")[1])).toBeGreaterThanOrEqual(40000);
    expect(Number(other.split(":")[1])).toBeLessThanOrEqual(40999);
    const out = Number(outside("10.1.1.2:50000").split(":")[1]);
    expect(keep.outside_range.nat_port_equal_client_port).toBe(0);
    expect(out).toBeGreaterThanOrEqual(40000);
    expect(out).toBeLessThanOrEqual(40999);
  });
});

describe("a connection through a NAT, hop by hop", () => {
  test("each segment is traced on each hop, the NAT's tuples on both sides, conntrack through its states", async () => {
    const r = await runScenario(behindNat({ duration: "200s", trace: 1, workload: { plugin: "tcp-churn", rate: 1, count: 1, request: 5, response: 5, start: "1s", arrival: "constant" } }));
    const tr = r.traces![0];
    expect(tr.client).toBe(`10.1.1.1:${tr.client.split(":")[1]}`);
    // The client's port (from 32768-60999) is outside 40000-40999: a random public port in the range.
    expect(tr.nat).toHaveLength(1);
    expect(tr.nat![0]).toMatchObject({ t: 1.001, host: "gw", inside: tr.client });
    expect(tr.nat![0].outside).toMatch(/^10\.2\.0\.1:40\d\d\d$/);
    const hops = tr.segments.map((s) => `${s.from}>${s.to} ${s.flags}`);
    expect(hops.slice(0, 6)).toEqual([
      "client0>gw S", "gw>server0 S", "server0>gw S.", "gw>client0 S.", "client0>gw .", "client0>gw P.",
    ]);
    // The same sequence numbers on both sides (SNAT changes addresses and ports only).
    expect(tr.segments[1].seq).toBe(tr.segments[0].seq);
    const n = r.nats!.gw;
    // After the client's close the entry is in TIME_WAIT for 120 s, then gone.
    const at = (t: number) => r.series.t.indexOf(t);
    expect(n.series.states.TIME_WAIT[at(10)]).toBe(1);
    expect(n.series.states.TIME_WAIT[at(120)]).toBe(1);
    expect(n.series.entries[at(125)]).toBe(0);
    expect(n.totals).toMatchObject({ created: 1, insertFailed: 0, tableFull: 0, invalid: 0 });
  });

  test("routes take the lowest total latency, or the path `via` names", async () => {
    const s: Scenario = {
      duration: "5s", trace: 1,
      hosts: {
        client: { ip: "10.1.0.2" },
        a: { ip: "10.1.0.1", kind: "nat", nat: { addresses: "10.2.0.1" } },
        b: { ip: "10.1.0.3", kind: "nat", nat: { addresses: "10.2.0.3" } },
        server: { ip: "10.9.0.1", listen: [{ port: 80 }] },
      },
      links: [
        { between: ["client", "a"], latency: "1ms" }, { between: ["a", "server"], latency: "5ms" },
        { between: ["client", "b"], latency: "2ms" }, { between: ["b", "server"], latency: "2ms" },
      ],
      workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 1, count: 1, arrival: "constant" }],
    };
    const fast = await runScenario(s);
    expect(fast.traces![0].segments[1]).toMatchObject({ from: "b", to: "server" });
    expect(fast.traces![0].segments[0].t).toBe(0);
    const via = await runScenario({ ...s, workloads: [{ ...s.workloads[0], via: ["a"] }] });
    expect(via.traces![0].segments[1]).toMatchObject({ from: "a", to: "server" });
    expect(via.traces![0].nat![0].outside.startsWith("10.2.0.1:")).toBe(true);
    expect(via.totals.completed).toBe(1);
  });
});

describe("the engine's invariants (12: conntrack's books)", () => {
  test("hold between slices through exhaustion, takeovers, UDP expiry and a full table", async () => {
    const runs = [
      replay("nat_estab_hold60"),
      behindNat({ ports: "40000-40099", servers: 2, workload: churn(20, "5s"), duration: "40s" }),
      behindNat({ max: 50, workload: { plugin: "udp-request", rate: 10, arrival: "poisson", timeout: "2s" }, duration: "70s" }),
    ];
    for (const s of runs) {
      const r = await runScenario({ ...s, duration: "70s" }, { checkInvariants: true, sliceEvents: 5000 });
      expect(r.error).toBeUndefined();
      expect(r.nats!.gw.totals.created).toBeGreaterThan(0);
    }
  });
});

describe("reports", () => {
  test("the summary names the limit that binds and the cap that changed the answer; CSV and HTML carry the NAT's series", async () => {
    const plan = planScenario(behindNat({ ports: "40000-40199", workload: churn(40, "20s"), duration: "60s" }));
    const r = await runPlan(plan);
    const text = summary(r, plan);
    expect(text).toContain("nat gw       10.2.0.1 ports 40000-40199:");
    expect(text).toMatch(/sustains {5}(9\.9\d|10)\/s \(made [\d.]+\/s\): ports 200 x 1 address x 1 destination \/ 20 s held = (9\.9\d|10)\/s; table 262,144 \//);
    expect(text).toContain(`binds        ports per destination (the cap that changed the answer: ${r.nats!.gw.totals.insertFailed.toLocaleString("en-US")} SYNs or datagrams dropped, no free tuple)`);
    const [head, ...rows] = seriesCsv(r).trim().split("\n").map((l) => l.split(","));
    const col = (name: string) => rows.map((row) => Number(row[head.indexOf(name)]));
    expect(col("nats.gw.insertFailed").reduce((a, b) => a + b, 0)).toBe(r.nats!.gw.totals.insertFailed);
    expect(col("nats.gw.ESTABLISHED")).toEqual(r.nats!.gw.series.states.ESTABLISHED);
    expect(col("nats.gw.mappings.10.2.0.1")).toEqual(r.nats!.gw.series.mappings["10.2.0.1"]);
    const html = await htmlPage(r, {}, {});
    expect(html).toContain("<h2>NAT hosts</h2>");
    expect(html).toContain("gw (binds: ports per destination, reached)");
  });
});

describe("determinism", () => {
  const pool = new WorkerPool({ workers: 2 });
  afterAll(() => pool.close());
  test("two NAT groups on 1 and 2 workers: identical JSON and CSV", async () => {
    const one = behindNat({ ports: "40000-40149", workload: churn(20, "10s"), duration: "40s" });
    const other = JSON.parse(JSON.stringify(one).replaceAll("gw", "gx").replaceAll("client0", "client9").replaceAll("server0", "server9")
      .replaceAll("10.1.", "10.5.").replaceAll("10.2.0.1", "10.6.0.1").replaceAll("10.3.0.1", "10.7.0.1"));
    const s: Scenario = { ...one, hosts: { ...one.hosts, ...other.hosts }, links: [...one.links, ...other.links], workloads: [...one.workloads, ...other.workloads] };
    const plan = planScenario(s);
    const a = await runPlan(plan);
    const b = await runOnPool(plan, pool);
    const strip = (r: Result) => ({ ...r, engine: { ...r.engine, workers: 0, wallSeconds: 0, memoryBytes: 0 } });
    expect(b.engine.workers).toBe(2);
    expect(JSON.stringify(strip(b))).toBe(JSON.stringify(strip(a)));
    expect(seriesCsv(b)).toBe(seriesCsv(a));
    expect(a.nats!.gw.totals.insertFailed).toBeGreaterThan(0);
  });
});

describe("scenario errors name the field and what is allowed", () => {
  const base = () => behindNat({ workload: churn(1, "1s") });
  const err = (s: Scenario) => { try { planScenario(s); } catch (e) { return (e as Error).message; } return "no error"; };
  test("nat settings on a host that is not a NAT", () => {
    const s = base(); s.hosts.client0 = { ...s.hosts.client0, nat: { ports: "1-2" } };
    expect(err(s)).toBe('scenario.hosts.client0.nat: applies to a NAT host only: add "kind": "nat"');
  });
  test("an unknown kind", () => {
    const s = base(); s.hosts.gw = { ...s.hosts.gw, kind: "router" as "nat" };
    expect(err(s)).toMatch(/^scenario\.hosts\.gw\.kind: "router" is not allowed\. Allowed: "endpoint", "nat"$/);
  });
  test("an unknown timeout", () => {
    const s = base(); s.hosts.gw = { ...s.hosts.gw, nat: { timeouts: { timewait: "1s" } as never } };
    expect(err(s)).toMatch(/^scenario\.hosts\.gw\.nat\.timeouts\.timewait: unknown field; did you mean "timeWait"\? Allowed: synSent, /);
  });
  test("a path through a host that does not forward", () => {
    const s = base(); (s.workloads[0] as { via?: string[] }).via = ["client0"];
    expect(err(s)).toBe('scenario.workloads.0.via.0: "client0" does not forward packets: only a host with "kind": "nat" can be on a path');
  });
  test("a workload on a NAT, a listener on a NAT", () => {
    const s = base(); s.workloads[0] = { ...s.workloads[0], from: "gw" };
    expect(err(s)).toBe('scenario.workloads.0.from: "gw" is a NAT host: it forwards, it runs no workload');
    const t = base(); t.hosts.gw = { ...t.hosts.gw, listen: [{ port: 80 }] };
    expect(err(t)).toMatch(/^scenario\.hosts\.gw\.listen: a NAT host forwards; it has no listeners/);
  });
  test("a public address another host has", () => {
    const s = base(); s.hosts.gw = { ...s.hosts.gw, nat: { addresses: "10.3.0.1" } };
    expect(err(s)).toBe('scenario.hosts.gw.nat.addresses: address 10.3.0.1 is already used by host "server0"');
  });
});
