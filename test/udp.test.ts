// UDP (assembly/udp.ts): no handshake, no states, no TIME_WAIT; a query's port is held
// from the query until its reply, a timeout or an ICMP port unreachable. Checked
// against Little's law, against loss, and against TCP's port space.

import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { runScenario, type Scenario } from "../sdk/index.js";
import { pcapBytes } from "../sdk/report/pcap.js";
import { mean } from "./helpers.js";

function dns(extra: { rate?: number; latency?: string; loss?: unknown; timeout?: string; to?: string; ports?: string; trace?: number } = {}): Scenario {
  return {
    name: "dns", seed: 7, duration: "60s", sample: "250ms", trace: extra.trace ?? 0,
    hosts: {
      client: { ip: "10.0.0.1", ports: extra.ports ?? "40000-40999" },
      server: { ip: "10.0.0.2", listen: [{ port: 53, protocol: "udp" }] },
    },
    links: [{ between: ["client", "server"], latency: extra.latency ?? "50ms", ...(extra.loss ? { loss: extra.loss as never } : {}) }],
    workloads: [{ plugin: "udp-request", from: "client", to: extra.to ?? "server:53", rate: extra.rate ?? 100,
      request: 60, response: 300, timeout: extra.timeout ?? "1s" } as never],
  };
}

describe("udp-request", () => {
  test("every query answered; a port held one round trip: sockets open = rate x RTT (Little's law); no TCP state at all", async () => {
    const r = await runScenario(dns());
    expect(r.totals.attempted).toBeGreaterThan(5500);
    expect(r.totals.attempted - r.totals.completed).toBeLessThanOrEqual(30); // in flight at the end
    expect(r.totals.failed).toEqual({ EADDRNOTAVAIL: 0, ECONNREFUSED: 0, ETIMEDOUT: 0, ECONNRESET: 0, EADDRINUSE: 0 });
    // 100 a second x 100 ms = 10 sockets on average.
    const open = r.series.udpSockets.client.slice(4);
    expect(Math.abs(mean(open) - 10)).toBeLessThan(0.6);
    for (const [state, values] of Object.entries(r.series.states)) expect(Math.max(...values), state).toBe(0);
    // One query each, one reply to each query that arrived (some still in flight at the end).
    expect(r.totals.segments.sent).toBeGreaterThanOrEqual(r.totals.attempted + r.totals.completed);
    expect(r.totals.segments.sent).toBeLessThanOrEqual(2 * r.totals.attempted);
  });

  test("loss: a lost query or reply holds the port for the whole timeout, then ETIMEDOUT", async () => {
    const p = 0.2;
    const r = await runScenario(dns({ loss: { plugin: "bernoulli", p } }));
    const lost = 1 - (1 - p) ** 2;
    expect(Math.abs(r.totals.failed.ETIMEDOUT / r.totals.attempted - lost)).toBeLessThan(3 * Math.sqrt(lost * (1 - lost) / r.totals.attempted));
    // Little's law with the mix: 100/s x (0.64 x 0.1 s + 0.36 x 1 s) = 42.4 sockets.
    const expected = 100 * ((1 - lost) * 0.1 + lost * 1);
    expect(Math.abs(mean(r.series.udpSockets.client.slice(8)) - expected) / expected).toBeLessThan(0.05);
  });

  test("nobody listening: the ICMP port unreachable ends each query with ECONNREFUSED at once", async () => {
    const r = await runScenario(dns({ to: "server:54" }));
    expect(r.totals.failed.ECONNREFUSED).toBeGreaterThan(r.totals.attempted - 30);
    expect(r.totals.completed).toBe(0);
  });

  test("UDP ports are a space of their own, held only while waiting: capacity = ports / timeout", async () => {
    // 100 ports, every datagram lost, 2 s timeout: 50 queries a second at most; 100 offered.
    const r = await runScenario(dns({ ports: "40000-40099", loss: { plugin: "bernoulli", p: 1 }, timeout: "2s" }));
    expect(Math.max(...r.series.udpSockets.client)).toBe(100);
    const sustained = (r.totals.attempted - r.totals.failed.EADDRNOTAVAIL) / 60;
    expect(Math.abs(sustained - 50) / 50).toBeLessThan(0.05);
    // The TCP port table never saw them.
    expect(Math.max(...r.series.portsInUse.client)).toBe(0);
  });

  test("the same seed, the same JSON; traces and pcap carry the datagrams (tshark reads them when present)", async () => {
    const a = await runScenario(dns({ loss: { plugin: "bernoulli", p: 0.1 }, trace: 5 }));
    const b = await runScenario(dns({ loss: { plugin: "bernoulli", p: 0.1 }, trace: 5 }));
    const stable = (x: typeof a) => JSON.stringify({ ...x, engine: { ...x.engine, wallSeconds: 0 } });
    expect(stable(a)).toBe(stable(b));
    const t = a.traces![0];
    expect(t.client).toMatch(/^10\.0\.0\.1:400\d\d$/);
    expect(t.segments.map((s) => `${s.from}:${s.flags}:${s.len}`).slice(0, 2)).toEqual(["client:udp:60", "server:udp reply:300"]);
    const bytes = pcapBytes(a.traces!);
    expect(bytes[24 + 16 + 14 + 9]).toBe(17); // the first packet's IPv4 protocol: UDP
    const tshark = spawnSync("tshark", ["-v"]);
    if (tshark.status !== 0) return;
    const dir = mkdtempSync(join(tmpdir(), "connsim-udp-"));
    writeFileSync(join(dir, "udp.pcap"), bytes);
    const out = spawnSync("tshark", ["-n", "-r", join(dir, "udp.pcap"), "-o", "udp.check_checksum:TRUE", "-T", "fields", "-e", "udp.length", "-e", "udp.checksum.status"], { encoding: "utf8" });
    expect(out.status, out.stderr).toBe(0);
    const rows = out.stdout.trim().split("\n").map((l) => l.split("\t"));
    expect(rows.length).toBeGreaterThanOrEqual(9);
    for (const [len, status] of rows) {
      expect(["68", "308"]).toContain(len);
      expect(status).toBe("1"); // good
    }
  });
});
