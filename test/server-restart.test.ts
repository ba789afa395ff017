// A server process that stops and starts again (hosts.X.listen[].stop / start): its
// sockets are closed by the kernel at the stop, clients meanwhile are refused, and
// the new bind() meets EADDRINUSE while the old connections' TIME_WAIT holds the port,
// unless SO_REUSEADDR is set (seed notes; Linux inet_csk_bind_conflict).

import { describe, expect, test } from "vitest";
import { onWheelBoundary, pair, path, runDebug, when } from "./helpers.js";

const LISTEN_AT = (r: { series: { t: number[]; states: { LISTEN: number[] } } }, t: number) =>
  r.series.states.LISTEN[r.series.t.indexOf(t)];

describe("server restart", () => {
  // One connection at t=0 that the server closes, so its TIME_WAIT (60 s) sits on the
  // server's port 80 until about t=60.004 s. The server stops at 10 s, starts at 20 s.
  const restart = (reuseAddr: boolean) => pair({
    duration: "100s",
    workload: { closer: "server" },
    server: { listen: [{ port: 80, backlog: 128, stop: "10s", start: "20s", reuseAddr }] },
  });

  test("without SO_REUSEADDR bind() fails with EADDRINUSE until the old TIME_WAIT ends", async () => {
    const r = await runDebug(restart(false));
    const t = r.traces![0];
    const twEnds = when(t, "server", "TIME_WAIT", "CLOSED");
    // 60 s, to the timer wheel's next 2.048 s boundary (hz 250).
    // (The client ACKs the response and its FIN at once, so the server goes FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT.)
    expect(twEnds - when(t, "server", "FIN_WAIT_2", "TIME_WAIT")).toBeGreaterThan(60);
    expect(twEnds - when(t, "server", "FIN_WAIT_2", "TIME_WAIT")).toBeLessThanOrEqual(62.048);
    expect(onWheelBoundary(twEnds)).toBe(true);
    // Tries at 20, 21, ... s (bindRetry 1 s) fail while TIME_WAIT holds the port.
    const failures = Math.ceil(twEnds - 20);
    expect(r.totals.failed.EADDRINUSE).toBe(failures);
    expect(r.series.failuresByErrno.EADDRINUSE.reduce((a, b) => a + b, 0)).toBe(failures);
    expect(LISTEN_AT(r, 10)).toBe(1);       // a sample at T sees events before T
    expect(LISTEN_AT(r, 11)).toBe(0);
    expect(LISTEN_AT(r, 20 + failures)).toBe(0);
    expect(LISTEN_AT(r, 21 + failures)).toBe(1);
    // The client's view is unchanged: its one connection completed.
    expect(r.totals.completed).toBe(1);
    expect(r.totals.failed.ECONNREFUSED).toBe(0);
  });

  test("with SO_REUSEADDR the restarted server binds at once despite TIME_WAIT", async () => {
    const r = await runDebug(restart(true));
    expect(r.totals.failed.EADDRINUSE).toBe(0);
    expect(r.series.states.TIME_WAIT[r.series.t.indexOf(21)]).toBe(1); // still there
    expect(LISTEN_AT(r, 20)).toBe(0);
    expect(LISTEN_AT(r, 21)).toBe(1);
  });

  test("connect() while the server is down: RST, ECONNREFUSED; served again after the restart", async () => {
    const r = await runDebug(pair({
      duration: "30s", sample: "500ms", trace: 30,
      workload: { rate: 1, count: 30, arrival: "constant" },
      server: { listen: [{ port: 80, stop: "10.5s", start: "20.5s" }] },
    }));
    // Connections at t = 11 .. 20 s find no listener; the client closed first, so the
    // server holds no TIME_WAIT and its bind at 20.5 s succeeds.
    expect(r.totals.failed.ECONNREFUSED).toBe(10);
    expect(r.totals.failed.EADDRINUSE).toBe(0);
    expect(r.totals.completed).toBe(20);
    const refused = r.traces!.filter((t) => path(t, "client").join() === "CLOSED>SYN_SENT,SYN_SENT>CLOSED");
    expect(refused.map((t) => t.id)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(refused[0].segments.map((s) => `${s.from}:${s.flags}`)).toEqual(["client:S", "server:R."]);
  });

  test("the stop closes accepted connections: the server sends FIN and ends in TIME_WAIT", async () => {
    // 1 s each way: the server is ESTABLISHED from t=3 s, has answered, and waits for
    // the client's FIN when its process stops at 3.5 s.
    const r = await runDebug(pair({
      duration: "100s", latency: "1s",
      server: { listen: [{ port: 80, stop: "3.5s" }] },
    }));
    const t = r.traces![0];
    const server = path(t, "server");
    expect(server.slice(0, 3)).toEqual(["LISTEN>SYN_RCVD", "SYN_RCVD>ESTABLISHED", "ESTABLISHED>FIN_WAIT_1"]);
    expect(when(t, "server", "ESTABLISHED", "FIN_WAIT_1")).toBeCloseTo(3.5, 6);
    expect(server).toContain("TIME_WAIT>CLOSED");
    const fin = t.segments.find((s) => s.from === "server" && s.flags.includes("F"))!;
    expect(fin.t).toBeCloseTo(3.5, 6);
    expect(r.totals.completed).toBe(1); // the response had arrived before the FIN
  });

  test("a half-open connection at the stop is dropped; the client's ACK then meets a RST", async () => {
    const r = await runDebug(pair({
      duration: "100s", latency: "1s",
      server: { listen: [{ port: 80, stop: "1.5s" }] },
    }));
    const t = r.traces![0];
    expect(path(t, "server")).toEqual(["LISTEN>SYN_RCVD", "SYN_RCVD>CLOSED"]);
    expect(when(t, "server", "SYN_RCVD", "CLOSED")).toBeCloseTo(1.5, 6);
    expect(path(t, "client")).toEqual(["CLOSED>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>CLOSED"]);
    expect(r.totals.failed.ECONNRESET).toBe(1);
  });
});
