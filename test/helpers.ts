// Small scenario builders shared by the suites: one client, one server, one link.

import type { Result, Scenario, Trace } from "../sdk/index.js";
import { runScenario } from "../sdk/index.js";

/**
 * A result as JSON, without what legitimately differs between runs and worker counts:
 * wall time, memory, the workers and how a split run went (engine.split).
 */
export function comparable(r: Result): string {
  const { wallSeconds: _s, memoryBytes: _m, workers: _w, split: _p, ...engine } = r.engine;
  return JSON.stringify({ ...r, engine });
}

type Workload = Scenario["workloads"][number];
type Link = Scenario["links"][number];

export interface PairOptions {
  duration?: string;
  latency?: string;
  loss?: Link["loss"];
  workload?: Partial<Workload>;
  client?: Partial<Scenario["hosts"][string]>;
  server?: Partial<Scenario["hosts"][string]>;
  profile?: "linux" | "linux-5.15" | "rfc9293" | "windows";
  sample?: string;
  trace?: number;
}

/** client 10.0.0.1 -> server 10.0.0.2:80 over one link; one connection unless told otherwise. */
export function pair(o: PairOptions = {}): Scenario {
  return {
    name: "pair",
    seed: 1,
    duration: o.duration ?? "200s",
    sample: o.sample ?? "1s",
    profile: o.profile ?? "linux",
    trace: o.trace ?? 1,
    hosts: {
      // Sequential ports from the range's start, so tests can name them (the profiles' own
      // allocators are port-allocators.test.ts's).
      client: { ip: "10.0.0.1", portAllocator: "sequential", ...o.client },
      server: { ip: "10.0.0.2", listen: [{ port: 80, backlog: 128 }], ...o.server },
    },
    links: [{ between: ["client", "server"], latency: o.latency ?? "1ms", ...(o.loss ? { loss: o.loss } : {}) }],
    workloads: [{
      plugin: "tcp-churn", from: "client", to: "server:80", rate: 1, arrival: "constant", count: 1,
      request: 100, response: 1000, closer: "client", ...o.workload,
    } as Workload],
  };
}

/** Runs with the debug engine (every invariant assertion on). */
export function runDebug(s: Scenario): Promise<Result> {
  return runScenario(s, { flavour: "debug" });
}

/** The state path of one host in a trace, as "FROM>TO" steps. */
export function path(t: Trace, host: string): string[] {
  return t.states.filter((s) => s.host === host).map((s) => `${s.from}>${s.to}`);
}

/** The time a host made a given transition (first occurrence, or nth). */
export function when(t: Trace, host: string, from: string, to: string, nth = 0): number {
  const hits = t.states.filter((s) => s.host === host && s.from === from && s.to === to);
  if (!hits[nth]) throw new Error(`no ${from}>${to} on ${host} (occurrence ${nth})`);
  return hits[nth].t;
}

/**
 * Whether a time (s) is a boundary of the Linux timer wheel's level 3 at 250 Hz, where
 * 60 s timers (TIME_WAIT, FIN_WAIT_2) fire: every 512 jiffies (2.048 s), jiffies counting
 * from INITIAL_JIFFIES (2^32 - 300 HZ, 264 mod 512) at t = 0, so the first is at 0.992 s.
 */
export function onWheelBoundary(t: number): boolean {
  const k = (t - 0.992) / 2.048;
  return Math.abs(k - Math.round(k)) < 1e-6;
}

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
