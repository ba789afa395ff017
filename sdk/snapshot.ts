// `connsim snapshot`: the `ss -s` view of one simulated instant. Runs the scenario up
// to `at` and reads, beside the per-state counts of the last sample, the engine's
// per-address port tables: how many sockets hold each local port and how many of
// those sit in TIME_WAIT, so the busiest ports can be named. A fleet is one entry, as
// in the result.

import { STATE_COUNT } from "../assembly/abi.js";
import { STATE_NAMES } from "./engine.js";
import { loadPlugins } from "./plugin-loader.js";
import type { Plugin } from "./plugins.js";
import type { StateName } from "./result.js";
import { simulate } from "./run.js";
import { planScenario, ScenarioError, type Scenario } from "./scenario.js";
import { formatIPv4, parseDuration } from "./units.js";
import { reportedHosts } from "./groups.js";

export interface PortUse { ip: string; port: number; sockets: number; timeWait: number; listening: boolean }
export interface HostSnapshot { states: Record<StateName, number>; portsInUse: number; udpSockets: number; busiest: PortUse[] }
export interface Snapshot { name: string; seed: number; t: number; hosts: Record<string, HostSnapshot> }

export interface SnapshotOptions {
  /** The instant: a duration ("30s") or seconds. */
  at: string | number;
  seed?: number;
  /** How many of each host's busiest local ports to name (default 5). */
  top?: number;
  /** Plugin objects the scenario names, as runScenario takes them. */
  plugins?: Plugin[];
  /** Where plugin paths in the scenario are relative to (default: the working directory). */
  baseDir?: string;
}

const LISTENER_BIT = 0x8000;

export async function snapshotScenario(scenario: Scenario | unknown, options: SnapshotOptions): Promise<Snapshot> {
  const at = parseDuration(options.at);
  if (typeof at === "string") throw new ScenarioError("--at", at);
  if (at <= 0) throw new ScenarioError("--at", "must be more than zero");
  const plan = planScenario(scenario, { seed: options.seed, plugins: await loadPlugins(scenario, options.plugins, options.baseDir) });
  if (at > plan.duration) throw new ScenarioError("--at", `is past the scenario's duration (${plan.duration / 1e6}s)`);
  // Stop at `at` with a sample there: a sample at T counts every event before T.
  const { e, samples, error } = await simulate({ ...plan, duration: at, sample: at, trace: 0 }, { plugins: options.plugins });
  if (error) throw new Error(`the run stopped before ${at / 1e6}s: ${error}`);
  const last = samples.lastRow()!;
  const L = samples.layout;

  const hosts: Record<string, HostSnapshot> = {};
  // Addresses are numbered in host order, as configure() adds them.
  const firstIp: number[] = [];
  plan.hosts.reduce((n, h, hi) => { firstIp[hi] = n; return n + h.ips.length; }, 0);
  // A fleet is one entry, as in the result: its counts summed, its busiest ports over all its hosts.
  for (const { name, members } of reportedHosts(plan)) {
    const states = Object.fromEntries(STATE_NAMES.map((n, s) => [n, members.reduce((sum, hi) => sum + last[L.states + hi * STATE_COUNT + s], 0)])) as Record<StateName, number>;
    const ports: PortUse[] = [];
    for (const hi of members) {
      plan.hosts[hi].ips.forEach((addr, k) => {
        const use = new Uint16Array(e.memory.buffer, e.portsPtr(firstIp[hi] + k), 65536);
        const tw = new Uint16Array(e.memory.buffer, e.portsTwPtr(firstIp[hi] + k), 65536);
        for (let p = 1; p < 65536; p++) {
          if (use[p] === 0) continue;
          const listening = (use[p] & LISTENER_BIT) !== 0;
          ports.push({ ip: formatIPv4(addr), port: p, sockets: use[p] & ~LISTENER_BIT, timeWait: tw[p], listening });
        }
      });
    }
    ports.sort((a, b) => b.sockets - a.sockets || a.port - b.port); // (stable: ties in host order)
    const sum = (offset: number) => members.reduce((n, hi) => n + last[offset + hi], 0);
    hosts[name] = { states, portsInUse: sum(L.ports), udpSockets: sum(L.udp), busiest: ports.slice(0, options.top ?? 5) };
  }
  return { name: plan.name, seed: plan.seed, t: at / 1e6, hosts };
}
