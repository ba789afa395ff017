// TCP timestamps (RFC 7323) as Linux 6.18 has them: which connections carry the option,
// what TSval and TSecr hold, what tw_reuse and a reopened TIME_WAIT inherit. PAWS itself
// and RFC 6191 are exact-trace cases in test/conformance/ (paws-*, rfc6191-*, tw-reuse-*).

import { describe, expect, test } from "vitest";
import { planScenario } from "../sdk/scenario.js";
import type { Trace } from "../sdk/index.js";
import { pair, runDebug } from "./helpers.js";

/** TSval minus the sender's millisecond clock: the secret offset of its address pair. */
const offsets = (t: Trace, from: string) =>
  new Set(t.segments.filter((s) => s.from === from).map((s) => (s.tsval! - Math.floor(s.t * 1000)) >>> 0));

describe("timestamps", () => {
  test("profiles: on in linux and linux-5.15, off in rfc9293 and windows; a host may set it", () => {
    type Profile = "linux" | "linux-5.15" | "rfc9293" | "windows";
    const knob = (profile: Profile, tcp = {}) => planScenario({ ...pair({ profile, client: { tcp } }) }).hosts[0].tcp.timestamps;
    expect((["linux", "linux-5.15", "rfc9293", "windows"] as const).map((p) => knob(p))).toEqual([1, 1, 0, 0]);
    expect(knob("linux", { timestamps: 0 })).toBe(0);
    expect(knob("rfc9293", { timestamps: 1 })).toBe(1);
  });

  test("every segment of a connection carries TSval and TSecr: TSecr echoes the peer's latest TSval, SYN's is 0", async () => {
    const r = await runDebug(pair({ workload: { response: 5000 } }));
    const t = r.traces![0];
    expect(t.segments.every((s) => s.tsval !== undefined && s.tsecr !== undefined)).toBe(true);
    const [syn, synAck] = t.segments;
    expect([syn.flags, syn.tsecr]).toEqual(["S", 0]);
    expect([synAck.flags, synAck.tsecr]).toEqual(["S.", syn.tsval]);
    // Each segment echoes the TSval of the last segment its sender received in order
    // (links of 1 ms: the peer's segment sent 1 ms or more before).
    for (const s of t.segments.slice(1)) {
      const heard = t.segments.filter((x) => x.from !== s.from && x.t + 0.001 <= s.t + 1e-9);
      expect(s.tsecr, `${s.from} ${s.flags} at ${s.t}`).toBe(heard[heard.length - 1].tsval);
    }
    // TSval is the sender's millisecond clock plus one offset for its address pair; the two ends' differ.
    const [c, sv] = [offsets(t, "client"), offsets(t, "server")];
    expect([c.size, sv.size]).toEqual([1, 1]);
    expect([...c][0]).not.toBe([...sv][0]);
    expect(r.totals.segments.pawsRejected).toBe(0);
  });

  test("the offset belongs to the address pair (later connections continue the clock) and to the seed", async () => {
    const a = await runDebug(pair({ trace: 2, workload: { count: 2 } }));
    expect(offsets(a.traces![0], "client")).toEqual(offsets(a.traces![1], "client"));
    const b = await runDebug({ ...pair({ trace: 2, workload: { count: 2 } }), seed: 2 });
    expect(offsets(b.traces![0], "client")).not.toEqual(offsets(a.traces![0], "client"));
    const again = await runDebug(pair({ trace: 2, workload: { count: 2 } }));
    expect(again.traces).toEqual(a.traces);
  });

  test("a connection uses timestamps only when both hosts have them on", async () => {
    for (const [client, server] of [[0, 1], [1, 0], [0, 0]] as const) {
      const r = await runDebug(pair({ client: { tcp: { timestamps: client } }, server: { listen: [{ port: 80 }], tcp: { timestamps: server } } }));
      expect(r.traces![0].segments.some((s) => "tsval" in s), `client ${client}, server ${server}`).toBe(false);
    }
  });

  test("tw_reuse: the new connection starts at the old SND.NXT + 65537 and its SYN echoes the old TS.Recent", async () => {
    const r = await runDebug(pair({
      trace: 2, client: { tcp: { twReuse: 1 } },
      workload: { count: 2, rate: 0.5, localPort: 5000 },
    }));
    expect(r.totals.timeWaitReused).toBe(1);
    const [old, next] = r.traces!;
    const oldLast = old.segments.filter((s) => s.from === "client").at(-1)!; // the ACK of the server's FIN
    const lastHeard = old.segments.filter((s) => s.from === "server").at(-1)!;
    const syn = next.segments[0];
    expect(syn.flags).toBe("S");
    expect(syn.seq).toBe((oldLast.seq + 65537) >>> 0);
    expect(syn.tsecr).toBe(lastHeard.tsval);
    expect(syn.tsval).toBeGreaterThan(oldLast.tsval!);
  });

  test("a SYN reopening the server's TIME_WAIT by its newer TSval (RFC 6191) gets the ISN old SND.NXT + 65537", async () => {
    const r = await runDebug(pair({
      trace: 2, server: { listen: [{ port: 80 }], tcp: { timeWait: "300s" } },
      workload: { count: 2, rate: 1 / 150, localPort: 5000, closer: "server" },
    }));
    const [old, next] = r.traces!;
    const oldSyn = old.segments[0];
    const newSyn = next.segments[0];
    expect((newSyn.seq - oldSyn.seq) | 0).toBeLessThan(0); // the ISN clock wrapped: the SYN compares lower
    const serverLast = old.segments.filter((s) => s.from === "server").at(-1)!; // TIME_WAIT's ACK of the client's FIN
    const synAck = next.segments.find((s) => s.flags === "S.")!;
    expect(synAck.seq).toBe((serverLast.seq + 65537) >>> 0);
    expect(r.totals.completed).toBe(2);
  });
});
