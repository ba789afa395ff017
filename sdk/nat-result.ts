// A NAT host's part of the result: its conntrack entries by state, mappings per public
// address, drops, and what it sustains (NatCapacity), read from the NAT columns of the
// sample rows (engine.ts sampleLayout).

import { CT_STATE_COUNT, NatStat } from "../assembly/abi.js";
import { NAT_WORDS, type SampleTable } from "./engine.js";
import type { CtStateName, NatCapacity, NatResult } from "./result.js";
import type { Plan } from "./scenario.js";
import { workloadPaths } from "./routes.js";
import { formatIPv4 } from "./units.js";

/** CtState's names from SYN_SENT on (NONE is never counted). */
export const CT_STATE_NAMES: CtStateName[] = [
  "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
  "UDP_UNREPLIED", "UDP_REPLIED", "UDP_ASSURED",
];
if (CT_STATE_NAMES.length + 1 !== CT_STATE_COUNT) throw new Error("engine ABI mismatch: conntrack states");
/** States whose entry holds its tuple against a new flow (Linux takes over TIME_WAIT and CLOSE, and SYN_SENT2 by its order). */
const HOLDING: CtStateName[] = ["SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT", "CLOSE_WAIT", "LAST_ACK", "UDP_UNREPLIED", "UDP_REPLIED", "UDP_ASSURED"];

export function natResults(plan: Plan, samples: SampleTable, t: number[]): Record<string, NatResult> | undefined {
  const nats = plan.hosts.filter((h) => h.nat);
  if (!nats.length) return undefined;
  const L = samples.layout;
  const out: Record<string, NatResult> = {};
  let pub = 0;
  nats.forEach((h, k) => {
    const n = h.nat!;
    const at = L.nat + k * NAT_WORDS;
    const states = Object.fromEntries(CT_STATE_NAMES.map((name, i) => [name, samples.column(at + i + 1)])) as Record<CtStateName, number[]>;
    const counter = (i: NatStat) => samples.column(at + CT_STATE_COUNT + i);
    const last = (c: number[]) => c.length ? c[c.length - 1] : 0;
    const perInterval = (c: number[]) => c.map((v, r) => v - (r > 0 ? c[r - 1] : 0));
    const entries = new Array<number>(samples.rows).fill(0);
    for (const c of Object.values(states)) c.forEach((v, r) => { entries[r] += v; });
    const mappings: Record<string, number[]> = {};
    const portsInUse: Record<string, number[]> = {};
    for (const a of n.addresses) {
      mappings[formatIPv4(a)] = samples.column(L.pubs + 2 * pub);
      portsInUse[formatIPv4(a)] = samples.column(L.pubs + 2 * pub + 1);
      pub++;
    }
    const created = counter(NatStat.Created);
    const insertFailed = counter(NatStat.InsertFailed);
    const tableFull = counter(NatStat.TableFull);
    const r: NatResult = {
      addresses: n.addresses.map(formatIPv4), ports: n.ports, ...(n.preset ? { preset: n.preset } : {}), ...(n.blocks ? { portsPerHost: n.portsPerHost, blockHosts: n.blocks.length } : {}), max: n.max,
      totals: {
        created: last(created), forwarded: last(counter(NatStat.Forwarded)), insertFailed: last(insertFailed),
        tableFull: last(tableFull), invalid: last(counter(NatStat.Invalid)), takeovers: last(counter(NatStat.Takeovers)),
        resets: last(counter(NatStat.Resets)),
      },
      peak: {
        entries: Math.max(0, ...entries),
        states: Object.fromEntries(CT_STATE_NAMES.map((s) => [s, Math.max(0, ...states[s])])) as Record<CtStateName, number>,
      },
      series: { entries, states, mappings, portsInUse, insertFailed: perInterval(insertFailed), tableFull: perInterval(tableFull) },
      insideHosts: [],
    };
    const perEntry = (sum: NatStat, n: NatStat) => { const c = last(counter(n)); return c > 0 ? last(counter(sum)) / c : 0; };
    // Inside hosts: those whose workloads' paths pass this NAT (a host behind two NATs counts its entries in both).
    const inside = [...new Set(plan.workloads.filter((w) => workloadPaths(w).some((p) => p.path.slice(1, -1).includes(h.name))).map((w) => w.from))];
    r.insideHosts = inside.map((host) => {
      const v = samples.column(L.inside + plan.hosts.findIndex((x) => x.name === host));
      return { host, peak: Math.max(0, ...v), mean: Math.round(1000 * (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0)) / 1000 };
    }).sort((a, b) => b.peak - a.peak || b.mean - a.mean || (a.host < b.host ? -1 : 1)).slice(0, 10);
    const cap = capacity(plan, h.name, r, created, t, perEntry(NatStat.HeldSeconds, NatStat.Holds), perEntry(NatStat.LifeSeconds, NatStat.Lives));
    if (cap) r.capacity = cap;
    out[h.name] = r;
  });
  return out;
}

/**
 * NatCapacity: the mean hold and lifetime of the entries that ended them, or by Little's
 * law from the second half of the samples (entries = rate x time) while none has.
 */
function capacity(plan: Plan, name: string, r: NatResult, created: number[], t: number[], hold: number, life: number): NatCapacity | undefined {
  const n = t.length;
  if (n < 3) return undefined;
  const from = Math.floor((n - 1) / 2), to = n - 1;
  const span = t[to] - t[from];
  const rate = (created[to] - created[from]) / span;
  if (!(rate > 0)) return undefined;
  const mean = (c: number[]) => { let s = 0; for (let i = from + 1; i <= to; i++) s += c[i]; return s / (to - from); };
  const held = HOLDING.reduce((s, k) => s + mean(r.series.states[k]), 0);
  const all = mean(r.series.entries);
  // Destinations whose flows pass this NAT: each has a tuple space of its own.
  const dsts = new Set(plan.workloads.flatMap((w) => workloadPaths(w).filter((p) => p.path.includes(name)).map((p) => `${p.to}:${p.dstPort}`)));
  // With per-host blocks each inside host has its own ports (r.portsPerHost each), on one address.
  const ports = r.portsPerHost ? r.portsPerHost * r.blockHosts! : (r.ports[1] - r.ports[0] + 1) * r.addresses.length;
  const lifetimeSeconds = life > 0 ? life : all / rate;
  // Without takeover an entry holds its tuple its whole life.
  const takeover = plan.hosts.find((h) => h.name === name)!.nat!.takeover;
  const holdSeconds = !takeover ? lifetimeSeconds : hold > 0 ? hold : held / rate;
  // No entry held its tuple at a sample (flows shorter than the sample, their entries then taken over): ports do not bind.
  const portsLimit = holdSeconds > 0 ? ports * Math.max(dsts.size, 1) / holdSeconds : Infinity;
  const tableLimit = lifetimeSeconds > 0 ? r.max / lifetimeSeconds : Infinity;
  const binds = portsLimit > tableLimit ? "table size" : r.portsPerHost ? "ports per inside host" : "ports per destination";
  const round = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);
  return {
    rate: round(rate)!, holdSeconds: round(holdSeconds)!, lifetimeSeconds: round(lifetimeSeconds)!, destinations: Math.max(dsts.size, 1),
    portsLimit: round(portsLimit), tableLimit: round(tableLimit), sustainable: round(Math.min(portsLimit, tableLimit)), binds,
    reached: binds === "table size" ? r.totals.tableFull > 0 : r.totals.insertFailed > 0,
  };
}
