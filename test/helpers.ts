// Small scenario builders shared by the suites: one client, one server, one link.

import type { Result, Scenario, Trace } from "../sdk/index.js";
import { runScenario } from "../sdk/index.js";

type Workload = Scenario["workloads"][number];
type Link = Scenario["links"][number];

export interface PairOptions {
  duration?: string;
  latency?: string;
  loss?: Link["loss"];
  workload?: Partial<Workload>;
  client?: Partial<Scenario["hosts"][string]>;
  server?: Partial<Scenario["hosts"][string]>;
  profile?: "linux" | "rfc9293" | "windows";
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
      client: { ip: "10.0.0.1", ...o.client },
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

export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
