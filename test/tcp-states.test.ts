// The behaviours DESIGN.md "What the engine must get right" lists, each checked as
// the exact state sequence on both ends (from the trace) and the segments between.

import { describe, expect, test } from "vitest";
import { onWheelBoundary, pair, path, runDebug, when } from "./helpers.js";

const RTO_1MS_LINK = 0.202; // RTT 2 ms + max(2 RTT, rto_min 200 ms), from the handshake sample
// Under `linux` timers fire on the 250 Hz timer wheel (hz): 51 jiffies, rounded up a jiffy
// at level 0, from within a jiffy: 0.204-0.208 s.
const RTO_1MS_LINK_WHEEL = 0.207;

describe("three-way handshake and close", () => {
  test("client closes: FIN_WAIT_1 gets FIN+ACK and goes straight to TIME_WAIT for 60 s", async () => {
    const r = await runDebug(pair());
    const t = r.traces![0];
    expect(t.client).toBe("10.0.0.1:32768");
    expect(t.server).toBe("10.0.0.2:80");
    expect(path(t, "client")).toEqual([
      "CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>TIME_WAIT", "TIME_WAIT>CLOSED",
    ]);
    expect(path(t, "server")).toEqual([
      "LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED",
    ]);
    // Linux's quick-ack mode ACKs the request and the response at once, before the
    // application answers or closes; the ACK of the client's FIN waits (pingpong mode)
    // and rides on the server's FIN.
    expect(t.segments.map((s) => `${s.from}:${s.flags}:${s.len}`)).toEqual([
      "client:S:0", "server:S.:0", "client:.:0", "client:P.:100", "server:.:0", "server:P.:1000",
      "client:.:0", "client:F.:0", "server:F.:0", "client:.:0",
    ]);
    // Sequence numbers: SYN and FIN take one each; ACKs name the next byte expected.
    const [syn, synAck, ack, req, reqAck, resp, respAck, fin, finAck, last] = t.segments;
    expect(reqAck.ack).toBe((req.seq + 100) >>> 0);
    expect(respAck.ack).toBe((resp.seq + 1000) >>> 0);
    expect(synAck.ack).toBe((syn.seq + 1) >>> 0);
    expect(ack.ack).toBe((synAck.seq + 1) >>> 0);
    expect(resp.ack).toBe((req.seq + 100) >>> 0);
    expect(fin.seq).toBe((req.seq + 100) >>> 0);
    expect(finAck.ack).toBe((fin.seq + 1) >>> 0);
    expect(last.ack).toBe((finAck.seq + 1) >>> 0);
    // 60 s rounded up to the timer wheel's next 2.048 s boundary (hz 250): 60.004-62.048 s.
    const tw = when(t, "client", "FIN_WAIT_1", "TIME_WAIT");
    const end = when(t, "client", "TIME_WAIT", "CLOSED");
    expect(end - tw).toBeGreaterThan(60);
    expect(end - tw).toBeLessThanOrEqual(62.048);
    expect(onWheelBoundary(end)).toBe(true);
    expect(r.totals).toMatchObject({ attempted: 1, established: 1, completed: 1, pending: 0 });
  });

  test("server closes: TIME_WAIT is on the server, the client passes through CLOSE_WAIT", async () => {
    const t = (await runDebug(pair({ workload: { closer: "server" } }))).traces![0];
    expect(path(t, "client")).toEqual([
      "CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED",
    ]);
    // The client ACKs the response and FIN at once (more than rcv_mss unacknowledged, Linux
    // __tcp_ack_snd_check), before its application closes: the server passes through FIN_WAIT_2.
    expect(path(t, "server")).toEqual([
      "LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>FIN_WAIT_2", "FIN_WAIT_2>TIME_WAIT", "TIME_WAIT>CLOSED",
    ]);
    // The response carries the FIN: tcpdump shows "FP.".
    expect(t.segments.find((s) => s.from === "server" && s.len === 1000)!.flags).toBe("FP.");
  });

  test("half close: data still flows to the side that sent the first FIN", async () => {
    const r = await runDebug(pair({ workload: { halfClose: true, response: 5000 } }));
    const t = r.traces![0];
    expect(path(t, "client")).toEqual([
      "CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>FIN_WAIT_2",
      "FIN_WAIT_2>TIME_WAIT", "TIME_WAIT>CLOSED",
    ]);
    expect(path(t, "server")).toEqual([
      "LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED",
    ]);
    // The client's FIN rides on its request; the response (4 segments) comes after it.
    const clientFin = t.segments.find((s) => s.from === "client" && s.flags.includes("F"))!;
    expect(clientFin.len).toBe(100);
    const after = t.segments.filter((s) => s.from === "server" && s.len > 0 && s.t > clientFin.t);
    expect(after.reduce((n, s) => n + s.len, 0)).toBe(5000);
    // Data reaches the client while it is in FIN_WAIT_2 (its FIN acknowledged, the peer's not yet sent).
    const fw2 = when(t, "client", "FIN_WAIT_1", "FIN_WAIT_2");
    const arrivals = after.map((s) => s.t + 0.001);
    expect(Math.min(...arrivals)).toBeCloseTo(fw2, 9);
    expect(when(t, "client", "FIN_WAIT_2", "TIME_WAIT")).toBeGreaterThanOrEqual(Math.max(...arrivals) - 1e-9);
    expect(r.totals.completed).toBe(1);
  });
});

describe("loss in the close", () => {
  test("lost last ACK: LAST_ACK retransmits its FIN, TIME_WAIT re-ACKs and restarts its timer", async () => {
    const r = await runDebug(pair({
      loss: { plugin: "drop", rules: [{ from: "client", flags: ".", state: "TIME_WAIT", conn: 0, nth: 1 }] },
    }));
    const t = r.traces![0];
    expect(path(t, "client")).toEqual([
      "CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>TIME_WAIT", "TIME_WAIT>CLOSED",
    ]);
    expect(path(t, "server")).toEqual([
      "LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED",
    ]);
    const fins = t.segments.filter((s) => s.from === "server" && s.flags === "F.");
    expect(fins.length).toBe(2);
    expect(fins[1].seq).toBe(fins[0].seq);
    expect(fins[1].t - fins[0].t).toBeCloseTo(RTO_1MS_LINK_WHEEL, 6);
    const lastAcks = t.segments.filter((s) => s.from === "client" && s.flags === "." && s.t > fins[0].t);
    expect(lastAcks.map((s) => s.fate)).toEqual(["dropped", "delivered"]);
    // TIME_WAIT lasts 60 s (to the wheel's next boundary) from the retransmitted FIN's arrival, not from its start.
    const closed = when(t, "client", "TIME_WAIT", "CLOSED");
    expect(closed - lastAcks[1].t).toBeGreaterThan(60);
    expect(closed - lastAcks[1].t).toBeLessThanOrEqual(62.048);
    expect(onWheelBoundary(closed)).toBe(true);
    expect(closed - when(t, "client", "FIN_WAIT_1", "TIME_WAIT")).toBeGreaterThan(60.2);
    expect(r.totals.segments.retransmitted).toBe(1);
    expect(r.totals.segments.dropped).toBe(1);
  });
});

describe("opening edge cases", () => {
  test("old duplicate SYN to a listener: SYN_RCVD, the client answers RST, the server returns to LISTEN", async () => {
    const r = await runDebug(pair({
      loss: { plugin: "delay-duplicate", rules: [{ from: "client", flags: "S", conn: 0, delay: "100s" }] },
    }));
    const t = r.traces![0];
    expect(path(t, "server")).toEqual([
      "LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK", "LAST_ACK>CLOSED",
      "LISTEN>SYN_RCVD", "SYN_RCVD>LISTEN",
    ]);
    const late = t.segments.filter((s) => s.t >= 100);
    expect(late.map((s) => `${s.from}:${s.flags}`)).toEqual(["client:S", "server:S.", "client:R"]);
    expect(late[2].seq).toBe(late[1].ack); // RST carries the SYN-ACK's acknowledgement as its sequence
    expect(when(t, "server", "SYN_RCVD", "LISTEN") - when(t, "server", "LISTEN", "SYN_RCVD", 1)).toBeCloseTo(0.002, 6);
    expect(r.totals.established).toBe(1);
    expect(r.series.byHost.server.SYN_RCVD.at(-1)).toBe(0); // the half-open connection is freed
  });

  test("simultaneous open and simultaneous close: SYN_SENT>SYN_RCVD, then CLOSING on both ends", async () => {
    const r = await runDebug({
      name: "simultaneous", duration: "100s", trace: 2,
      hosts: { a: { ip: "10.0.0.1" }, b: { ip: "10.0.0.2" } },
      links: [{ between: ["a", "b"], latency: "1ms" }],
      workloads: [
        { plugin: "tcp-churn", from: "a", to: "b:6000", localPort: 5000, rate: 1, arrival: "constant", count: 1, request: 0, response: 0 },
        { plugin: "tcp-churn", from: "b", to: "a:5000", localPort: 6000, rate: 1, arrival: "constant", count: 1, request: 0, response: 0 },
      ],
    });
    const expected = [
      "CLOSED>SYN_SENT", "SYN_SENT>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1",
      "FIN_WAIT_1>CLOSING", "CLOSING>TIME_WAIT", "TIME_WAIT>CLOSED",
    ];
    expect(path(r.traces![0], "a")).toEqual(expected);
    expect(path(r.traces![1], "b")).toEqual(expected);
    expect(r.traces![0].segments.map((s) => s.flags)).toEqual(["S", "S.", "F.", "."]);
    expect(r.totals).toMatchObject({ attempted: 2, established: 2, completed: 2 });
  });

  test("simultaneous close between client and server (both close at once): CLOSING on both", async () => {
    const t = (await runDebug(pair({ workload: { closer: "both", request: 0, response: 0 } }))).traces![0];
    expect(path(t, "client").slice(2)).toEqual(["ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>CLOSING", "CLOSING>TIME_WAIT", "TIME_WAIT>CLOSED"]);
    expect(path(t, "server").slice(2)).toEqual(["ESTABLISHED>FIN_WAIT_1", "FIN_WAIT_1>CLOSING", "CLOSING>TIME_WAIT", "TIME_WAIT>CLOSED"]);
  });

  test("SYN to a closed port: RST+ACK, ECONNREFUSED", async () => {
    const r = await runDebug(pair({ workload: { to: "server:81" } }));
    const t = r.traces![0];
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>CLOSED"]);
    expect(path(t, "server")).toEqual([]);
    expect(t.segments.map((s) => `${s.from}:${s.flags}`)).toEqual(["client:S", "server:R."]);
    expect(t.segments[1].ack).toBe((t.segments[0].seq + 1) >>> 0);
    expect(r.totals.failed).toEqual({ EADDRNOTAVAIL: 0, ECONNREFUSED: 1, ETIMEDOUT: 0, ECONNRESET: 0, EADDRINUSE: 0 });
  });

  test.each([
    // tcp_syn_linear_timeouts 4: 5 retransmissions 1 s apart, then 2, 4 .. 64 s, each rounded
    // up on the 250 Hz timer wheel (test/linux-reference.test.ts has the kernel's figures).
    ["linux", 10, 134.112],
    ["rfc9293", 6, 1 + 2 + 4 + 8 + 16 + 32 + 64],
    ["windows", 2, 3 + 6 + 12],
  ] as const)("SYN retries exhausted (%s): %i retransmissions, ETIMEDOUT after %i s", async (profile, retries, total) => {
    const r = await runDebug(pair({ profile, loss: { plugin: "drop", rules: [{ from: "client", flags: "S" }] } }));
    const t = r.traces![0];
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>CLOSED"]);
    expect(when(t, "client", "SYN_SENT", "CLOSED") - when(t, "client", "CLOSED", "SYN_SENT")).toBeCloseTo(total, 6);
    expect(t.segments.filter((s) => s.flags === "S").length).toBe(retries + 1);
    expect(r.totals.segments.retransmitted).toBe(retries);
    expect(r.totals.failed.ETIMEDOUT).toBe(1);
  });

  test("SYN-ACK retries exhausted: the half-open child is dropped after 1+2+4+8+16+32 s", async () => {
    const r = await runDebug(pair({ loss: { plugin: "drop", rules: [{ from: "server", flags: "S." }] } }));
    const t = r.traces![0];
    // The client's own SYN retransmission at 63 s then opens a fresh half-open child.
    expect(path(t, "server")).toEqual(["LISTEN>SYN_RCVD", "SYN_RCVD>CLOSED", "LISTEN>SYN_RCVD", "SYN_RCVD>CLOSED"]);
    // 63 s, each timer rounded up on the 250 Hz wheel (8 jiffies for 1-2 s, 64 for 4-16 s, 512 for 32 s).
    expect(when(t, "server", "SYN_RCVD", "CLOSED") - when(t, "server", "LISTEN", "SYN_RCVD")).toBeCloseTo(64.479, 3);
  });

  test("a full listen backlog drops new SYNs (as Linux does): SYN_RCVD never exceeds the backlog", async () => {
    const r = await runDebug(pair({
      duration: "5s", trace: 3, sample: "100ms",
      server: { listen: [{ port: 80, backlog: 2 }] },
      workload: { rate: 10, count: 3 },
      loss: { plugin: "drop", rules: [{ from: "server", flags: "S." }] },
    }));
    expect(r.peak.SYN_RCVD).toBe(2);
    expect(path(r.traces![2], "server")).toEqual([]); // its SYNs found no room
    expect(r.traces![2].segments.filter((s) => s.flags === "S").length).toBe(5); // 0, 1, 2, 3, 4 s (linear timeouts): still trying
  });
});

describe("aborts and resets", () => {
  test("SO_LINGER 0 on the closer: RST instead of FIN, no TIME_WAIT anywhere", async () => {
    const r = await runDebug(pair({ workload: { linger0: true } }));
    const t = r.traces![0];
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>CLOSED"]);
    expect(path(t, "server")).toEqual(["LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>CLOSED"]);
    expect(t.segments.at(-1)!.flags).toBe("R.");
    expect(r.peak.TIME_WAIT).toBe(0);
    expect(r.totals.completed).toBe(1);
  });

  test("a server that aborts with SO_LINGER 0: the response goes out first, then RST after it", async () => {
    const r = await runDebug(pair({ workload: { linger0: true, closer: "server" } }));
    const t = r.traces![0];
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>CLOSED"]);
    // (after the request's quick ACK)
    const [resp, rst] = t.segments.filter((s) => s.from === "server" && s.t > 0.001 && s.len + (s.flags.includes("R") ? 1 : 0) > 0);
    expect([resp.flags, resp.len, rst.flags, rst.len, rst.t]).toEqual(["P.", 1000, "R.", 0, resp.t]);
    expect(rst.seq).toBe((resp.seq + 1000) >>> 0);
    expect(r.totals.completed).toBe(1);
    expect(r.totals.failed.ECONNRESET).toBe(0); // the exchange was done when the RST came
  });

  test("SO_LINGER 0 with more written than the window: 10 segments go out, the rest is discarded, ECONNRESET", async () => {
    const r = await runDebug(pair({ workload: { linger0: true, closer: "server", response: 20000 } }));
    const t = r.traces![0];
    const data = t.segments.filter((s) => s.from === "server" && s.len > 0);
    expect(data.reduce((n, s) => n + s.len, 0)).toBe(14600);
    const rst = t.segments.find((s) => s.flags === "R.")!;
    expect([rst.from, rst.seq, rst.t]).toEqual(["server", (data[0].seq + 14600) >>> 0, data[0].t]);
    expect(r.totals.failed.ECONNRESET).toBe(1);
    expect(r.totals.completed).toBe(0);
  });

  test("loss in the data: go-back-N retransmission after RTO delivers everything", async () => {
    const r = await runDebug(pair({
      workload: { response: 20000 },
      loss: { plugin: "drop", rules: [{ from: "server", flags: ".", conn: 0, nth: 2 }] },
    }));
    expect(r.totals.completed).toBe(1);
    expect(r.totals.segments.retransmitted).toBeGreaterThan(0);
    const t = r.traces![0];
    expect(path(t, "client").at(-1)).toBe("TIME_WAIT>CLOSED");
  });
});

describe("ports and retries", () => {
  test("one local port serves several destinations (connect()-only ports are shared, as in Linux)", async () => {
    const r = await runDebug({
      name: "shared-port", duration: "10s", trace: 2,
      hosts: {
        client: { ip: "10.0.0.1", ports: "40000-40000" },
        s1: { ip: "10.0.0.2", listen: [{ port: 80 }] },
        s2: { ip: "10.0.0.3", listen: [{ port: 80 }] },
      },
      links: [{ between: ["client", "s1"], latency: "1ms" }, { between: ["client", "s2"], latency: "1ms" }],
      workloads: [
        { plugin: "tcp-churn", from: "client", to: "s1:80", rate: 1, arrival: "constant", count: 2 },
        { plugin: "tcp-churn", from: "client", to: "s2:80", rate: 1, arrival: "constant", count: 1 },
      ],
    });
    // Connections 0 (to s1) and 1 (to s2) share port 40000; the second to s1 finds its tuple in TIME_WAIT.
    expect(r.traces!.map((t) => t.client)).toEqual(["10.0.0.1:40000", "10.0.0.1:40000"]);
    expect(r.totals).toMatchObject({ attempted: 3, established: 2, failed: { EADDRNOTAVAIL: 1 } });
  });

  test("an unacknowledged FIN: LAST_ACK gives up after tcp_orphan_retries retransmissions", async () => {
    const r = await runDebug(pair({
      duration: "300s",
      loss: { plugin: "drop", rules: [{ from: "client", flags: ".", state: "TIME_WAIT" }, { from: "client", flags: ".", state: "FIN_WAIT_2" }] },
      workload: { halfClose: true, response: 0, closer: "client" },
      server: { listen: [{ port: 80 }], tcp: { orphanRetries: 3 } },
    }));
    const t = r.traces![0];
    const serverFins = t.segments.filter((s) => s.from === "server" && s.flags.includes("F"));
    expect(serverFins.length).toBe(4); // the FIN and 3 retransmissions
    expect(path(t, "server").at(-1)).toBe("LAST_ACK>CLOSED");
    // RTO 202 ms is 51 jiffies at 250 Hz, doubled as jiffies (Linux's icsk_rto): 51, 102, 204, 408
    // after the first FIN at 0.003, each rounded up on the wheel (a jiffy at level 0, up to 8 from
    // 63 jiffies on): 0.208, 0.640, 1.472, 3.136.
    expect(when(t, "server", "LAST_ACK", "CLOSED") - serverFins[0].t).toBeCloseTo(3.133, 3);
  });
});
