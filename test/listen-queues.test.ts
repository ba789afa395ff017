// The SYN queue, SYN cookies and the accept queue, as Linux 6.x runs them (tcp_conn_request,
// tcp_check_req, cookie_v4_check): sk_max_ack_backlog = min(backlog, somaxconn) bounds both
// queues; the accept queue holds one more (sk_acceptq_is_full compares with >).

import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import type { Scenario, Trace } from "../sdk/index.js";
import { planScenario, runPlan } from "../sdk/index.js";
import { htmlPage } from "../sdk/report/html.js";
import { summary } from "../sdk/report/summary.js";
import { runScenario } from "../sdk/index.js";
import { pair, path } from "./helpers.js";

/** The debug engine, its invariants (the queues' books among them) checked every 500 events. */
async function runDebug(s: Scenario) {
  const r = await runScenario(s, { flavour: "debug", checkInvariants: true, sliceEvents: 500 });
  expect(r.error).toBeUndefined();
  return r;
}

/** Segments as tcpdump lists them: time, sender, flags, seq:ack relative to each side's ISN (its first S or S.), length. */
function relative(t: Trace): string[] {
  const c = t.segments.find((s) => s.from === "client" && s.flags === "S")!.seq;
  const sv = t.segments.find((s) => s.from === "server" && s.flags === "S.")!.seq;
  return t.segments.map((s) => {
    const own = s.from === "client" ? c : sv, peer = s.from === "client" ? sv : c;
    return `${s.t.toFixed(3)} ${s.from} ${s.flags} ${(s.seq - own) >>> 0}:${s.flags.includes(".") ? (s.ack - peer) >>> 0 : 0} ${s.len}`;
  });
}

/** Five clients, one a millisecond, against listen(fd, 2) whose application accept()s once a second. */
const burst = (abortOnOverflow: 0 | 1) => pair({
  trace: 5, duration: "20s",
  server: { listen: [{ port: 80, backlog: 2, acceptRate: 1 }], tcp: { abortOnOverflow } },
  workload: { rate: 1000, count: 5 },
});

describe("accept queue", () => {
  test("a full accept queue drops the handshake's last ACK: the child keeps SYN_RCVD and retransmits its SYN-ACK", async () => {
    const r = await runDebug(burst(0));
    // accept() at 3 ms takes connection 0; 1, 2 and 3 fill the queue (backlog 2 + 1); 4's ACK at 7 ms overflows.
    expect(Math.max(...r.series.acceptQueue.server)).toBe(3);
    const t = r.traces![4];
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>TIME_WAIT"]);
    expect(path(t, "server")).toEqual(["LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED"]);
    expect(relative(t)).toEqual([
      "0.004 client S 0:0 0",
      "0.005 server S. 0:1 0",
      "0.006 client . 1:1 0",      // dropped by the server: accept queue full (ListenOverflows 1)
      "0.006 client P. 1:1 100",   // the client is ESTABLISHED and sends its request: dropped too (2)
      // Timers on HZ 250's timer wheel (test/conformance/README.md): the RTO of 202 ms is 51
      // jiffies, fired a tick late (0.212); backed off, 101 and 202 jiffies round up to 32 ms granules.
      "0.212 client P. 1:1 100",   // its RTO: dropped (3)
      "0.640 client P. 1:1 100",   // (4)
      "1.024 server S. 0:1 0",     // the child's SYN-ACK timer (1 s: 250 jiffies, a 32 ms granule)
      "1.025 client . 101:1 0",    // the ESTABLISHED client ACKs it; accept() at 1.003 s made room: the child is established
      "1.472 client P. 1:1 100",   // the request again, now read into the queued child's buffer and ACKed
      "1.473 server . 1:101 0",
      "4.003 server P. 1:101 1000", // accept() at 4.003 s: the application reads the request and answers
      "4.004 client . 101:1001 0",  // the response's quick ACK, then the client's close
      "4.004 client F. 101:1001 0",
      "4.005 server F. 1001:102 0",
      "4.006 client . 102:1002 0",
    ]);
    // Connection 2's SYN arrives at 3 ms while 0 and 1 are half-open (the SYN queue of 2 is full:
    // a host's segments arriving at one time are taken in the order they were sent, and the
    // client sent 2's SYN before 0's ACK at 2 ms): it is answered with a cookie, which its ACK returns.
    expect(r.totals.listen).toEqual({ ListenOverflows: 4, ListenDrops: 4, SyncookiesSent: 1, SyncookiesRecv: 1, SyncookiesFailed: 0 });
    expect(r.totals).toMatchObject({ attempted: 5, established: 5, completed: 5 });
  });

  test("tcp_abort_on_overflow 1: the child is reset and the client gets ECONNRESET", async () => {
    const r = await runDebug(burst(1));
    const t = r.traces![4];
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>CLOSED"]);
    expect(path(t, "server")).toEqual(["LISTEN>SYN_RCVD", "SYN_RCVD>LISTEN"]);
    expect(relative(t)).toEqual([
      "0.004 client S 0:0 0",
      "0.005 server S. 0:1 0",
      "0.006 client . 1:1 0",
      "0.006 client P. 1:1 100",
      "0.007 server R 1:0 0", // the ACK: <SEQ=SEG.ACK><CTL=RST>, the child freed
      "0.007 server R 1:0 0", // the request finds no socket: RST again, which the closed client ignores
    ]);
    expect(r.totals.failed.ECONNRESET).toBe(1);
    expect(r.totals.listen.ListenOverflows).toBe(1);
    expect(r.totals).toMatchObject({ attempted: 5, established: 5, completed: 4 });
  });

  test("a SYN reaching a full accept queue is dropped; the client times out after its SYN retries", async () => {
    // accept() once at 3 ms, then not for 1000 s: connections 1-3 wait in the queue, 4's SYNs are all dropped.
    const r = await runDebug(pair({ trace: 5, server: { listen: [{ port: 80, backlog: 2, acceptRate: 0.001 }] }, workload: { rate: 100, count: 5 } }));
    const t = r.traces![4];
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>CLOSED"]);
    expect(path(t, "server")).toEqual([]);
    // The SYN and tcp_syn_retries (6) + tcp_syn_linear_timeouts (4) retransmissions (Linux >= 6.5 tcp_write_timeout).
    expect(t.segments.map((s) => s.flags)).toEqual(Array(11).fill("S"));
    expect(r.totals.listen).toMatchObject({ ListenOverflows: 11, ListenDrops: 11 });
    expect(r.totals.failed.ETIMEDOUT).toBe(1);
    // Connections 1-3 were established, their requests ACKed but never read: no response.
    expect(r.totals).toMatchObject({ attempted: 5, established: 4, completed: 1 });
    expect(Math.max(...r.series.acceptQueue.server)).toBe(3);
    expect(r.series.byHost.server.ESTABLISHED.at(-1)).toBe(3);
  });

  test("accept rate 100/s under 200 connections/s with backlog 128: each accept() takes a connection, the queue at 129", async () => {
    // accept() every 10 ms from the first handshake at 3 ms: 1,000 in 10 s, each taking a connection.
    // Most complete at once; a few (10 here) were accepted before their request arrived: it was
    // dropped with the handshake's last ACK, and its retransmission (RTO 212, 640, 1472 ms) is due.
    const r = await runDebug(slowAccept({ duration: "10s" }));
    expect([r.totals.completed, waitingForRequest(r)]).toEqual([990, 10]);
    expect(Math.max(...r.series.acceptQueue.server)).toBe(129);
    expect(r.totals.listen.ListenOverflows).toBe(r.totals.listen.ListenDrops);
    expect(r.totals.listen.ListenOverflows).toBeGreaterThan(0);
    // Twice the time: twice the accept()s, however many connections are offered.
    const r2 = await runDebug(slowAccept({ duration: "20s" }));
    expect([r2.totals.completed, waitingForRequest(r2)]).toEqual([1993, 7]);
  });

  test("a server that exits resets the connections still waiting for accept()", async () => {
    const r = await runDebug(pair({ trace: 5, server: { listen: [{ port: 80, backlog: 8, acceptRate: 0.001, stop: "1s" }] }, workload: { rate: 1000, count: 5 } }));
    const t = r.traces![4];
    expect(path(t, "server")).toEqual(["LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>CLOSED"]);
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>CLOSED"]);
    // The request was ACKed into the queued child's buffer; the exit answers with RST at SND.NXT, ACKing it.
    expect(relative(t).slice(-2)).toEqual(["0.007 server . 1:101 0", "1.000 server R. 1:101 0"]);
    expect(r.totals.failed.ECONNRESET).toBe(4);
    expect(r.totals).toMatchObject({ attempted: 5, established: 5, completed: 1 });
  });

  test("unlimited accept rate: the queue stays empty and nothing is counted", async () => {
    const r = await runDebug(slowAccept({ duration: "5s", acceptRate: undefined }));
    expect(r.totals.completed).toBe(1000);
    expect(Math.max(...r.series.acceptQueue.server)).toBe(0);
    expect(Object.values(r.totals.listen)).toEqual([0, 0, 0, 0, 0]);
  });
});

/** Connections accept()ed but not done at the end: the server's ESTABLISHED ones not in its accept queue. */
function waitingForRequest(r: { series: { byHost: Record<string, Record<string, number[]>>; acceptQueue: Record<string, number[]> } }): number {
  return r.series.byHost.server.ESTABLISHED.at(-1)! - r.series.acceptQueue.server.at(-1)!;
}

function slowAccept(o: { duration: string; acceptRate?: number }): Scenario {
  return pair({
    trace: 0, duration: o.duration,
    server: { listen: [{ port: 80, backlog: 128, ...(o.acceptRate === undefined && "acceptRate" in o ? {} : { acceptRate: o.acceptRate ?? 100 }) }] },
    workload: { rate: 200, count: 1_000_000 },
  });
}

describe("SYN queue and SYN cookies", () => {
  test("tcp_syncookies 2: the exact segments of a cookie handshake; no half-open child is kept", async () => {
    const r = await runDebug(pair({ server: { tcp: { syncookies: 2 } } }));
    const t = r.traces![0];
    // The child is made from the ACK and established at once.
    expect(path(t, "server")).toEqual(["LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED"]);
    expect(t.states.filter((s) => s.host === "server").slice(0, 2).map((s) => s.t)).toEqual([0.003, 0.003]);
    expect(relative(t).slice(0, 6)).toEqual([
      "0.000 client S 0:0 0",
      "0.001 server S. 0:1 0",
      "0.002 client . 1:1 0",
      "0.002 client P. 1:1 100",
      "0.003 server . 1:101 0", // the request's ACK at once (quick-ack mode: the connection's first data)
      "0.003 server P. 1:101 1000",
    ]);
    expect(Math.max(...r.series.synQueue.server)).toBe(0);
    expect(r.totals.listen).toEqual({ ListenOverflows: 0, ListenDrops: 0, SyncookiesSent: 1, SyncookiesRecv: 1, SyncookiesFailed: 0 });
    expect(r.totals.completed).toBe(1);
  });

  test("a SYN flood fills the SYN queue: with cookies legitimate clients still connect, without them they cannot", async () => {
    const flood = (syncookies: 0 | 1): Scenario => ({
      name: "flood", seed: 1, duration: "30s", sample: "1s", profile: "linux",
      hosts: {
        attacker: { ip: "10.0.0.66" },
        client: { ip: "10.0.0.1" },
        server: { ip: "10.0.0.2", listen: [{ port: 80, backlog: 128 }], tcp: { syncookies } },
      },
      links: [
        // The attacker's handshakes never complete: everything it sends once "established" is lost.
        { between: ["attacker", "server"], latency: "1ms", loss: { plugin: "drop", rules: [{ from: "attacker", state: "ESTABLISHED" }] } },
        { between: ["client", "server"], latency: "1ms" },
      ],
      workloads: [
        { plugin: "tcp-churn", from: "attacker", to: "server:80", rate: 200, arrival: "constant", count: 6000 },
        { plugin: "tcp-churn", from: "client", to: "server:80", rate: 10, arrival: "constant", start: "2s", count: 100 },
      ],
    });
    const on = await runDebug(flood(1));
    // 128 half-open children hold the SYN queue (each lives through 5 SYN-ACK retries, 63 s).
    expect(Math.max(...on.series.synQueue.server)).toBe(128);
    expect(on.totals.completed).toBe(100); // every legitimate client, through a cookie
    expect(on.totals.listen.SyncookiesRecv).toBe(100);
    expect(on.totals.listen.SyncookiesSent).toBe(6000 - 128 + 100);
    expect(on.totals.listen.ListenDrops).toBe(0);
    const off = await runDebug(flood(0));
    expect(off.totals.completed).toBe(0);
    expect(off.totals.listen.SyncookiesSent).toBe(0);
    // Every SYN past the 128th is dropped, the clients' retransmissions included.
    expect(off.totals.listen.ListenDrops).toBeGreaterThan(6000 - 128);
    expect(off.totals.listen.ListenOverflows).toBe(0);
  });
});

describe("the slow-accept study (examples/slow-accept.json)", () => {
  test("the summary names the caps behind the overflows; the HTML report charts the queues", async () => {
    const plan = planScenario(JSON.parse(readFileSync(new URL("../examples/slow-accept.json", import.meta.url), "utf8")));
    const r = await runPlan(plan);
    expect(r.totals.completed).toBe(3000); // 100 accept()s a second for 30 s
    const text = summary(r, plan);
    expect(text).toContain(`  listen       ListenOverflows ${r.totals.listen.ListenOverflows.toLocaleString("en-US")}, ListenDrops`);
    expect(text).toContain("    server:80  accept() 100/s, backlog 128: accept queue 129 (peak 129), full: SYN and last ACK dropped;");
    expect(text).not.toContain("TIME_WAIT plateau"); // the port study assumes a server that keeps up
    const html = await htmlPage(r, plan, {});
    expect(html).toContain("<h2>Listen queues</h2>");
    expect(html).toContain("ListenOverflows");
  });
});
