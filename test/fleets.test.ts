// Fleets: a host entry with `count` stands for many hosts, a workload takes its host's
// addresses and several destinations in turn, and capacity grows with the distinct
// 4-tuples. The capacity tests count connections against ports / TIME_WAIT: with the
// offered rate far above it, each TIME_WAIT window lets exactly one connection through
// per usable (source address, port, destination) tuple, so over 25 s with a 10 s
// TIME_WAIT (exact timers, hz 0) three windows pass.

import { afterAll, describe, expect, test } from "vitest";
import { planScenario, runOnPool, runPlan, runScenario, ScenarioError, snapshotScenario, WorkerPool, type Scenario } from "../sdk/index.js";
import { seriesCsv } from "../sdk/report/csv.js";
import { comparable } from "./helpers.js";

type Workload = Scenario["workloads"][number];

/** A client (1000 ports, TIME_WAIT 10 s exact) and a pool of two servers s-0, s-1, all on one link each; 1000 connections/s. */
function capacity(client: Partial<Scenario["hosts"][string]> = {}, workload: Partial<Workload> = {}): Scenario {
  return {
    name: "capacity", duration: "25s", sample: "1s",
    hosts: {
      client: { ip: "10.0.0.1", ports: "40000-40999", tcp: { timeWait: "10s", hz: 0 }, ...client },
      s: { ip: "10.1.0.1", count: 2, listen: [{ port: 80 }] },
    },
    links: [{ between: ["client", "s"], latency: "500us" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "s-0:80", rate: 1000, arrival: "constant", ...workload } as Workload],
  };
}

const PORTS = 1000;
const WINDOWS = 3; // 25 s of TIME_WAIT windows of 10 s: at about 0, 10 and 20 s

describe("capacity grows with the distinct 4-tuples", () => {
  test("1 address, 1 destination: ports per TIME_WAIT", async () => {
    const r = await runScenario(capacity());
    expect(r.totals.established).toBe(WINDOWS * PORTS);
    expect(r.totals.failed.EADDRNOTAVAIL).toBe(r.totals.attempted - WINDOWS * PORTS);
  });

  test("2 destinations (a fleet of servers as `to`): x2, a port shared across destinations", async () => {
    const r = await runScenario(capacity({}, { to: "s:80" }));
    expect(r.totals.established).toBe(2 * WINDOWS * PORTS);
    // Each of the client's 1000 ports is held twice at the plateau: one socket to each server.
    expect(Math.max(...r.series.portsInUse.client)).toBe(PORTS);
    expect(Math.max(...r.series.byHost.client.TIME_WAIT)).toBe(2 * PORTS);
  });

  test("the same two destinations as a list", async () => {
    const r = await runScenario(capacity({}, { to: ["s-0:80", "s-1:80"] }));
    expect(r.totals.established).toBe(2 * WINDOWS * PORTS);
  });

  test("2 source addresses in turn: x2", async () => {
    const r = await runScenario(capacity({ ip: ["10.0.0.1", "10.0.0.2"] }, { source: "round-robin" }));
    expect(r.totals.established).toBe(2 * WINDOWS * PORTS);
    expect(Math.max(...r.series.portsInUse.client)).toBe(2 * PORTS);
  });

  test("2 addresses but source first (connect() without bind): the second address is never used", async () => {
    const r = await runScenario(capacity({ ip: ["10.0.0.1", "10.0.0.2"] }));
    expect(r.totals.established).toBe(WINDOWS * PORTS);
  });

  test("2 source addresses x 2 destinations: x4", async () => {
    const r = await runScenario(capacity({ ip: ["10.0.0.1", "10.0.0.2"] }, { source: "round-robin", to: "s:80" }));
    expect(r.totals.established).toBe(4 * WINDOWS * PORTS);
  });

  test("portAt bind: the port is chosen before the destination is known, so 2 destinations give no more", async () => {
    const r = await runScenario(capacity({}, { to: "s:80", portAt: "bind" }));
    expect(r.totals.established).toBe(WINDOWS * PORTS);
    expect(Math.max(...r.series.byHost.client.TIME_WAIT)).toBe(PORTS);
  });

  test("portAt bind with the sequential allocator: the same bound", async () => {
    const r = await runScenario(capacity({ portAllocator: "sequential" }, { to: "s:80", portAt: "bind" }));
    expect(r.totals.established).toBe(WINDOWS * PORTS);
  });

  test("count: 3 clients, each its own rate and ports: x3", async () => {
    const r = await runScenario(capacity({ count: 3 }));
    expect(r.totals.established).toBe(3 * WINDOWS * PORTS);
    // Every host offered 1000/s over 25 s (arrivals at 0, 1 ms, ...).
    expect(r.totals.attempted).toBe(3 * 25_000);
  });

  test("on Linux's 250 Hz wheel, windows of 61.44 s: 1000 ports over 130 s pass three windows, x2 with 2 destinations", async () => {
    const wheel = (workload: Partial<Workload>) => {
      const s = capacity({ tcp: { timeWait: "60s" } }, workload);
      return { ...s, duration: "130s", sample: "10s" };
    };
    expect((await runScenario(wheel({}))).totals.established).toBe(WINDOWS * PORTS);
    expect((await runScenario(wheel({ to: "s:80" }))).totals.established).toBe(2 * WINDOWS * PORTS);
  });
});

describe("the engine's invariants hold (debug build, checked after every slice)", () => {
  test.each([
    ["2 addresses x 2 destinations, linux allocator", capacity({ ip: ["10.0.0.1", "10.0.0.2"] }, { source: "round-robin", to: "s:80" })],
    ["bind before connect, random allocator, tw_reuse on", capacity({ portAllocator: "random", tcp: { timeWait: "10s", hz: 0, twReuse: 1 } }, { to: "s:80", portAt: "bind" })],
    ["UDP queries to a pool from 2 addresses", (() => {
      const s = capacity({ ip: ["10.0.0.1", "10.0.0.2"] }, { plugin: "udp-request", to: "s:53", source: "round-robin", timeout: "2s" } as Partial<Workload>);
      s.hosts.s.listen = [{ port: 53, protocol: "udp" }];
      return s;
    })()],
  ])("%s", async (_, s) => {
    const r = await runScenario({ ...s, duration: "12s" }, { flavour: "debug", checkInvariants: true, sliceEvents: 20_000 });
    expect(r.error).toBeUndefined();
    expect(r.totals.completed).toBeGreaterThan(1000);
  }, 60_000);
});

describe("sources and destinations in turn", () => {
  test("the k-th connection goes to destination k mod 2 from source (k div 2) mod 2: every pair in turn", async () => {
    const s = capacity({ ip: ["10.0.0.1", "10.0.0.2"] }, { source: "round-robin", to: "s:80", count: 8 });
    const r = await runScenario({ ...s, duration: "1s", trace: 8 });
    expect(r.traces!.map((t) => `${t.client.split(":")[0]}>${t.server}`)).toEqual([
      "10.0.0.1>10.1.0.1:80", "10.0.0.1>10.1.0.2:80", "10.0.0.2>10.1.0.1:80", "10.0.0.2>10.1.0.2:80",
      "10.0.0.1>10.1.0.1:80", "10.0.0.1>10.1.0.2:80", "10.0.0.2>10.1.0.1:80", "10.0.0.2>10.1.0.2:80",
    ]);
    // Each server got half.
    expect(r.series.byHost.s.TIME_WAIT.at(-1)).toBe(0);
    expect(r.totals.completed).toBe(8);
  });

  test("the linux allocator reuses a port toward another destination; bind never does", async () => {
    const ports = async (portAt: "connect" | "bind") => {
      const s = capacity({ ports: "40000-40001" }, { to: "s:80", count: 4, portAt });
      const r = await runScenario({ ...s, duration: "1s", trace: 4 });
      return r.traces!.map((t) => [t.client.split(":")[1], t.server.split(":")[0]]);
    };
    const shared = await ports("connect");
    expect(shared.filter(([, dst]) => dst === "10.1.0.1").map(([p]) => p).sort()).toEqual(["40000", "40001"]);
    expect(shared.filter(([, dst]) => dst === "10.1.0.2").map(([p]) => p).sort()).toEqual(["40000", "40001"]);
    const bound = await ports("bind");
    expect(bound).toHaveLength(2); // two ports, then EADDRNOTAVAIL
  });
});

describe("a fleet in the plan and the result", () => {
  const fleet = (n: number): Scenario => ({
    name: "fleet", duration: "3s", sample: "1s",
    hosts: {
      client: { ip: ["10.0.0.250", "10.8.0.1"], count: n, ports: "40000-40099", tcp: { timeWait: "1s" } },
      server: { ip: "10.1.0.1", listen: [{ port: 80 }] },
    },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 10, arrival: "constant" }],
  });

  test("client-0 ... client-(n-1), each listed address counting up (across octets), a link and a workload each at the workload's rate", () => {
    const plan = planScenario(fleet(10));
    expect(plan.hosts.map((h) => h.name)).toEqual([...Array.from({ length: 10 }, (_, i) => `client-${i}`), "server"]);
    const dotted = (a: number) => [a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255].join(".");
    expect(plan.hosts[7].ips.map(dotted)).toEqual(["10.0.1.1", "10.8.0.8"]);
    expect(plan.hosts.every((h, i) => i === 10 || h.fleet === "client")).toBe(true);
    expect(plan.links.map((l) => `${l.a}-${l.b}`)).toEqual(Array.from({ length: 10 }, (_, i) => `client-${i}-server`));
    expect(plan.workloads.map((w) => [w.from, w.rate])).toEqual(Array.from({ length: 10 }, (_, i) => [`client-${i}`, 10]));
    expect(new Set(plan.workloads.map((w) => w.stream)).size).toBe(10);
  });

  test("series hold the fleet's sums under its name; fleets names the busiest hosts", async () => {
    const r = await runScenario(fleet(20));
    expect(Object.keys(r.series.portsInUse)).toEqual(["client", "server"]);
    expect(Object.keys(r.series.byHost)).toEqual(["client", "server"]);
    // 20 hosts x 10/s: at the end, each host holds the ports of its last 1 s of TIME_WAIT.
    expect(r.totals.completed).toBe(20 * 30);
    expect(r.series.portsInUse.client.at(-1)).toBe(r.series.byHost.client.TIME_WAIT.at(-1));
    expect(r.series.byHost.client.TIME_WAIT.at(-1)).toBe(20 * 10);
    expect(r.fleets).toEqual({ client: { hosts: 20, busiest: [0, 1, 2, 3, 4].map((i) => ({ host: `client-${i}`, peakPortsInUse: 10 })) } });
  });

  test("a snapshot shows a fleet as one entry, as the result does", async () => {
    const r = await runScenario(fleet(20));
    const snap = await snapshotScenario(fleet(20), { at: "3s", top: 3 });
    expect(Object.keys(snap.hosts)).toEqual(["client", "server"]);
    expect(snap.hosts.client.portsInUse).toBe(r.series.portsInUse.client.at(-1));
    expect(snap.hosts.client.states.TIME_WAIT).toBe(r.series.byHost.client.TIME_WAIT.at(-1));
    // One destination: each held port has one socket, so the busiest are the lowest ports held on any of its hosts.
    const busiest = snap.hosts.client.busiest;
    expect(busiest.map((p) => p.sockets)).toEqual([1, 1, 1]);
    expect(busiest.map((p) => p.port)).toEqual([...busiest.map((p) => p.port)].sort((a, b) => a - b));
    expect(new Set(busiest.map((p) => p.ip)).size).toBeGreaterThan(1);
  });

  test("a thousand hosts: the result's size does not grow with them", async () => {
    const small = JSON.stringify(await runScenario(fleet(10)));
    const big = JSON.stringify(await runScenario(fleet(1000)));
    expect(big.length).toBeLessThan(small.length + 200);
  });
});

describe("the same result on 1 and 2 workers", () => {
  const pools: WorkerPool[] = [];
  afterAll(async () => { await Promise.all(pools.map((p) => p.close())); });

  test("two fleets, one of them split across shards by its links", async () => {
    const s: Scenario = {
      name: "fleets", seed: 7, duration: "4s", sample: "500ms",
      hosts: {
        a: { ip: "10.0.0.1", count: 30, ports: "40000-40199", tcp: { timeWait: "1s" } },
        pool: { ip: "10.1.0.1", count: 2, listen: [{ port: 80 }] },
        edge: { ip: ["10.2.0.1", "10.3.0.1"], count: 2, ports: "40000-40049", tcp: { timeWait: "2s" } },
        s1: { ip: "10.4.0.1", listen: [{ port: 80 }] },
        s2: { ip: "10.4.0.2", listen: [{ port: 80 }] },
      },
      links: [
        { between: ["a", "pool"], latency: "1ms", loss: { plugin: "bernoulli", p: 0.02 } },
        { between: ["edge-0", "s1"], latency: "2ms" },
        { between: ["edge-1", "s2"], latency: "3ms" },
      ],
      workloads: [
        { plugin: "tcp-churn", from: "a", to: "pool:80", rate: 40, arrival: "poisson", request: { dist: "exponential", mean: 500 } },
        { plugin: "tcp-churn", from: "edge-0", to: "s1:80", rate: 60, source: "round-robin" },
        { plugin: "tcp-churn", from: "edge-1", to: "s2:80", rate: 60, source: "round-robin", portAt: "bind" },
      ],
    };
    const plan = planScenario(s);
    const one = await runPlan(plan);
    const pool = new WorkerPool({ workers: 2 });
    pools.push(pool);
    const two = await runOnPool(plan, pool);
    expect(two.engine.workers).toBe(2);
    expect(comparable(two)).toBe(comparable(one));
    expect(seriesCsv(two)).toBe(seriesCsv(one));
    expect(one.fleets!.edge.hosts).toBe(2);
    expect(one.totals.failed.EADDRNOTAVAIL).toBeGreaterThan(0); // edge-1 binds: 100 ports / 2 s < 60/s
  }, 60_000);
});

describe("a fleet past what one engine holds", () => {
  const clients = (n: number): Scenario => ({
    duration: "1s", hosts: { client: { ip: "10.0.0.1", count: n }, server: { ip: "11.0.0.1", listen: [{ port: 80 }] } },
    links: [{ between: ["client", "server"], latency: "1ms" }],
    workloads: [{ plugin: "tcp-churn", from: "client", to: "server:80", rate: 1 }],
  });

  test("20,000 clients: refused before the run, naming the count, with the memory estimate", async () => {
    await expect(runScenario(clients(20_000))).rejects.toThrow(
      "scenario.hosts.client.count: 20001 addresses on 20001 hosts (fleets counted host by host: client 20000) need about 5.38 GiB of engine memory before the first connection (272 KiB of port tables each); WebAssembly gives an engine 4.00 GiB: use fewer addresses");
  });

  test("40,000 clients on one link each: more links than the engine's u16 directions hold", async () => {
    await expect(runScenario(clients(40_000))).rejects.toThrow(
      "scenario.hosts.client.count: 40000 links (fleets counted host by host: client 40000), the engine takes at most 32768 in one run");
  });
});

describe("fleet errors name the field and what is allowed", () => {
  const error = (s: Scenario): string => {
    try { planScenario(s); } catch (e) { expect(e).toBeInstanceOf(ScenarioError); return (e as Error).message; }
    throw new Error("planScenario should have thrown");
  };
  const base = () => capacity();

  test.each([
    ["count 0", (s: Scenario) => { s.hosts.client.count = 0; }, "scenario.hosts.client.count: must be at least 1, got number 0"],
    ["count past the engine's hosts", (s: Scenario) => { s.hosts.client.count = 70_000; }, "scenario.hosts.client.count: must be at most 65536, got number 70000"],
    ["fleets together past the engine's hosts", (s: Scenario) => { s.hosts.client.count = 65_535; }, "scenario.hosts: the entries stand for 65537 hosts (a fleet counts its count); the engine takes at most 65536 in one run"],
    ["addresses past 255.255.255.255", (s: Scenario) => { s.hosts.client.ip = "255.255.255.250"; s.hosts.client.count = 10; }, "scenario.hosts.client.count: 10 hosts counting up from 255.255.255.250 pass 255.255.255.255"],
    ["a fleet's addresses run into another host's", (s: Scenario) => { s.hosts.client.ip = "10.1.0.0"; s.hosts.client.count = 3; },
      'scenario.hosts.s.ip: address 10.1.0.1 (of "s-0") is already used by host "client-1"; a fleet\'s i-th host has each listed address plus i'],
    ["a member's name taken", (s: Scenario) => { s.hosts = { "s-1": { ip: "10.9.0.1" }, ...s.hosts }; }, 'scenario.hosts.s.count: makes host "s-1", which is also the name of another host or fleet'],
    ["a member's name taken by a host listed after the fleet", (s: Scenario) => { s.hosts["s-0"] = { ip: "10.9.0.1" }; }, 'scenario.hosts.s-0: the name "s-0" is taken by a host of a fleet listed before it'],
    ["source", (s: Scenario) => { (s.workloads[0] as Record<string, unknown>).source = "random"; }, 'scenario.workloads.0.source: "random" is not allowed. Allowed: "first", "round-robin"'],
    ["portAt", (s: Scenario) => { (s.workloads[0] as Record<string, unknown>).portAt = "listen"; }, 'scenario.workloads.0.portAt: "listen" is not allowed. Allowed: "connect", "bind"'],
    ["a destination in a list", (s: Scenario) => { s.workloads[0].to = ["s-0:80", "s-1"]; }, 'scenario.workloads.0.to.1: expected "host:port", e.g. "server:80"'],
    ["an unknown destination in a list", (s: Scenario) => { s.workloads[0].to = ["s-0:80", "s-9:80"]; }, /^scenario\.workloads\.0\.to\.1: unknown host "s-9"/],
    ["a destination twice", (s: Scenario) => { s.workloads[0].to = ["s:80", "s-1:80"]; }, 'scenario.workloads.0.to: names "s-1:80" twice'],
    ["a fleet's host not linked", (s: Scenario) => { s.links = [{ between: ["client", "s-0"], latency: "1ms" }]; s.workloads[0].to = "s:80"; },
      'scenario.workloads.0.to: no link joins "client" and "s-1", nor a path through hosts with "kind": "nat"; add { "between": ["client", "s-1"], "latency": "1ms" } to links'],
    ["bind for UDP", (s: Scenario) => { s.hosts["s"].listen = [{ port: 53, protocol: "udp" }]; s.workloads[0] = { plugin: "udp-request", from: "client", to: "s-0:53", rate: 1, portAt: "bind" } as Workload; },
      'scenario.workloads.0.portAt: "bind" applies to TCP workloads; a UDP query\'s port is its own socket\'s. Allowed: "connect"'],
    ["a link from a fleet to one of its own hosts", (s: Scenario) => { s.links.push({ between: ["s", "s-0"], latency: "1ms" }); }, 'scenario.links.1.between: would link host "s-0" to itself'],
  ])("%s", (_, change, message) => {
    const s = base();
    change(s);
    const got = error(s);
    expect(got).not.toMatch(/[\r\n]/);
    if (typeof message === "string") expect(got).toBe(message);
    else expect(got).toMatch(message);
  });
});
