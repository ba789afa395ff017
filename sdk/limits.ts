// What one engine instance can hold, checked against a plan before anything runs, so a
// scenario past a limit is refused with its field, its count and the limit rather than
// run wrong. The engine checks the same limits itself (assembly/net.ts, apps.ts, mem.ts).

import { ScenarioError, type Plan } from "./scenario.js";
import { planShards } from "./workers/shard.js";

/**
 * What one engine instance holds (assembly/net.ts, apps.ts): indexes are u16 in sockets
 * and segments, and memory is WebAssembly's 4 GiB less a page (assembly/mem.ts).
 */
export const ENGINE_LIMITS = { hosts: 65536, addresses: 65535, links: 32768, workloads: 65536, nats: 4096, memory: 65535 * 65536 };
/** A NAT's public address: a u16 per port (its conntrack entries). */
export const PUBLIC_ADDRESS_BYTES = 65536 * 2 + 16;
/** Memory an address takes before any connection: a u16, a TIME_WAIT u16 and a held bit per TCP port, a bit per UDP port. */
export const ADDRESS_BYTES = 65536 * 4 + 8192 * 2 + 208; // (+ its columns: params, cursors, destinations)
/** A host's port-selection tables (a 256-entry perturbation table, a reserved-port bitmap) and knobs. */
const HOST_BYTES = 1024 + 8192 + 256;
/** The tables every instance starts with (sockets, timers, segments, samples, at their first capacity: 1.9 MiB). */
const BASE_BYTES = 2.5 * 2 ** 20;

/**
 * Bytes the plan's tables take in the engine before its first connection (an estimate,
 * on the high side). Hosts' and addresses' tables come in blocks of up to 16 (assembly/net.ts
 * carve), each as many as were added before it: n of them take at most n + min(n, 16).
 */
export function engineBytesBefore(plan: Plan): number {
  const addresses = plan.hosts.reduce((n, h) => n + h.ips.length, 0);
  const carved = (n: number) => n + Math.min(n, 16);
  const publics = plan.hosts.reduce((n, h) => n + (h.nat?.addresses.length ?? 0), 0);
  return BASE_BYTES + carved(plan.hosts.length) * HOST_BYTES + carved(addresses) * ADDRESS_BYTES + publics * PUBLIC_ADDRESS_BYTES;
}

/**
 * Engine bytes a connection in TIME_WAIT takes at least: its compact entry (63), its
 * TIME_WAIT FIFO entry (20) and its hash entry at most 3/4 full (assembly/sockets.ts);
 * bench/memory.mjs measures 90-100 with everything counted, at 1-10 M live.
 */
export const TIME_WAIT_BYTES = 85;
/** Engine bytes an open connection takes at least: a socket slot each end (72 + 8 in the hash) and a timer event (37). */
export const OPEN_CONNECTION_BYTES = 2 * 80 + 37;

/** Peak live connections of a plan by Little's law, and the engine memory they take (a lower bound). */
export interface LiveEstimate { timeWait: number; open: number; bytes: number }

/**
 * Live connections at the peak, by Little's law: arrival rate x time held (TIME_WAIT on
 * the closer's host, `hold` open), each bounded by the connections the workload makes,
 * the tuples its ports reach (port range x source addresses x destinations) and the
 * holder's tcp_max_tw_buckets. Closed loops and arrival hooks have no rate to go by:
 * they are not counted (the memory error at run time names how far such a run got).
 */
export function estimateLive(plan: Plan): LiveEstimate {
  const host = new Map(plan.hosts.map((h) => [h.name, h]));
  const twByHost = new Map<string, number>();
  let open = 0;
  for (const w of plan.workloads) {
    const from = host.get(w.from); const to = host.get(w.to);
    if (w.rate <= 0 || w.hook || !from || !to) continue;
    const end = w.stop > 0 ? Math.min(w.stop, plan.duration) : plan.duration;
    const span = Math.max(0, end - w.start) / 1e6;
    const made = w.count > 0 ? Math.min(w.count, w.rate * span) : w.rate * span;
    const holder = w.closer === "server" ? to : from;
    const tuples = (w.localPort ? 1 : from.ports[1] - from.ports[0] + 1)
      * (w.source === "round-robin" ? from.ips.length : 1) * (w.destinations?.length ?? 1);
    const tw = Math.min(made, w.rate * Math.min(holder.tcp.timeWait / 1e6, span), tuples);
    twByHost.set(holder.name, (twByHost.get(holder.name) ?? 0) + tw);
    open += Math.min(made, w.rate * (w.hold + w.serverCloseDelay) / 1e6);
  }
  let timeWait = 0;
  for (const [name, n] of twByHost) timeWait += Math.min(n, host.get(name)!.tcp.maxTwBuckets);
  timeWait = Math.floor(timeWait); open = Math.floor(open);
  return { timeWait, open, bytes: engineBytesBefore(plan) + timeWait * TIME_WAIT_BYTES + open * OPEN_CONNECTION_BYTES };
}

const gib = (b: number) => (b < 2 ** 30 ? `${Math.ceil(b / 2 ** 20)} MiB` : `${(b / 2 ** 30).toFixed(2)} GiB`);

/**
 * Refuses, before anything runs, a plan that one engine instance cannot hold: a count
 * past the width of the field holding its index, or tables past the memory limit.
 */
export function checkEngineFits(plan: Plan, memoryLimit?: number): void {
  const L = ENGINE_LIMITS;
  // The way out when the plan has host groups that no link joins: a worker (an engine) each.
  const split = () => (planShards(plan, 2) ? "; host groups that no link joins can run in separate workers (--workers)" : "");
  const addresses = plan.hosts.reduce((n, h) => n + h.ips.length, 0);
  // A fleet counts each of its hosts: the biggest is named, as the count to lower.
  const fleets = new Map<string, number>();
  for (const h of plan.hosts) if (h.fleet) fleets.set(h.fleet, (fleets.get(h.fleet) ?? 0) + 1);
  const biggest = [...fleets].sort((a, b) => b[1] - a[1])[0];
  const hostsField = biggest ? `scenario.hosts.${biggest[0]}.count` : "scenario.hosts";
  const counted = biggest ? ` (fleets counted host by host: ${[...fleets].map(([f, n]) => `${f} ${n}`).join(", ")})` : "";
  const over = (field: string, what: string, most: number) => {
    throw new ScenarioError(field, `${what}${counted}, the engine takes at most ${most} in one run${split()}`);
  };
  if (plan.workloads.length > L.workloads) over(biggest ? hostsField : "scenario.workloads", `${plan.workloads.length} workloads (a rate step counts as one)`, L.workloads);
  if (plan.links.length > L.links) over(biggest ? hostsField : "scenario.links", `${plan.links.length} links`, L.links);
  if (plan.hosts.length > L.hosts) over(hostsField, `${plan.hosts.length} hosts`, L.hosts);
  const nats = plan.hosts.filter((h) => h.nat).length;
  if (nats > L.nats) over("scenario.hosts", `${nats} NAT hosts`, L.nats);
  if (addresses > L.addresses) over(hostsField, `${addresses} addresses`, L.addresses);
  const limited = memoryLimit !== undefined && memoryLimit > 0 && memoryLimit < L.memory;
  const need = engineBytesBefore(plan);
  if (need > (limited ? memoryLimit : L.memory)) {
    throw new ScenarioError(hostsField, `${addresses} addresses on ${plan.hosts.length} hosts${counted} need about ${gib(need)} of engine memory before the first connection (${ADDRESS_BYTES >> 10} KiB of port tables each); `
      + (limited ? `memoryLimit is ${gib(memoryLimit)}: raise it or use fewer addresses` : `WebAssembly gives an engine ${gib(L.memory)}: use fewer addresses${split()}`));
  }
  const live = estimateLive(plan);
  if (live.bytes > (limited ? memoryLimit : L.memory)) {
    const m = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} M` : n.toLocaleString("en-US"));
    throw new ScenarioError("scenario.workloads", `about ${m(live.timeWait + live.open)} connections live at once (rate x time held, Little's law: `
      + `${m(live.timeWait)} in TIME_WAIT at ${TIME_WAIT_BYTES} B, ${m(live.open)} open at ${OPEN_CONNECTION_BYTES} B) need about ${gib(live.bytes)} of engine memory; `
      + (limited ? `memoryLimit is ${gib(memoryLimit)}: raise it, ` : `WebAssembly gives an engine ${gib(L.memory)}: `)
      + `split the scenario over workers (host groups that no link joins run in separate workers), or lower the rate or the TIME_WAIT`);
  }
}
