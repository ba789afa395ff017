// The one caller of the engine's ABI (assembly/index.ts): loads the WebAssembly
// module, configures an instance from a Plan, runs it in bounded slices and decodes
// the sample and trace buffers. Loading takes bytes, so the same code serves Node
// and browsers; only `loadEngineBytes` knows about the file system.

import { variantBits } from "./variants.js";
import { CT_STATE_COUNT, NatStat, Flag, HostParam, LossKind, PortAllocator, SizeDist, RuleAction, STATE_COUNT, State, Stat, TraceField, WlParam, Arrival, Closer, ERRNO_COUNT } from "../assembly/abi.js";
import type { Plan } from "./scenario.js";
import { workloadPaths } from "./routes.js";
import type { AllocatorKernel, SizeSpec } from "./kernels.js";
import { hostGroups } from "./groups.js";

export interface EngineExports {
  memory: WebAssembly.Memory;
  reset(seedHi: number, seedLo: number, socketCapacity: number): void;
  addHost(stream: number): number;
  setHostParam(h: number, k: number, v: number): void;
  addIp(h: number, addr: number): number;
  addListener(ip: number, port: number, backlog: number): number;
  setListenerLife(l: number, start: number, stop: number, retry: number, reuseAddr: number): void;
  setListenerAccept(l: number, interval: number, entries: number): void;
  setListenerUdp(l: number): void;
  reservePorts(h: number, lo: number, hi: number): void;
  addLink(a: number, b: number, latAB: number, latBA: number, stream: number): number;
  setLoss(dir: number, kind: number, p0: number, p1: number, p2: number, p3: number): void;
  addRule(dir: number, mask: number, value: number, senderState: number, conn: number, nth: number, action: number, delay: number): number;
  setDuplicate(dir: number, p: number, shape: number, a: number, b: number, mask: number, value: number, stream: number): void;
  setWhyBooks(): void;
  whyFinish(): void;
  addNat(h: number, lo: number, hi: number, max: number, stream: number): number;
  addNatAddress(k: number, addr: number): void;
  setNatTakeover(k: number, on: number): void;
  setNatReset(k: number, on: number): void;
  setNatScan(k: number, on: number): void;
  setNatBlock(k: number, h: number, j: number, first: number, n: number): void;
  setNatTimeout(k: number, i: number, us: number): void;
  addRoute(h: number, addr: number, dir: number): void;
  natStat(k: number, i: number): number;
  addWorkload(stream: number): number;
  addDestination(addr: number, port: number, dir: number): number;
  setWorkloadParam(w: number, k: number, v: number): void;
  setRun(duration: number, sample: number, traceFirst: number): void;
  run(maxEvents: number): number;
  // A run split over workers (workers/pdes.ts).
  setRemote(h: number, part: number): void;
  setWindowEnd(us: number): void;
  nextEventAt(): number;
  outboxPtr(part: number): number;
  outboxCount(part: number): number;
  outboxEarliest(): number;
  outboxClear(): void;
  inboxPtr(n: number): number;
  receive(n: number): void;
  keyTrace(): void;
  traceKeysPtr(): number;
  nowUs(): number;
  stat(k: number): number;
  socketSlotBytes(): number;
  sampleRowWords(): number;
  samplesPtr(): number;
  samplesCount(): number;
  drainSamples(): void;
  portsPtr(ip: number): number;
  portsTwPtr(ip: number): number;
  tracePtr(): number;
  checkInvariants(): number;
  invariantDetail(k: number): number;
  setMemoryLimit(bytes: number): void;
  setHookEpoch(us: number): void;
  setWorkloadEpoch(us: number): void;
  workloadWindow(): number;
  arrivalsPtr(n: number): number;
  addArrivals(w: number, n: number): void;
  workloadBatchDone(): void;
  outcomesPtr(): number;
  hookCount(): number;
  hookPtr(): number;
  verdictPtr(): number;
  applyVerdicts(): void;
  traceCount(): number;
  drainTrace(): void;
}

export const STATE_NAMES = Object.keys(State).filter((k) => Number.isNaN(Number(k))) as (keyof typeof State)[];
export const ERRNOS = ["EADDRNOTAVAIL", "ECONNREFUSED", "ETIMEDOUT", "ECONNRESET", "EADDRINUSE"] as const;
export type Errno = (typeof ERRNOS)[number];
if (STATE_NAMES.length !== STATE_COUNT || ERRNOS.length !== ERRNO_COUNT) throw new Error("engine ABI mismatch");

/** The engine needed more memory than its limit (RunOptions.memoryLimit, or WebAssembly's 4 GiB). */
export class EngineMemoryError extends Error {
  constructor() { super("engine memory limit"); this.name = "EngineMemoryError"; }
}

/** What each invariant number of assembly/invariants.ts means, for the error message. */
export const INVARIANTS = [
  "",
  "the hash table holds as many sockets as the live count",
  "each socket is found by its own 4-tuple (one socket per tuple)",
  "live sockets per host and state equal the reported counts",
  "holders of each port equal the port table",
  "TIME_WAIT holders of each port equal the TIME_WAIT port table",
  "ports with a holder equal the ports-in-use count; TCP sockets equal the destination book",
  "TIME_WAIT sockets per host equal the host's TIME_WAIT count",
  "a socket that only a timer can move on has exactly one live timer",
  "a listener's half-open count equals its SYN_RCVD children",
  "each UDP port has at most one holder, as the UDP port table says; UDP sockets per host equal the reported counts",
  "each direction's segments in flight arrive in order, and the first arrival is the earliest queue head",
  "conntrack: each live entry is found by both its tuples (the hash holds two per entry), and each NAT's entries by state equal its counts",
];

/** Runs the engine's invariant checks; throws naming the broken one. */
export function checkEngine(e: EngineExports): void {
  const code = e.checkInvariants();
  if (code === 0) return;
  throw new Error(`engine invariant ${code} broken (${INVARIANTS[code]}): at ${e.invariantDetail(0)}, expected ${e.invariantDetail(1)}, found ${e.invariantDetail(2)}`);
}

const moduleCache = new Map<string, Promise<WebAssembly.Module>>();

/** Compiles (once per flavour) the engine from bytes the caller supplies. */
export function compileEngine(flavour: "release" | "debug", bytes: () => Promise<BufferSource>): Promise<WebAssembly.Module> {
  let m = moduleCache.get(flavour);
  if (!m) {
    m = bytes().then((b) => WebAssembly.compile(b));
    moduleCache.set(flavour, m);
  }
  return m;
}

/** The exports that return an address in the engine's memory. */
const POINTERS = ["samplesPtr", "tracePtr", "portsPtr", "portsTwPtr", "arrivalsPtr", "outcomesPtr", "hookPtr", "verdictPtr"] as const;

export async function instantiateEngine(module: WebAssembly.Module): Promise<EngineExports> {
  let exports: EngineExports | undefined;
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort(msg: number, file: number, line: number, col: number) {
        const text = (p: number) => {
          if (!exports || !p) return "";
          const len = new Uint32Array(exports.memory.buffer, p - 4, 1)[0];
          return String.fromCharCode(...new Uint16Array(exports.memory.buffer, p, len >>> 1));
        };
        if (text(msg) === "engine memory limit") throw new EngineMemoryError();
        // A table's field width or a call out of range: checkEngineFits (limits.ts) refuses such plans first.
        if (/^engine (table full|configuration):/.test(text(msg))) throw new Error(text(msg));
        throw new Error(`engine invariant broken: ${text(msg)} at ${text(file)}:${line}:${col}`);
      },
    },
  });
  // A wasm usize is returned as an i32: an address past 2 GiB (many addresses' port tables) comes back negative.
  const raw = instance.exports as unknown as EngineExports;
  const unsigned = Object.fromEntries(POINTERS.map((k) => [k, (...a: number[]) => (raw[k] as (...a: number[]) => number)(...a) >>> 0]));
  exports = { ...raw, ...unsigned };
  return exports;
}

/** Tcpdump's way of writing flags: F S R P, then "." for ACK. */
export function flagText(fl: number): string {
  if (fl & Flag.UDP) return fl & Flag.RST ? "udp unreachable" : fl & Flag.ACK ? "udp reply" : "udp";
  return (fl & Flag.FIN ? "F" : "") + (fl & Flag.SYN ? "S" : "") + (fl & Flag.RST ? "R" : "")
    + (fl & Flag.PSH ? "P" : "") + (fl & Flag.ACK ? "." : "");
}

function parseFlags(text: string | undefined): [mask: number, value: number] {
  if (text === undefined || text === "any") return [0, 0];
  let v = 0;
  for (const c of text) v |= c === "F" ? Flag.FIN : c === "S" ? Flag.SYN : c === "R" ? Flag.RST : c === "P" ? Flag.PSH : Flag.ACK;
  return [Flag.FIN | Flag.SYN | Flag.RST | Flag.PSH | Flag.ACK | Flag.UDP, v]; // TCP flags never match a datagram
}

export interface Configured {
  dirs: { from: string; to: string }[];
  hostIndex: Map<string, number>;
}

/** The engine's allocator for a kernel (kernels.ts). */
function allocatorKind(k: AllocatorKernel): PortAllocator {
  if (k.model === "double-hash") return PortAllocator.Linux;
  if (k.model === "random") return PortAllocator.Random;
  return k.shared ? PortAllocator.SequentialShared : PortAllocator.Sequential;
}

/** Loads the plan into a freshly reset engine instance: every kernel it names; hooked links wait for their hooks. */
export function configure(e: EngineExports, plan: Plan, socketCapacity = 1 << 14): Configured {
  e.reset(Math.floor(plan.seed / 2 ** 32), plan.seed >>> 0, socketCapacity);
  if (plan.why) e.setWhyBooks();
  const hostIndex = new Map<string, number>();
  const firstIp = new Map<string, number>();
  for (const h of plan.hosts) {
    const hi = e.addHost(h.stream);
    hostIndex.set(h.name, hi);
    const knobs: [HostParam, number][] = [
      [HostParam.TimeWait, h.tcp.timeWait], [HostParam.RtoInit, h.tcp.rtoInit], [HostParam.RtoMin, h.tcp.rtoMin],
      [HostParam.RtoMax, h.tcp.rtoMax], [HostParam.SynRetries, h.tcp.synRetries],
      [HostParam.SynackRetries, h.tcp.synackRetries], [HostParam.Retries2, h.tcp.retries2],
      [HostParam.OrphanRetries, h.tcp.orphanRetries], [HostParam.FinTimeout, h.tcp.finTimeout],
      [HostParam.TwReuse, h.tcp.twReuse], [HostParam.MaxTwBuckets, h.tcp.maxTwBuckets],
      [HostParam.PortLo, h.ports[0]], [HostParam.PortHi, h.ports[1]], [HostParam.Mss, h.tcp.mss],
      [HostParam.PortAllocator, allocatorKind(h.portAllocator.kernel)],
      [HostParam.MaxSynBacklog, h.tcp.maxSynBacklog], [HostParam.Syncookies, h.tcp.syncookies],
      [HostParam.Somaxconn, h.tcp.somaxconn], [HostParam.AbortOnOverflow, h.tcp.abortOnOverflow],
      [HostParam.Hz, h.tcp.hz], [HostParam.SynLinearTimeouts, h.tcp.synLinearTimeouts], [HostParam.TwReuseDelay, h.tcp.twReuseDelay],
      [HostParam.Timestamps, h.tcp.timestamps],
      [HostParam.DelayedAck, h.tcp.delayedAck],
      ...(h.variants ? [[HostParam.Variant, variantBits(h.variants)] as [HostParam, number]] : []),
    ];
    for (const [k, v] of knobs) e.setHostParam(hi, k, v);
    for (const [lo, hiPort] of h.reservedPorts) e.reservePorts(hi, lo, hiPort);
    h.ips.forEach((addr, i) => {
      const ip = e.addIp(hi, addr);
      if (i === 0) firstIp.set(h.name, ip);
      for (const l of h.listen) {
        const li = e.addListener(ip, l.port, l.backlog);
        if (l.protocol === "udp") e.setListenerUdp(li);
        if (l.start || l.stop || l.reuseAddr) e.setListenerLife(li, l.start, l.stop, l.bindRetry, l.reuseAddr ? 1 : 0);
        // Linux's accept queue holds sk_max_ack_backlog + 1 (sk_acceptq_is_full compares with >).
        if (l.acceptInterval > 0) e.setListenerAccept(li, l.acceptInterval, Math.min(l.backlog, h.tcp.somaxconn) + 1);
      }
    });
  }
  const dirs: { from: string; to: string }[] = [];
  const route = new Map<string, number>();
  for (const l of plan.links) {
    const ab = e.addLink(hostIndex.get(l.a)!, hostIndex.get(l.b)!, l.latencyAB, l.latencyBA, l.stream);
    dirs[ab] = { from: l.a, to: l.b };
    dirs[ab + 1] = { from: l.b, to: l.a };
    route.set(`${l.a}>${l.b}`, ab);
    route.set(`${l.b}>${l.a}`, ab + 1);
    // A loss plugin's kernel is an engine setting; a plugin without one is hooked.
    const model = l.loss ? l.loss.kernel ?? "hook" : { model: "none" as const };
    for (const d of [ab, ab + 1]) {
      if (model === "hook") e.setLoss(d, LossKind.Hook, 0, 0, 0, 0);
      else if (model.model === "bernoulli") e.setLoss(d, LossKind.Bernoulli, model.p, 0, 0, 0);
      else if (model.model === "gilbert-elliott") e.setLoss(d, LossKind.GilbertElliott, model.p, model.r, model.k ?? 1, model.h ?? 0);
    }
    if (l.duplicate) {
      const d = l.duplicate;
      const [mask, value] = d.flags === undefined ? [Flag.UDP, 0] : parseFlags(d.flags);
      const shape = d.shape === "fixed" ? 0 : d.shape === "uniform" ? 1 : 2; // net.ts DUP_*
      e.setDuplicate(ab, d.rate, shape, d.a, d.b, mask, value, 2 * l.stream);
      e.setDuplicate(ab + 1, d.rate, shape, d.a, d.b, mask, value, 2 * l.stream + 1);
    }
    if (model !== "hook" && model.model === "rules") {
      const action = model.action === "drop" ? RuleAction.Drop : RuleAction.Duplicate;
      for (const r of model.rules) {
        const [mask, value] = parseFlags(r.flags);
        const from = r.from === undefined ? [ab, ab + 1] : [r.from === l.a ? ab : ab + 1];
        for (const d of from) {
          e.addRule(d, mask, value, r.state === undefined ? -1 : State[r.state], r.conn ?? -1, r.nth ?? 0, action, r.delay ?? 0);
        }
      }
    }
  }
  // NATs after their links (the engine marks the directions into them), each with its public addresses.
  const nats = plan.hosts.filter((h) => h.nat);
  for (const h of nats) {
    const n = h.nat!;
    const k = e.addNat(hostIndex.get(h.name)!, n.ports[0], n.ports[1], n.max, h.stream);
    for (const a of n.addresses) e.addNatAddress(k, a);
    if (!n.takeover) e.setNatTakeover(k, 0);
    if (n.resetUnknown) e.setNatReset(k, 1);
    if (n.portSearch === "whole range") e.setNatScan(k, 1);
    // A shard holds the inside hosts its links join to the NAT, so each block's host is here.
    for (const b of n.blocks ?? []) { const hi = hostIndex.get(b.host); if (hi !== undefined) e.setNatBlock(k, hi, b.address, b.first, n.portsPerHost!); }
    n.timeouts.forEach((us, i) => { if (i > 0) e.setNatTimeout(k, i, us); });
  }
  const hostsByName = new Map(plan.hosts.map((h) => [h.name, h]));
  // Routes: each forwarding host on a workload's path sends toward its destination's addresses over the next link.
  for (const w of plan.workloads) {
    for (const { to, path } of workloadPaths(w)) for (let i = 1; i + 1 < path.length; i++) {
      for (const a of hostsByName.get(to)!.ips) e.addRoute(hostIndex.get(path[i])!, a, route.get(`${path[i]}>${path[i + 1]}`)!);
    }
  }
  // Connections are numbered per client host (the counter of its first workload), the k-th
  // of a group's c-th client host (in plan order) as k x (the group's client hosts) + c:
  // unique in the group, and a host numbers its own alone, so a shard, or a part of a run
  // split over workers, numbers (and draws sizes for) them as the whole run does.
  const group = hostGroups(plan);
  const counter = new Map<string, number>();
  const clients = new Map<string, number>(); // group -> its client hosts
  const place = new Map<string, number>();    // client host -> its place among them
  for (const h of new Set(plan.workloads.map((w) => w.from))) {
    const g = group.get(h)!;
    place.set(h, clients.get(g) ?? 0);
    clients.set(g, place.get(h)! + 1);
  }
  const byName = new Map(plan.hosts.map((h) => [h.name, h])); // (a scan per workload was quadratic in a fleet)
  for (const w of plan.workloads) {
    const wi = e.addWorkload(w.stream);
    if (!counter.has(w.from)) counter.set(w.from, wi);
    const dst = byName.get(w.to)!;
    const params: [WlParam, number][] = [
      [WlParam.SrcHost, hostIndex.get(w.from)!], [WlParam.SrcIp, firstIp.get(w.from)!],
      [WlParam.DstAddr, dst.ips[0]], [WlParam.DstPort, w.dstPort], [WlParam.Dir, route.get(`${w.path[0]}>${w.path[1]}`)!],
      [WlParam.Rate, w.rate], [WlParam.Arrival, w.arrival === "poisson" ? Arrival.Poisson : Arrival.Constant],
      [WlParam.Start, w.start], [WlParam.Stop, w.stop], [WlParam.Count, w.count],
      [WlParam.Closer, w.closer === "client" ? Closer.Client : w.closer === "server" ? Closer.Server : Closer.Both],
      [WlParam.HalfClose, w.halfClose ? 1 : 0], [WlParam.Linger0, w.linger0 ? 1 : 0], [WlParam.LocalPort, w.localPort],
      [WlParam.Clients, w.clients], [WlParam.Think, w.think], [WlParam.Stream, w.stream], [WlParam.Requests, w.requests],
      [WlParam.Backoff, w.backoff], [WlParam.BackoffMax, w.backoffMax],
      [WlParam.Udp, w.model === "udp" ? 1 : 0], [WlParam.UdpTimeout, w.udpTimeout], [WlParam.Hooked, w.hook ? 1 : 0],
      [WlParam.ConnGroup, counter.get(w.from)!], [WlParam.ServerCloseDelay, w.serverCloseDelay],
      [WlParam.ConnStride, clients.get(group.get(w.from)!)!], [WlParam.ConnOffset, place.get(w.from)!],
      // (Sources, Dests and BindPort left at 0 mean one source, one destination, the port at connect().)
      ...(w.source === "round-robin" ? [[WlParam.Sources, byName.get(w.from)!.ips.length] as [WlParam, number]] : []),
      ...(w.portAt === "bind" ? [[WlParam.BindPort, 1] as [WlParam, number]] : []),
      ...(w.hold ? [[WlParam.Hold, w.hold] as [WlParam, number]] : []), // (0 is every parameter's start)
      ...sizeParams(w.request, WlParam.Request, WlParam.ReqDist, WlParam.ReqA, WlParam.ReqB),
      ...sizeParams(w.response, WlParam.Response, WlParam.RespDist, WlParam.RespA, WlParam.RespB),
    ];
    for (const [k, v] of params) e.setWorkloadParam(wi, k, v);
    if (w.destinations) {
      const first = w.destinations.map((d) => e.addDestination(byName.get(d.to)!.ips[0], d.dstPort, route.get(`${d.path[0]}>${d.path[1]}`)!))[0];
      e.setWorkloadParam(wi, WlParam.DstFirst, first);
      e.setWorkloadParam(wi, WlParam.Dests, w.destinations.length);
    }
  }
  e.setRun(plan.duration, plan.sample, plan.trace);
  return { dirs, hostIndex };
}

/** A size as engine parameters: the fixed value, or the distribution and its two numbers. */
function sizeParams(s: SizeSpec, fixed: WlParam, dist: WlParam, a: WlParam, b: WlParam): [WlParam, number][] {
  if (typeof s === "number") return [[fixed, s], [dist, SizeDist.Fixed]];
  if (s.dist === "uniform") return [[dist, SizeDist.Uniform], [a, s.min], [b, s.max]];
  if (s.dist === "exponential") return [[dist, SizeDist.Exponential], [a, s.mean]];
  return [[dist, SizeDist.Lognormal], [a, s.median], [b, s.sigma]];
}

/**
 * Where each field sits in a sample row (assembly/metrics.ts), in u32 words from the row's start:
 *   index | states, STATE_COUNT per host, host-major | ports in use per host | UDP sockets per host
 *   | SYN queue per host | accept queue per host | failures per errno
 *   | per NAT (plan order): entries per CtState, then its NatStat counters | per public address: entries, ports in use
 *   | with NATs, per host: the conntrack entries whose original side came from it
 */
export interface SampleLayout {
  words: number; states: number; ports: number; udp: number; synQueue: number; acceptQueue: number; failures: number;
  /** The first NAT column; a NAT's block is NAT_WORDS words, then each public address has 2, then (with NATs) each host its inside entries. */
  nat: number; pubs: number; inside: number;
}
export const NAT_WORDS = CT_STATE_COUNT + NatStat.COUNT;

/** A plan's NATs and public addresses, for the sample layout. */
export function natShape(plan: Pick<Plan, "hosts">): [nats: number, pubs: number] {
  const nats = plan.hosts.filter((h) => h.nat);
  return [nats.length, nats.reduce((n, h) => n + h.nat!.addresses.length, 0)];
}

export function sampleLayout(nHosts: number, nats = 0, pubs = 0): SampleLayout {
  const states = 1, ports = states + nHosts * STATE_COUNT, udp = ports + nHosts, synQueue = udp + nHosts, acceptQueue = synQueue + nHosts;
  const failures = acceptQueue + nHosts;
  const nat = failures + ERRNO_COUNT, pubsAt = nat + nats * NAT_WORDS, inside = pubsAt + 2 * pubs;
  return { words: inside + (nats > 0 ? nHosts : 0), states, ports, udp, synQueue, acceptQueue, failures, nat, pubs: pubsAt, inside };
}

/** Copies the rows written since the last drain, back to back, and drains the buffer. */
function drainSampleWords(e: EngineExports, layout: SampleLayout): Uint32Array {
  if (e.sampleRowWords() !== layout.words) throw new Error("engine ABI mismatch: sample row size");
  const all = new Uint32Array(e.memory.buffer, e.samplesPtr(), e.samplesCount() * layout.words).slice();
  e.drainSamples();
  return all;
}

/**
 * Every sample row of a run as the engine wrote them: one block of rows per drain, no
 * object per row. A series is a column read down the blocks, so assembling a result is
 * rows x columns indexed reads however many hosts there are (a fleet's row is
 * thousands of words).
 */
export class SampleTable {
  readonly layout: SampleLayout;
  readonly blocks: Uint32Array[] = [];
  rows = 0;

  constructor(nHosts: number, nats = 0, pubs = 0) {
    this.layout = sampleLayout(nHosts, nats, pubs);
  }

  /** Appends the rows written since the last drain and drains the engine's buffer; returns them. */
  drain(e: EngineExports): Uint32Array {
    const block = drainSampleWords(e, this.layout);
    if (block.length) {
      this.blocks.push(block);
      this.rows += block.length / this.layout.words;
    }
    return block;
  }

  /** The word at `offset` of every row, in time order. */
  column(offset: number): number[] {
    const out = new Array<number>(this.rows);
    const words = this.layout.words;
    let r = 0;
    for (const block of this.blocks) for (let i = offset; i < block.length; i += words) out[r++] = block[i];
    return out;
  }

  /** The last row taken, or undefined before the first sample. */
  lastRow(): Uint32Array | undefined {
    const block = this.blocks[this.blocks.length - 1];
    return block?.subarray(block.length - this.layout.words);
  }
}

export interface SampleRow { index: number; states: Uint32Array; ports: Uint32Array; udp: Uint32Array; failures: Uint32Array }

/** Copies the rows written since the last drain and drains the buffer, as one object a row (tests and benches). */
export function readSamples(e: EngineExports, nHosts: number, nats = 0, pubs = 0): SampleRow[] {
  const L = sampleLayout(nHosts, nats, pubs);
  const all = drainSampleWords(e, L);
  const rows: SampleRow[] = [];
  for (let o = 0; o < all.length; o += L.words) {
    rows.push({
      index: all[o],
      states: all.subarray(o + L.states, o + L.ports),
      ports: all.subarray(o + L.ports, o + L.udp),
      udp: all.subarray(o + L.udp, o + L.failures),
      failures: all.subarray(o + L.failures, o + L.failures + ERRNO_COUNT),
    });
  }
  return rows;
}

export interface TraceRecord {
  t: number; conn: number; kind: number; a: number; b: number; where: number; seq: number; ack: number; len: number;
  opts: number; tsval: number; tsecr: number;
  /** With keyTrace: the time and filing number of the event that wrote it (a split run's parts merge by it). */
  key?: [bigint, bigint];
}

export function readTrace(e: EngineExports, keyed = false): TraceRecord[] {
  const n = e.traceCount();
  const keys = keyed ? new BigUint64Array(e.memory.buffer, e.traceKeysPtr(), n * 2) : undefined;
  const view = new DataView(e.memory.buffer, e.tracePtr(), n * TraceField.SIZE);
  const out: TraceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * TraceField.SIZE;
    out.push({
      t: Number(view.getBigUint64(o + TraceField.Time, true)),
      conn: view.getUint32(o + TraceField.Conn, true),
      kind: view.getUint8(o + TraceField.Kind),
      a: view.getUint8(o + TraceField.A),
      b: view.getUint8(o + TraceField.B),
      where: view.getUint16(o + TraceField.Where, true),
      seq: view.getUint32(o + TraceField.Seq, true),
      ack: view.getUint32(o + TraceField.Ack, true),
      len: view.getUint32(o + TraceField.Len, true),
      opts: view.getUint8(o + TraceField.Opts),
      tsval: view.getUint32(o + TraceField.TsVal, true),
      tsecr: view.getUint32(o + TraceField.TsEcr, true),
      ...(keys ? { key: [keys[2 * i], keys[2 * i + 1]] as [bigint, bigint] } : {}),
    });
  }
  e.drainTrace();
  return out;
}

export { Stat };
