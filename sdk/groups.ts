// Facts about a scenario's hosts and link graph that the engine set-up, the hook host,
// the results and the sharding all need: which hosts links join, the loss hooks' batch
// length, the hosts a result reports (a fleet as one). Kept
// here, importing only the Plan type, so the layers below the worker pools need not import them.

import type { Plan } from "./scenario.js";

/**
 * The epoch of the loss hooks' batches, us: the smallest latency of a hooked direction
 * in the whole scenario (a shard keeps the whole run's), so a hook's decide() calls
 * take the same segments in a shard. Undefined without loss hooks.
 */
export function hookEpoch(plan: Plan): number | undefined {
  if (plan.hookEpoch !== undefined) return plan.hookEpoch;
  const hooked = plan.links.filter((l) => l.loss && !l.loss.kernel);
  return hooked.length ? Math.min(...hooked.map((l) => Math.min(l.latencyAB, l.latencyBA))) : undefined;
}

/** Each host's group (hosts that chains of links join): a name standing for the group, hosts in plan order. */
export function hostGroups(plan: Pick<Plan, "hosts" | "links">): Map<string, string> {
  const parent = new Map(plan.hosts.map((h) => [h.name, h.name]));
  const find = (x: string): string => {
    while (parent.get(x) !== x) x = parent.get(x)!;
    return x;
  };
  for (const l of plan.links) parent.set(find(l.a), find(l.b));
  return new Map(plan.hosts.map((h) => [h.name, find(h.name)]));
}

/**
 * The hosts a result reports, in plan order: each host, except that a fleet's hosts
 * (a host entry with `count`) are reported as one, under the entry's name, their
 * series summed, so a thousand clients make one column, not a thousand.
 */
export function reportedHosts(plan: Pick<Plan, "hosts">): { name: string; members: number[] }[] {
  const out = new Map<string, number[]>();
  plan.hosts.forEach((h, i) => {
    const name = h.fleet ?? h.name;
    if (!out.has(name)) out.set(name, []);
    out.get(name)!.push(i);
  });
  return [...out].map(([name, members]) => ({ name, members }));
}
