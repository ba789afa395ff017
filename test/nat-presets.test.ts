// Cloud NAT presets (sdk/nat-presets.ts): each runs out where its vendor documents, at a
// different point from the Linux NAT under the same load, with the counts checked
// against the analytic figure and the drops and errnos the clients see.

import { describe, expect, test } from "vitest";
import { planScenario, runScenario, type Result, type Scenario } from "../sdk/index.js";
import { summary } from "../sdk/report/summary.js";

/** `clients` hosts behind gateway "gw" (one public address unless given), one server beyond it; 1 ms a hop. */
function cloud(o: { nat: Record<string, unknown>; clients: number; workload: Record<string, unknown>; duration: string; clientPorts?: string }): Scenario {
  const hosts: Scenario["hosts"] = {
    gw: { ip: "10.1.0.1", kind: "nat", nat: { addresses: "10.2.0.1", ...o.nat } },
    server: { ip: "10.3.0.1", listen: [{ port: 443, backlog: 65535 }], tcp: { somaxconn: 65535 } },
  };
  const links: Scenario["links"] = [{ between: ["gw", "server"], latency: "1ms" }];
  const workloads: Scenario["workloads"] = [];
  for (let c = 0; c < o.clients; c++) {
    hosts[`vm${c}`] = { ip: `10.1.${1 + Math.floor(c / 250)}.${1 + (c % 250)}`, ports: o.clientPorts ?? "1024-65535" };
    links.push({ between: [`vm${c}`, "gw"], latency: "1ms" });
    workloads.push({ from: `vm${c}`, to: "server:443", ...o.workload } as Scenario["workloads"][number]);
  }
  return { name: "cloud-nat", seed: 3, duration: o.duration, sample: "1s", profile: "linux", hosts, links, workloads };
}
/** Connections opened at `rate`/s, `count` of them, each held `hold` after its exchange, the client closing. */
const opens = (rate: number, count: number, hold: string) => ({ plugin: "tcp-churn", rate, count, arrival: "constant", request: 5, response: 5, hold });

describe("gcp-cloud-nat: 64 ports per VM", () => {
  test("steady state: each VM sustains 64 ports / (hold + TIME_WAIT 30 s); the Linux NAT the offered 5/s", async () => {
    const churn = { plugin: "tcp-churn", rate: 5, arrival: "constant", request: 5, response: 5, hold: "20s" };
    const s = (nat: Record<string, unknown>) => cloud({ nat, clients: 2, workload: churn, duration: "300s" });
    const g = await runScenario(s({ preset: "gcp-cloud-nat" }));
    const l = await runScenario(s({ ports: "1024-65535" }));
    const cap = g.nats!.gw.capacity!;
    expect(cap.binds).toBe("ports per inside host");
    expect(cap.reached).toBe(true);
    // A port is held for the flow's life: 20 s held + the exchange and close (~10 ms) + TIME_WAIT 30 s (on the 250 Hz jiffies).
    expect(cap.lifetimeSeconds).toBeGreaterThan(50);
    expect(cap.lifetimeSeconds).toBeLessThan(50.1);
    const analytic = 2 * 64 / 50; // 2.56 connections a second for both VMs
    expect(cap.rate).toBeGreaterThan(analytic * 0.95);
    expect(cap.rate).toBeLessThan(analytic * 1.05);
    expect(cap.portsLimit!).toBeGreaterThan(analytic * 0.99);
    expect(cap.portsLimit!).toBeLessThan(analytic * 1.01);
    expect(summary(g)).toMatch(/binds +ports per inside host \(the cap that changed the answer: [\d,]+ SYNs or datagrams dropped, no free tuple in an inside host's 64-port block\)/);
    expect(l.nats!.gw.capacity!.rate).toBeGreaterThan(2 * 5 * 0.98);
    expect(l.nats!.gw.totals.insertFailed).toBe(0);
  });

  test("each VM's 65th flow to one destination fails; the Linux NAT shares its 64,512 ports", async () => {
    // Two VMs open 100 connections each (10/s) and hold them past the run: no port comes back.
    const s = (nat: Record<string, unknown>) => cloud({ nat, clients: 2, workload: opens(10, 100, "1000s"), duration: "150s" });
    const g = await runScenario(s({ preset: "gcp-cloud-nat" }));
    const l = await runScenario(s({ ports: "1024-65535" }));
    const n = g.nats!.gw;
    expect(n.portsPerHost).toBe(64);
    expect(g.totals.established).toBe(2 * 64);
    // The 36 others of each VM: SYNs dropped at the gateway (no free port in its block), retransmitted on the SYN schedule, ETIMEDOUT 127 s after each began.
    expect(g.totals.failed.ETIMEDOUT).toBe(2 * 36);
    expect(n.totals.insertFailed).toBe(2 * 36 * 11); // each SYN and its 10 retransmissions (Linux 6.18: 4 linear, then doubling, within tcp_syn_retries' time)
    expect(n.peak.states.ESTABLISHED).toBe(128);
    expect(l.totals.established).toBe(200);
    expect(l.totals.failed.ETIMEDOUT).toBe(0);
    expect(summary(g)).toMatch(/gcp-cloud-nat, 64 ports per inside host/);
  });
});

describe("aws-nat-gateway: 55,000 connections per destination and address", () => {
  test("long-held flows to one destination stop at 55,000 where the Linux NAT's 64,512 ports go on", async () => {
    // Two hosts (each with its own 64,512 ports) open 40,000 connections each at 2,000/s, held past the run.
    const s = (nat: Record<string, unknown>) => cloud({ nat, clients: 2, workload: opens(2000, 40000, "1000s"), duration: "30s" });
    const a = await runScenario(s({ preset: "aws-nat-gateway" }));
    const l = await runScenario(s({ ports: "1024-65535" }));
    expect(a.nats!.gw.peak.states.ESTABLISHED).toBe(55000);
    expect(a.totals.established).toBe(55000);
    expect(a.nats!.gw.totals.insertFailed).toBeGreaterThan(0);
    expect(a.nats!.gw.capacity?.binds ?? "ports per destination").toBe("ports per destination");
    expect(l.nats!.gw.peak.states.ESTABLISHED).toBe(64512);
    expect(l.totals.established).toBe(64512);
  });

  test("its search finds the last free port (the documented count); Linux's random runs miss some first", async () => {
    // 1,000 ports (a narrowed range), 20 connections a second held 100 s: full at 1,000 / 20 = 50 s.
    const s = (portSearch: string) => cloud({ nat: { preset: "aws-nat-gateway", ports: "40000-40999", portSearch }, clients: 1, workload: { plugin: "tcp-churn", rate: 20, arrival: "constant", request: 5, response: 5, hold: "100s" }, duration: "70s" });
    const whole = await runScenario(s("whole range"));
    const linux = await runScenario(s("linux"));
    const firstDrop = (r: Result) => r.series.t[r.nats!.gw.series.insertFailed.findIndex((v) => v > 0)];
    expect(firstDrop(whole)).toBe(51); // the 1,001st SYN, at 50.0 s, in the interval ending at 51 s
    expect(whole.nats!.gw.peak.states.ESTABLISHED).toBe(1000);
    expect(firstDrop(linux)).toBeLessThan(50);
  });

  test("a connection idle 350 s is forgotten: its port comes back, and the client's FIN is answered with an RST", async () => {
    // 10 connections held idle 400 s, then closed by the client: its FIN reaches a gateway that forgot the flow.
    const s = (nat: Record<string, unknown>) => cloud({ nat, clients: 1, workload: opens(1, 10, "400s"), duration: "450s", clientPorts: "40000-40999" });
    const a = await runScenario(s({ preset: "aws-nat-gateway" }));
    const l = await runScenario(s({ ports: "1024-65535" }));
    const t = a.series.t;
    const est = a.nats!.gw.series.states.ESTABLISHED;
    // Entries end 350 s after each connection's last packet (at 0.009 ... 9.009 s): all there at 340 s, none at 365 s.
    expect(est[t.indexOf(340)]).toBe(10);
    expect(est[t.indexOf(365)]).toBe(0);
    expect(a.nats!.gw.totals.resets).toBe(10);
    expect(a.nats!.gw.totals.invalid).toBe(10);
    // The client had closed (close() returned; an RST in FIN_WAIT_1 is not reported to it) and its socket ends at once;
    // the server never hears of the close: its 10 sockets stay ESTABLISHED. Through Linux's NAT both ends close.
    expect(a.totals.failed.ECONNRESET).toBe(0);
    expect(a.series.byHost.vm0.FIN_WAIT_1.at(-1)).toBe(0);
    expect(a.series.byHost.server.ESTABLISHED.at(-1)).toBe(10);
    expect(l.series.byHost.server.ESTABLISHED.at(-1)).toBe(0);
    expect(l.nats!.gw.totals.resets).toBe(0);
    expect(summary(a)).toMatch(/10 RSTs for flows it had dropped \(idle timeout\)/);
  });
});

describe("azure-lb-snat: ports per backend instance by pool size, a closed flow's port held 120 s", () => {
  test("short connections: each VM's 1,024 ports last 1,024 connections per 120 s; Linux takes TIME_WAIT tuples over and keeps up", async () => {
    // Two VMs (a pool of 2: 1,024 ports each), 20 short connections a second each, the client closing.
    const short = { plugin: "tcp-churn", rate: 20, arrival: "constant", request: 5, response: 5, closer: "client" };
    const s = (nat: Record<string, unknown>) => cloud({ nat, clients: 2, workload: short, duration: "100s" });
    const z = await runScenario(s({ preset: "azure-lb-snat" }));
    const l = await runScenario(s({ ports: "1024-65535" }));
    const n = z.nats!.gw;
    expect(n.portsPerHost).toBe(1024);
    // No port comes back within 100 s (TIME_WAIT 120 s, no takeover): 1,024 connections per VM, then SYNs dropped.
    expect(z.totals.established).toBe(2 * 1024);
    expect(n.peak.states.TIME_WAIT).toBe(2 * 1024 - n.series.states.ESTABLISHED.at(-1)! - n.series.states.FIN_WAIT.at(-1)! - n.series.states.LAST_ACK.at(-1)! - n.series.states.CLOSE_WAIT.at(-1)!);
    expect(n.totals.insertFailed).toBeGreaterThan(0);
    expect(n.totals.takeovers).toBe(0);
    // The first dropped SYN: when each VM's 1,025th connection began, 1,024 / 20 = 51.2 s.
    const first = n.series.insertFailed.findIndex((v) => v > 0);
    expect(z.series.t[first]).toBe(52);
    // Linux: 4,000 made (minus those still opening at the end), TIME_WAIT entries taken over.
    expect(l.totals.established).toBeGreaterThan(3990);
    expect(l.nats!.gw.totals.insertFailed).toBe(0);
  });

  test("a pool of 60 gets 512 ports each; 1,001 instances are past the default table", () => {
    const many = (k: number) => cloud({ nat: { preset: "azure-lb-snat", addresses: ["10.2.0.1", "10.2.0.2"] }, clients: k, workload: opens(1, 1, "1s"), duration: "1s" });
    const p = planScenario(many(60));
    // 512 per address x 2 addresses, at most 1,024.
    expect(p.hosts.find((h) => h.name === "gw")!.nat!.portsPerHost).toBe(1024);
    const one = planScenario({ ...many(60), hosts: { ...many(60).hosts, gw: { ip: "10.1.0.1", kind: "nat", nat: { preset: "azure-lb-snat", addresses: "10.2.0.1" } } } });
    const gw = one.hosts.find((h) => h.name === "gw")!.nat!;
    expect(gw.portsPerHost).toBe(512);
    expect(gw.blocks!.map((b) => b.first).slice(0, 3)).toEqual([1024, 1536, 2048]);
    expect(() => planScenario(many(1001))).toThrow(/scenario\.hosts\.gw\.nat\.preset: azure-lb-snat's default port allocation stops at 1,000 inside hosts; this NAT has 1,001/);
  });
});

describe("scenario errors", () => {
  test("an unknown preset names the allowed ones", () => {
    const s = cloud({ nat: { preset: "oracle-nat" }, clients: 1, workload: opens(1, 1, "1s"), duration: "1s" });
    expect(() => planScenario(s)).toThrow(/scenario\.hosts\.gw\.nat\.preset.*aws-nat-gateway.*gcp-cloud-nat.*azure-lb-snat/);
  });
  test("blocks that do not fit the addresses", () => {
    const s = cloud({ nat: { portsPerHost: 40000 }, clients: 2, workload: opens(1, 1, "1s"), duration: "1s" });
    expect(() => planScenario(s)).toThrow(/scenario\.hosts\.gw\.nat\.portsPerHost: gives each of 2 inside hosts 40,000 ports, but 1 address of 64,512 ports hold 1 blocks/);
  });
});
