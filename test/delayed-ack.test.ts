// Delayed ACKs and quick-ack as Linux 6.18 sends them (assembly/delack.ts), beyond the two
// reference connections replayed in test/conformance/linux-close-*: the rules each give an
// exact count of segments or an exact time, derived here from the Linux rule it follows.

import { describe, expect, test } from "vitest";
import { planScenario, ScenarioError, type Scenario, type Trace } from "../sdk/index.js";
import { pair, runDebug } from "./helpers.js";

const ack = (t: Trace, from: string) => t.segments.filter((s) => s.from === from && s.flags === "." && s.len === 0);
const firstData = (t: Trace, from: string) => t.segments.find((s) => s.from === from && s.len > 0)!;
const closeDelay = (ms: number, o: Parameters<typeof pair>[0] = {}): Scenario =>
  pair({ ...o, workload: { request: 5, response: 5, serverCloseDelay: `${ms}ms`, ...o.workload } });

describe("quick-ack mode", () => {
  test("a bulk response: the first 16 segments ACKed one by one, then every second full segment, the short last one when read", async () => {
    const full = 30;
    const t = (await runDebug(pair({ workload: { response: full * 1460 + 500 } }))).traces![0];
    const base = firstData(t, "server").seq;
    const acked = ack(t, "client").filter((s) => s.t <= t.segments.find((x) => x.flags.includes("F"))!.t).map((s) => (s.ack - base) >>> 0).filter((n) => n > 0);
    const quick = Array.from({ length: 16 }, (_, i) => (i + 1) * 1460);                      // tcp_incr_quickack: 16
    const everySecond = Array.from({ length: (full - 16) / 2 }, (_, i) => (16 + 2 * (i + 1)) * 1460); // > rcv_mss unACKed
    expect(acked).toEqual([...quick, ...everySecond, full * 1460 + 500]);                   // pushed, read: tcp_cleanup_rbuf
  });

  test("a kept-alive connection turns interactive: after the first exchange every request and response carries the other's ACK", async () => {
    const k = 5;
    const s = pair();
    s.workloads = [{ plugin: "keepalive-pool", from: "client", to: "server:80", connections: 1, requests: k, request: 100, response: 200, count: 1 }];
    const t = (await runDebug(s)).traces![0];
    // Handshake 3, the first exchange 4 (each end still in quick-ack mode, not yet interactive),
    // k - 1 exchanges of 2 (pingpong: the answer within the ATO of the arrival), the close 3.
    expect(t.segments.length).toBe(3 + 4 + 2 * (k - 1) + 3);
    const exchange = t.segments.filter((s) => s.len > 0);
    expect(exchange.map((s) => s.flags)).toEqual(Array(2 * k).fill("P."));
    expect(ack(t, "server").map((s) => (s.ack - firstData(t, "client").seq) >>> 0)).toEqual([100]); // only the first request's
  });

  test("delayedAck 0: every ACK at once, on the host's own answer when it sends one in the same instant (8 segments)", async () => {
    const knob = { tcp: { delayedAck: 0 as const } };
    const t = (await runDebug(pair({ client: knob, server: knob }))).traces![0];
    expect(t.segments.map((s) => `${s.from}:${s.flags}`)).toEqual([
      "client:S", "server:S.", "client:.", "client:P.", "server:P.", "client:F.", "server:F.", "client:.",
    ]);
  });
});

describe("the delayed ACK of a FIN", () => {
  const finAckDelay = (t: Trace) => ack(t, "server").at(-1)!.t - t.segments.find((s) => s.from === "client" && s.flags === "F.")!.t - 0.001;

  test("the peer closes within the timeout: its FIN carries the ACK, 3 segments close", async () => {
    const t = (await runDebug(closeDelay(30))).traces![0];
    expect(t.segments.length).toBe(10);
    expect(t.segments.at(-2)!.flags).toBe("F.");
    expect(ack(t, "server")).toHaveLength(1); // the request's quick ACK only
  });

  test("the peer closes later: the ACK fires alone after TCP_ATO_MIN (HZ/25), on the host's timer wheel", async () => {
    // hz 0: exactly 40 ms; HZ 1000: 40 jiffies, fired on the next tick but one (40-42 ms);
    // HZ 100: 4 jiffies of 10 ms (40-60 ms). The RTT (60 ms here) does not lengthen it: the ATO is at its minimum.
    for (const [hz, lo, hi] of [[0, 0.04, 0.04], [1000, 0.04, 0.042], [100, 0.04, 0.06]] as const) {
      const t = (await runDebug(closeDelay(500, { server: { tcp: { hz } }, latency: "30ms" }))).traces![0];
      const d = ack(t, "server").at(-1)!.t - (t.segments.find((s) => s.from === "client" && s.flags === "F.")!.t + 0.03);
      expect(t.segments.length).toBe(11);
      expect(d).toBeGreaterThanOrEqual(lo - 1e-9);
      expect(d).toBeLessThanOrEqual(hi + 1e-9);
    }
    expect(finAckDelay((await runDebug(closeDelay(100))).traces![0])).toBeGreaterThanOrEqual(0.04);
  });
});

describe("the knob", () => {
  test("delayedAck other than 0 or 1 is refused, naming the field", () => {
    const s = pair({ client: { tcp: { delayedAck: 2 as never } } });
    expect(() => planScenario(s)).toThrow(ScenarioError);
    expect(() => planScenario(s)).toThrow(/^scenario\.hosts\.client\.tcp\.delayedAck: /);
  });
  test("serverCloseDelay must be a duration", () => {
    expect(() => planScenario(pair({ workload: { serverCloseDelay: "soon" } as never }))).toThrow(/^scenario\.workloads\.0\.serverCloseDelay: /);
  });
});
