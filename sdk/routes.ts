// Paths through the link graph: a workload's packets go from its host to its
// destination over links, passing only hosts that forward (NAT hosts). The path is the
// one of lowest total latency (the sending directions' latencies), ties broken by fewer
// hops, then by the hosts' names in order; or the scenario gives it with `via`.

/** A destination of a workload and the hosts its packets pass, from the workload's host to it. */
export interface Route { to: string; dstPort: number; path: string[] }

/** A workload's destinations with their paths (one entry without several destinations). */
export function workloadPaths(w: Route & { destinations?: Route[] }): Route[] {
  return w.destinations ?? [{ to: w.to, dstPort: w.dstPort, path: w.path }];
}

/** A link as routes see it: its ends and each direction's latency. */
export interface RouteLink { a: string; b: string; latencyAB: number; latencyBA: number }

/** The link graph, built once per plan: a fleet asks for a path per host. */
export interface RouteGraph { latency: Map<string, number>; next: Map<string, string[]> }
export function routeGraph(links: RouteLink[]): RouteGraph {
  const latency = new Map<string, number>(); // "a>b" -> us
  const next = new Map<string, string[]>();
  for (const l of links) {
    latency.set(`${l.a}>${l.b}`, l.latencyAB); latency.set(`${l.b}>${l.a}`, l.latencyBA);
    if (!next.has(l.a)) next.set(l.a, []);
    if (!next.has(l.b)) next.set(l.b, []);
    next.get(l.a)!.push(l.b); next.get(l.b)!.push(l.a);
  }
  return { latency, next };
}

/**
 * The hosts from `from` to `to`, both included. `known` checks a host name of `via`;
 * `fail` makes the error for a field (scenario.ts's ScenarioError: this module imports nothing).
 */
export function findPath(from: string, to: string, via: string[] | undefined, field: string, graph: RouteGraph,
                         forwards: (host: string) => boolean, known: (field: string, host: string) => string,
                         fail: (field: string, detail: string) => Error): string[] {
  const { latency, next } = graph;
  if (via !== undefined) {
    const path = [from, ...via.map((h, i) => known(`${field}.via.${i}`, h)), to];
    via.forEach((h, i) => {
      if (!forwards(h)) throw fail(`${field}.via.${i}`, `"${h}" does not forward packets: only a host with "kind": "nat" can be on a path`);
    });
    if (new Set(path).size !== path.length) throw fail(`${field}.via`, "passes a host twice");
    for (let i = 1; i < path.length; i++) {
      if (!latency.has(`${path[i - 1]}>${path[i]}`)) {
        throw fail(`${field}.via`, `no link joins "${path[i - 1]}" and "${path[i]}"; add { "between": ["${path[i - 1]}", "${path[i]}"], "latency": "1ms" } to links`);
      }
    }
    return path;
  }
  // Dijkstra over (latency, hops, names): small graphs, a plain scan for the next host.
  type Best = { lat: number; path: string[] };
  const better = (a: Best, b: Best | undefined) => !b || a.lat < b.lat || (a.lat === b.lat && (a.path.length < b.path.length
    || (a.path.length === b.path.length && a.path.join("\u0000") < b.path.join("\u0000"))));
  const best = new Map<string, Best>([[from, { lat: 0, path: [from] }]]);
  const done = new Set<string>();
  while (true) {
    let u: string | undefined;
    for (const [h, b] of best) if (!done.has(h) && (u === undefined || better(b, best.get(u)))) u = h;
    if (u === undefined) break;
    done.add(u);
    if (u === to) return best.get(u)!.path;
    if (u !== from && !forwards(u)) continue; // an endpoint does not pass packets on
    for (const v of next.get(u) ?? []) {
      // An endpoint other than `to` ends every path through it: never a candidate (a NAT
      // joined to a fleet of 1,000 would otherwise make each host's search scan them all).
      if (done.has(v) || (v !== to && !forwards(v))) continue;
      const cand = { lat: best.get(u)!.lat + latency.get(`${u}>${v}`)!, path: [...best.get(u)!.path, v] };
      if (better(cand, best.get(v))) best.set(v, cand);
    }
  }
  throw fail(`${field}.to`, `no link joins "${from}" and "${to}", nor a path through hosts with "kind": "nat"; add { "between": ["${from}", "${to}"], "latency": "1ms" } to links`);
}
