// Ephemeral port allocators (RFC 6056): the order each hands out ports, and how soon
// each re-picks a port still in TIME_WAIT, seen in the client ports of the traces.

import { describe, expect, test } from "vitest";
import { planScenario, runScenario, type Result } from "../sdk/index.js";
import { pair } from "./helpers.js";

type Allocator = "sequential" | "random" | "linux";

/** One connection a second from a 1000-port range, each traced: the client ports in connect() order. */
async function ports(portAllocator: Allocator, opts: { count?: number; twReuse?: 0 | 1; seed?: number; to?: string } = {}) {
  const count = opts.count ?? 20;
  const s = pair({
    duration: `${count + 5}s`, trace: count,
    client: { ports: "40000-40999", portAllocator, tcp: { twReuse: opts.twReuse ?? 0, timeWait: "60s" } },
    workload: { rate: 1, count, arrival: "constant", ...(opts.to ? { to: opts.to } : {}) },
  });
  const r: Result = await runScenario({ ...s, seed: opts.seed ?? 1 });
  return r.traces!.map((t) => Number(t.client.split(":")[1]));
}

/** For each connection, how many connections later its port is picked again (Infinity: not again). */
function reuseDistance(p: number[]): number[] {
  return p.map((port, i) => { const j = p.indexOf(port, i + 1); return j < 0 ? Infinity : j - i; });
}

describe("the order ports are handed out", () => {
  test("sequential: one after another from the bottom of the range", async () => {
    expect(await ports("sequential", { count: 6 })).toEqual([40000, 40001, 40002, 40003, 40004, 40005]);
  });

  test("random (RFC 6056 algorithm 1): anywhere in the range, the same for a seed, another for another seed", async () => {
    const a = await ports("random");
    expect(a.every((p) => p >= 40000 && p <= 40999)).toBe(true);
    const steps = a.slice(1).map((p, i) => p - a[i]);
    expect(steps.filter((d) => d === 1).length).toBeLessThan(3); // not sequential
    expect(await ports("random")).toEqual(a);
    expect(await ports("random", { seed: 2 })).not.toEqual(a);
  });

  test("linux (RFC 6056 algorithm 3): even ports first, moving on by at least 2 per connection to a destination", async () => {
    const a = await ports("linux");
    expect(a.every((p) => p % 2 === 0)).toBe(true);       // the range's own parity first
    const steps = a.slice(1).map((p, i) => (p - a[i] + 1000) % 1000);
    expect(steps.every((d) => d >= 2 && d % 2 === 0 && d <= 16)).toBe(true); // i + 2, or a random nudge up to 16
    // Another destination starts elsewhere: the offset is a secret hash of it.
    const b = await ports("linux", { to: "server:81" });
    expect(Math.abs(b[0] - a[0])).toBeGreaterThan(2);
    // The secret differs with the seed, so does the start.
    expect((await ports("linux", { seed: 2 }))[0]).not.toBe(a[0]);
  });
});

describe("how soon a port in TIME_WAIT is picked again (tw_reuse on: older than 1 s may be taken over)", () => {
  test("sequential walks the whole range; linux comes back after about range / 9.5; random any time", async () => {
    const count = 200;
    const seq = reuseDistance(await ports("sequential", { count, twReuse: 1 }));
    const lin = reuseDistance(await ports("linux", { count, twReuse: 1 }));
    const rnd = reuseDistance(await ports("random", { count, twReuse: 1 }));
    const repeats = (d: number[]) => d.filter((x) => x !== Infinity);
    expect(repeats(seq)).toEqual([]); // 200 < 1000 ports
    // Linux moves its start by max(ports tried, a random 0-14) + 2: about 9.5 ports per
    // connection, so 1000 ports come round after about 105 connections (whether the tuple is
    // still in TIME_WAIT then depends on the rate: the test below counts takeovers).
    expect(repeats(lin).length).toBeGreaterThan(10);
    for (const d of repeats(lin)) expect(d).toBeGreaterThan(80), expect(d).toBeLessThan(135);
    // 200 random starts in 1000 ports: about 200^2 / 2000 = 20 land on a port used before, at any distance.
    expect(repeats(rnd).length).toBeGreaterThan(5);
    expect(repeats(rnd).length).toBeLessThan(45);
    expect(Math.min(...repeats(rnd))).toBeLessThan(60);
  });

  test("the result counts the takeovers: totals.timeWaitReused is the re-picks the traces show", async () => {
    const counted: Record<string, number> = {};
    for (const a of ["sequential", "random", "linux"] as const) {
      const s = pair({
        duration: "205s", trace: 200,
        client: { ports: "40000-40999", portAllocator: a, tcp: { twReuse: 1, timeWait: "60s" } },
        workload: { rate: 1, count: 200, arrival: "constant" },
      });
      const r = await runScenario(s);
      // Connection i opens at i s and its TIME_WAIT ends just after i + 60 s: a port picked
      // again within 60 connections took over the tuple; later, the tuple was gone.
      const p = r.traces!.map((t) => Number(t.client.split(":")[1]));
      const takeovers = p.filter((port, j) => p.slice(Math.max(0, j - 60), j).includes(port)).length;
      expect(r.totals.timeWaitReused, a).toBe(takeovers);
      counted[a] = takeovers;
    }
    expect(counted.sequential).toBe(0); // 200 < 1000 ports
    expect(counted.linux).toBe(0);      // it comes back after 80-135 connections, when TIME_WAIT is over
    expect(counted.random).toBeGreaterThan(3); // any distance: some within the 60 s
  });

  test("without tw_reuse no allocator hands out a port still in TIME_WAIT", async () => {
    for (const a of ["sequential", "random", "linux"] as const) {
      const d = reuseDistance(await ports(a, { count: 50 }));
      expect(d.every((x) => x === Infinity), a).toBe(true); // 50 s < 60 s of TIME_WAIT
    }
  });
});

describe("reserved ports (ip_local_reserved_ports)", () => {
  test("no allocator hands out a reserved port; the range shrinks by them and capacity with it", async () => {
    for (const a of ["sequential", "random", "linux"] as const) {
      const r = await runScenario({
        ...pair({
          duration: "30s", trace: 300,
          client: { ports: "40000-40099", portAllocator: a, reservedPorts: "40000-40009,40050", tcp: { timeWait: "60s" } },
          workload: { rate: 10, count: 0, arrival: "constant" },
        }), seed: 3,
      });
      const used = r.traces!.filter((t) => t.client).map((t) => Number(t.client.split(":")[1]));
      expect(used.some((p) => p < 40010 || p === 40050), a).toBe(false);
      // 100 ports less 11 reserved, held 60 s each: 89 connections, then EADDRNOTAVAIL.
      expect(r.totals.established, a).toBe(89);
    }
  });

  test("reservedPorts is checked: a bad range names the field", () => {
    expect(() => planScenario(pair({ client: { reservedPorts: "40000-39999" } }))).toThrow(
      /^scenario\.hosts\.client\.reservedPorts: "40000-39999" is inverted/);
  });
});

describe("each profile's own allocator when a host names none", () => {
  test("linux: Linux's (even ports first, as the kernel's 500 even of 1000); windows: one cursor from 49152; rfc9293: sequential", async () => {
    const first = async (profile: "linux" | "windows" | "rfc9293", ports?: string) => {
      const s = pair({ profile, trace: 6, duration: "10s", client: ports ? { ports } : {}, workload: { rate: 1, count: 6 } });
      delete (s.hosts.client as { portAllocator?: string }).portAllocator;
      return (await runScenario(s)).traces!.map((t) => Number(t.client.split(":")[1]));
    };
    const lin = await first("linux", "40000-40999");
    expect(lin.every((p) => p % 2 === 0 && p >= 40000 && p <= 40999)).toBe(true);
    expect(lin).not.toEqual([40000, 40002, 40004, 40006, 40008, 40010]);
    expect(await first("windows")).toEqual([49152, 49153, 49154, 49155, 49156, 49157]);
    expect(await first("rfc9293")).toEqual([49152, 49153, 49154, 49155, 49156, 49157]);
    expect(planScenario(pair({ profile: "linux" })).hosts[0].portAllocator.plugin).toBe("sequential"); // named: kept
  });
});

describe("tcp_tw_reuse_delay (twReuseDelay): how old a TIME_WAIT must be before tw_reuse takes it over", () => {
  test("one port, a connection every 2 s: taken over after 1 s by default, never with a 10 s delay (EADDRNOTAVAIL)", async () => {
    const run = (twReuseDelay?: string) => runScenario(pair({
      duration: "12s", trace: 0,
      client: { ports: "40000-40000", tcp: { twReuse: 1, ...(twReuseDelay ? { twReuseDelay } : {}) } },
      workload: { rate: 0.5, count: 5, arrival: "constant" },
    }));
    const dflt = await run();
    expect(dflt.totals).toMatchObject({ completed: 5, timeWaitReused: 4, failed: { EADDRNOTAVAIL: 0 } });
    const slow = await run("10s");
    expect(slow.totals).toMatchObject({ completed: 1, timeWaitReused: 0, failed: { EADDRNOTAVAIL: 4 } });
  });
});

describe("linux allocator with most ports held: the engine's shortcut picks what the full search picks", () => {
  // The engine skips a held port without its 4-tuple lookup when every socket on the address
  // goes to the destination and tw_reuse is off; the TS kernel (bench/ts-kernel) looks each
  // up. compare() runs both in slices and throws on the first differing counter, sample or
  // trace record. Hosts: one destination (shortcut), two (full search), tw_reuse 1 (full search).
  test("release and debug engines agree with the TS kernel on linux-ports-held", async () => {
    const { compare, SCENARIOS } = await import("../bench/ts-kernel/check.mjs" as string);
    const { loadSdkInternals, loadTsKernel } = await import("../bench/ts-kernel/load.mjs" as string);
    const [sdk, ts] = await Promise.all([loadSdkInternals(), loadTsKernel()]);
    for (const flavour of ["release", "debug"]) {
      const r = await compare("linux-ports-held", SCENARIOS["linux-ports-held"], { sdk, ts, flavour });
      expect(r.totals, flavour).toMatchObject({ Attempted: 5656, Completed: 5051, EADDRNOTAVAIL: 605, TwReused: 1687 });
    }
  });

  test("the destination book each address keeps for it matches its sockets (invariant 6, debug engine)", async () => {
    const { SCENARIOS } = await import("../bench/ts-kernel/check.mjs" as string);
    const r = await runScenario({ ...SCENARIOS["linux-ports-held"], name: "held" }, { checkInvariants: true, flavour: "debug" });
    expect(r.totals).toMatchObject({ attempted: 5656, completed: 5051, failed: { EADDRNOTAVAIL: 605 }, timeWaitReused: 1687 });
  });
});
