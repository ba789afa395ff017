// One large scenario over several workers: hosts that no chain of links joins never
// exchange a segment, so each group (a connected component of the link graph) is a
// shard that runs alone. Random streams are numbered by the scenario's own indices
// (Plan's `stream` fields), so every shard draws what the whole run would, and the
// merged result equals the single-worker one apart from engine.{workers, wallSeconds,
// memoryBytes}. Connections are numbered per group (engine.ts configure), so a rule
// for a given `conn` means in a shard what it means in the whole run; runs that trace
// connections are not split (traces are not merged).

import { WHY_KEYS, type FleetSummary, type ListenCounters, type NatResult, type Result, type StateName, type WhyCounters } from "../result.js";
import type { Plan } from "../scenario.js";
import { hookEpoch, hostGroups, reportedHosts } from "../groups.js";

/** The plan split into independent shards, or undefined when it does not split. */
export function planShards(plan: Plan, maxShards: number): Plan[] | undefined {
  if (maxShards < 2 || plan.trace > 0) return undefined;
  const groups = new Map<string, string[]>();
  for (const [h, root] of hostGroups(plan)) {
    if (!groups.has(root)) groups.set(root, []);
    groups.get(root)!.push(h);
  }
  // Hosts with no workload between them do nothing: leave them with the first shard.
  const busy = [...groups.values()].filter((g) => plan.workloads.some((w) => g.includes(w.from)));
  if (busy.length < 2) return undefined;

  // Deal the groups round-robin into at most maxShards shards, in plan order.
  const shardOf = new Map<string, number>();
  busy.forEach((g, i) => g.forEach((h) => shardOf.set(h, i % maxShards)));
  const count = Math.min(busy.length, maxShards);
  for (const h of plan.hosts) if (!shardOf.has(h.name)) shardOf.set(h.name, 0);
  const epoch = hookEpoch(plan);
  return Array.from({ length: count }, (_, s) => ({
    ...plan,
    ...(epoch !== undefined ? { hookEpoch: epoch } : {}),
    hosts: plan.hosts.filter((h) => shardOf.get(h.name) === s),
    links: plan.links.filter((l) => shardOf.get(l.a) === s),
    workloads: plan.workloads.filter((w) => shardOf.get(w.from) === s),
  }));
}

/** The shards' results as one, hosts in the plan's order. */
export function mergeShards(plan: Plan, shards: Plan[], results: Result[]): Result {
  const first = results[0];
  // A run stopped early (cancelled) has as many samples as its slowest shard.
  const n = Math.min(...results.map((r) => r.series.t.length));
  const sum = (get: (r: Result) => number) => results.reduce((a, r) => a + get(r), 0);
  const addSeries = (get: (r: Result) => number[]) => {
    const out = get(first).slice(0, n);
    for (const r of results.slice(1)) for (let i = 0; i < n; i++) out[i] += get(r)[i];
    return out;
  };
  // A reported host's series: its shard's, or a fleet's sum over the shards holding its hosts.
  const holders = (name: string) => results.filter((r) => Object.hasOwn(r.series.portsInUse, name));
  const hostSeries = (name: string, get: (r: Result) => number[]) => {
    const [one, ...more] = holders(name);
    const out = get(one).slice(0, n);
    for (const r of more) for (let i = 0; i < n; i++) out[i] += get(r)[i];
    return out;
  };
  const reported = reportedHosts(plan).map((r) => r.name);
  const perHost = (get: (r: Result) => Record<string, number[]>) => Object.fromEntries(reported.map((h) => [h, hostSeries(h, (r) => get(r)[h])]));
  const states = Object.fromEntries(Object.keys(first.series.states).map((n) => [n, addSeries((r) => r.series.states[n as StateName])])) as Record<StateName, number[]>;
  const errnos = Object.keys(first.totals.failed) as (keyof Result["totals"]["failed"])[];

  const merged: Result = {
    name: first.name, seed: first.seed, profile: first.profile,
    engine: {
      version: first.engine.version, workers: results.length,
      events: sum((r) => r.engine.events), segmentEvents: sum((r) => r.engine.segmentEvents),
      wallSeconds: Math.max(...results.map((r) => r.engine.wallSeconds)),
      simulatedSeconds: Math.min(...results.map((r) => r.engine.simulatedSeconds)), // the time every shard reached
      memoryBytes: sum((r) => r.engine.memoryBytes),
    },
    totals: {
      attempted: sum((r) => r.totals.attempted), established: sum((r) => r.totals.established),
      completed: sum((r) => r.totals.completed), pending: sum((r) => r.totals.pending),
      failed: Object.fromEntries(errnos.map((k) => [k, sum((r) => r.totals.failed[k])])) as Result["totals"]["failed"],
      segments: {
        sent: sum((r) => r.totals.segments.sent), dropped: sum((r) => r.totals.segments.dropped),
        retransmitted: sum((r) => r.totals.segments.retransmitted), duplicated: sum((r) => r.totals.segments.duplicated),
        pawsRejected: sum((r) => r.totals.segments.pawsRejected),
      },
      timeWaitReused: sum((r) => r.totals.timeWaitReused),
      timeWaitOverflow: sum((r) => r.totals.timeWaitOverflow),
      listen: Object.fromEntries(Object.keys(first.totals.listen).map((k) => [k, sum((r) => r.totals.listen[k as keyof ListenCounters])])) as unknown as ListenCounters,
    },
    peak: Object.fromEntries(Object.entries(states).map(([n, v]) => [n, v.reduce((m, x) => Math.max(m, x), 0)])) as Record<StateName, number>,
    series: {
      t: first.series.t.slice(0, n),
      states,
      byHost: Object.fromEntries(reported.map((h) => [h,
        Object.fromEntries(Object.keys(first.series.states).map((k) => [k, hostSeries(h, (r) => r.series.byHost[h][k as StateName])])) as Record<StateName, number[]>])),
      portsInUse: perHost((r) => r.series.portsInUse),
      udpSockets: perHost((r) => r.series.udpSockets),
      synQueue: perHost((r) => r.series.synQueue),
      acceptQueue: perHost((r) => r.series.acceptQueue),
      failures: addSeries((r) => r.series.failures),
      failuresByErrno: Object.fromEntries(errnos.map((k) => [k, addSeries((r) => r.series.failuresByErrno[k])])) as Result["series"]["failuresByErrno"],
    },
  };
  if (first.totals.why) {
    merged.totals.why = Object.fromEntries(WHY_KEYS.map((k) => [k, sum((r) => r.totals.why?.[k] ?? 0)])) as unknown as WhyCounters;
    merged.totals.why.unwantedHeldSeconds = Math.round(merged.totals.why.unwantedHeldSeconds * 1e6) / 1e6;
  }
  const variants = plan.hosts.filter((h) => h.variants?.length).map((h) => [h.fleet ?? h.name, h.variants!] as const);
  if (plan.why && variants.length) merged.variants = Object.fromEntries(variants);
  const fleets = [...new Set(results.flatMap((r) => Object.keys(r.fleets ?? {})))];
  if (fleets.length) {
    // (In plan order; a fleet whose hosts no link joins may span shards.)
    const order = new Map(reported.map((h, i) => [h, i]));
    fleets.sort((a, b) => order.get(a)! - order.get(b)!);
    const hostOrder = new Map(plan.hosts.map((h, i) => [h.name, i]));
    merged.fleets = Object.fromEntries(fleets.map((f) => {
      const parts = results.map((r) => r.fleets?.[f]).filter((x): x is FleetSummary => x !== undefined);
      const busiest = parts.flatMap((p) => p.busiest).sort((a, b) => b.peakPortsInUse - a.peakPortsInUse || hostOrder.get(a.host)! - hostOrder.get(b.host)!).slice(0, 5);
      return [f, { hosts: parts.reduce((sum, p) => sum + p.hosts, 0), busiest }];
    }));
  }
  // A NAT and the hosts it forwards for are one group: each NAT's books are one shard's.
  const nats = Object.assign({}, ...results.map((r) => r.nats ?? {}));
  if (Object.keys(nats).length) merged.nats = Object.fromEntries(plan.hosts.filter((h) => nats[h.name]).map((h) => [h.name, trimNat(nats[h.name], n)]));
  // The shard that failed, not one it stopped (those say "cancelled").
  const failed = [results.findIndex((r) => r.error && r.error !== "cancelled"), results.findIndex((r) => r.error)].find((i) => i >= 0) ?? -1;
  if (failed >= 0) merged.error = `shard ${failed} (hosts ${shards[failed].hosts.map((h) => h.name).join(", ")}): ${results[failed].error}`;
  return merged;
}

/** A NAT's series cut to the merged run's samples. */
function trimNat(r: NatResult, n: number): NatResult {
  const cut = (o: Record<string, number[]>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.slice(0, n)]));
  return {
    ...r,
    series: {
      entries: r.series.entries.slice(0, n), states: cut(r.series.states) as NatResult["series"]["states"],
      mappings: cut(r.series.mappings), portsInUse: cut(r.series.portsInUse),
      insertFailed: r.series.insertFailed.slice(0, n), tableFull: r.series.tableFull.slice(0, n),
    },
  };
}
