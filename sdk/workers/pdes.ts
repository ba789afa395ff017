// One connected scenario over several workers: conservative parallel discrete-event
// simulation. The hosts are split into parts, one per worker; every worker configures
// the whole scenario (so hosts, directions and workloads have the same indexes
// everywhere) but simulates only its own hosts, the others being remote (engine:
// setRemote). Time advances in windows no longer than the lookahead, the smallest
// latency of a link between two parts: a segment sent in a window arrives after it, so
// each worker runs a window alone, then the segments for other parts cross through
// shared memory (each worker's inbox in one SharedArrayBuffer), and the next window
// starts at the earliest pending event anywhere. The engine fires every host's events in
// the same order whichever hosts share an instance (wheel.ts: filing numbers per host),
// so the merged result is byte-identical to one worker's: each host's columns come from
// its own part, counters add up, and trace records merge by the event that wrote them.
//
// One barrier a window. Before it, each part posts the window's crossing segments (the
// engine keeps an outbox per receiving part: one copy each) and publishes the earliest
// of its own next event and of what it posted; after it, each takes in its inbox and
// starts the next window at the earliest of all. Inboxes and times alternate between
// two halves by the window's parity, so a part still reading one window's half never
// meets the next window's posts.
//
// Shared memory layout: Int32 control words (barrier count, barrier generation, stop
// flag, then per half each part's inbox fill in bytes), per half each part's time (f64),
// then per half the inboxes, INBOX_BYTES each, of engine segment records.

import { STATE_COUNT } from "../../assembly/abi.js";
import type { EngineExports, SampleLayout, TraceRecord } from "../engine.js";
import { estimateEvents, type Plan } from "../scenario.js";

/** A worker's part of a split run, as the pool hands it over (structured-cloneable; the buffer is shared). */
export interface Part {
  index: number;
  parts: number;
  /** The part simulating each host, by plan index. */
  owner: number[];
  /** The window length, us: the smallest latency of a link between two parts. */
  lookahead: number;
  shared: SharedArrayBuffer;
}

/** The most parts (the engine keeps an outbox for each). */
export const MAX_PARTS = 64;
const COUNT = 0, GENERATION = 1, STOP = 2, FILL = 4;
const CONTROL_WORDS = FILL + 2 * MAX_PARTS;
const TIMES = CONTROL_WORDS * 4;
const SPINS = 20_000;
/** An engine segment record (assembly/net.ts SG_SIZE), as it crosses. */
const RECORD = 64;
/** Records of one window's crossing traffic a part's inbox holds. */
export const INBOX_RECORDS = 1 << 16;
const INBOX_BYTES = INBOX_RECORDS * RECORD;

/**
 * The split of a connected plan over at most `maxParts` workers, or undefined when it
 * does not split: one busy host, plugin hooks (a plugin's state lives in one thread),
 * "why" books (old duplicates, variants: the count of connections never closed looks
 * each socket's peer up in its own instance), or a link of no latency between parts
 * (no window would be safe).
 */
export function planParts(plan: Plan, maxParts: number): Omit<Part, "index" | "shared"> | undefined {
  const parts = Math.min(maxParts, MAX_PARTS);
  if (parts < 2 || plan.why) return undefined;
  if (plan.links.some((l) => l.loss && !l.loss.kernel) || plan.workloads.some((w) => w.hook)) return undefined;
  // Each host's load: the connections a second that pass through it.
  const index = new Map(plan.hosts.map((h, i) => [h.name, i]));
  const load = new Array<number>(plan.hosts.length).fill(0);
  for (const w of plan.workloads) {
    const rate = w.rate > 0 ? w.rate : w.clients * 1e6 / Math.max(w.think, 1000);
    const paths = [w.path, ...(w.destinations ?? []).map((d) => d.path)];
    for (const path of paths) for (const h of path) load[index.get(h)!] += rate / paths.length;
  }
  const busy = load.filter((x) => x > 0).length;
  if (busy < 2) return undefined;
  // Hosts joined by the shortest links go together while a group stays within a fair
  // share of the load (with a little slack): the links left between groups are the
  // longest, and the longer the window, the fewer barriers. Then the groups, largest
  // first, each to the least loaded part.
  const share = load.reduce((a, b) => a + b, 0) / Math.min(parts, busy) * 1.05;
  const root = plan.hosts.map((_, i) => i);
  const groupLoad = [...load];
  const find = (x: number): number => { while (root[x] !== x) x = root[x] = root[root[x]]; return x; };
  const links = plan.links.map((l) => [Math.min(l.latencyAB, l.latencyBA), index.get(l.a)!, index.get(l.b)!] as const).sort((x, y) => x[0] - y[0]);
  for (const [, a, b] of links) {
    const ra = find(a), rb = find(b);
    if (ra === rb || groupLoad[ra] + groupLoad[rb] > share) continue;
    root[rb] = ra;
    groupLoad[ra] += groupLoad[rb];
  }
  const groups = [...new Set(root.map((_, i) => find(i)))].sort((x, y) => groupLoad[y] - groupLoad[x] || x - y);
  const partLoad = new Array<number>(parts).fill(0);
  const partOf = new Map<number, number>();
  for (const g of groups) {
    const p = partLoad.indexOf(Math.min(...partLoad));
    partOf.set(g, p);
    partLoad[p] += groupLoad[g];
  }
  const owner = plan.hosts.map((_, i) => partOf.get(find(i))!);
  const used = [...new Set(owner)].sort((a, b) => a - b);
  if (used.length < 2) return undefined;
  const renumber = new Map(used.map((p, i) => [p, i]));
  const final = owner.map((p) => renumber.get(p)!);
  let lookahead = Infinity;
  for (const l of plan.links) {
    if (final[index.get(l.a)!] !== final[index.get(l.b)!]) lookahead = Math.min(lookahead, l.latencyAB, l.latencyBA);
  }
  if (!(lookahead >= 1)) return undefined;
  return { parts: used.length, owner: final, lookahead: lookahead === Infinity ? plan.duration : lookahead };
}

/** Estimated events past which a connected scenario is worth splitting (a second or two on one core). */
export const SPLIT_EVENTS = 1e7;

/** Estimated events a window must hold on average for a split to pay (a window costs about 15 us, bench/pdes.mjs). */
export const WINDOW_EVENTS = 500;

/**
 * planParts, for a plan of more estimated events than `minEvents` whose windows would
 * hold WINDOW_EVENTS each on average (0: whenever it splits), where shared memory is to
 * be had (a browser page must be cross-origin isolated: COOP and COEP headers).
 */
export function splitFor(plan: Plan, maxParts: number, minEvents = SPLIT_EVENTS): Omit<Part, "index" | "shared"> | undefined {
  if (typeof SharedArrayBuffer === "undefined" || (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === false) return undefined;
  const events = estimateEvents(plan);
  if (events <= minEvents) return undefined;
  const split = planParts(plan, maxParts);
  if (split && minEvents > 0 && events / (plan.duration / split.lookahead) < WINDOW_EVENTS) return undefined; // windows too short for their work
  return split;
}

export function sharedFor(parts: number): SharedArrayBuffer {
  return new SharedArrayBuffer(TIMES + 2 * parts * 8 + 2 * parts * INBOX_BYTES);
}

/** Stops every part at its next window (a worker died, or the run was cancelled). */
export function stopParts(shared: SharedArrayBuffer): void {
  const control = new Int32Array(shared, 0, CONTROL_WORDS);
  Atomics.store(control, STOP, 1);
  Atomics.notify(control, GENERATION);
}

/** A part's failure or cancellation, seen by the others at their next window: they stop too. */
export class PartStopped extends Error {
  constructor() { super("cancelled"); }
}

/**
 * A worker's side of the windows (run.ts simulate drives it): marks the remote hosts,
 * and between windows hands the segments for other parts over and takes its own.
 */
export class PartWindows {
  private readonly control: Int32Array;
  private readonly times: Float64Array;
  private readonly bytes: Uint8Array;
  private lastBeat = 0;
  /** Windows run, and segments this part sent to others. */
  windows = 0;
  crossed = 0;

  constructor(private readonly part: Part, private readonly plan: Plan, private readonly heartbeat?: () => void) {
    this.control = new Int32Array(part.shared, 0, CONTROL_WORDS);
    this.times = new Float64Array(part.shared, TIMES, 2 * part.parts);
    this.bytes = new Uint8Array(part.shared);
  }

  /** After configure: the other parts' hosts are remote; trace records keep their keys; the first window. */
  start(e: EngineExports): void {
    const { owner, index } = this.part;
    this.plan.hosts.forEach((_, h) => { if (owner[h] !== index) e.setRemote(h, owner[h]); });
    if (this.plan.trace > 0) e.keyTrace();
    this.exchange(e);
  }

  /** Whether host h (plan index) is this part's. */
  owns(h: number): boolean { return this.part.owner[h] === this.part.index; }

  /** The other parts' hosts' columns of a block of sample rows, zeroed: their listeners are bound here too, but they live elsewhere. */
  ownColumns(block: Uint32Array, L: SampleLayout): void {
    const hosts = this.plan.hosts.length;
    for (let h = 0; h < hosts; h++) {
      if (this.owns(h)) continue;
      for (let o = 0; o < block.length; o += L.words) {
        block.fill(0, o + L.states + h * STATE_COUNT, o + L.states + (h + 1) * STATE_COUNT);
        block[o + L.ports + h] = 0; block[o + L.udp + h] = 0; block[o + L.synQueue + h] = 0; block[o + L.acceptQueue + h] = 0;
      }
    }
  }

  /** A window ended (RunStatus.Window): the crossing segments change hands, and the next window is set. */
  exchange(e: EngineExports): void {
    const { index, parts, lookahead } = this.part;
    const half = this.windows & 1;
    for (let p = 0; p < parts; p++) {
      const n = p === index ? 0 : e.outboxCount(p);
      if (n === 0) continue;
      const at = Atomics.add(this.control, FILL + half * MAX_PARTS + p, n * RECORD);
      if (at + n * RECORD > INBOX_BYTES) {
        this.stop();
        throw new Error(`more than ${INBOX_RECORDS.toLocaleString("en-US")} segments crossed to worker ${p} in one window of ${lookahead} us (the smallest latency between the parts): run it on fewer workers`);
      }
      this.bytes.set(new Uint8Array(e.memory.buffer, e.outboxPtr(p), n * RECORD), this.inbox(half, p) + at);
      this.crossed += n;
    }
    this.times[half * parts + index] = Math.min(e.nextEventAt(), e.outboxEarliest());
    e.outboxClear();
    this.windows++;
    this.barrier();
    const fill = FILL + half * MAX_PARTS + index;
    const got = Atomics.load(this.control, fill) / RECORD;
    if (got > 0) {
      const at = e.inboxPtr(got); // (first: making room may grow the memory, detaching its old buffer)
      new Uint8Array(e.memory.buffer, at, got * RECORD).set(this.bytes.subarray(this.inbox(half, index), this.inbox(half, index) + got * RECORD));
      e.receive(got);
      Atomics.store(this.control, fill, 0);
    }
    let next = Infinity;
    for (let p = 0; p < parts; p++) next = Math.min(next, this.times[half * parts + p]);
    // Past the end, the window is the rest of the run (the engine runs to its end).
    e.setWindowEnd(Math.min(next + lookahead, this.plan.duration));
  }

  /** Tells the other parts to stop (this one failed or was cancelled). */
  stop(): void { stopParts(this.part.shared); }

  private inbox(half: number, p: number): number { return TIMES + 2 * this.part.parts * 8 + (half * this.part.parts + p) * INBOX_BYTES; }

  /** Waits for every part; throws PartStopped when one stopped. */
  private barrier(): void {
    const c = this.control;
    const g = Atomics.load(c, GENERATION);
    if (Atomics.load(c, STOP)) throw new PartStopped();
    if (Atomics.add(c, COUNT, 1) === this.part.parts - 1) {
      Atomics.store(c, COUNT, 0);
      Atomics.add(c, GENERATION, 1);
      Atomics.notify(c, GENERATION);
      return;
    }
    // A window is short: spin a little before sleeping (a sleeping thread takes tens of us to wake).
    for (let i = 0; i < SPINS && Atomics.load(c, GENERATION) === g; i++);
    while (Atomics.load(c, GENERATION) === g) {
      if (Atomics.load(c, STOP)) throw new PartStopped();
      Atomics.wait(c, GENERATION, g, 250);
      const now = Date.now();
      if (now - this.lastBeat > 1000) { this.lastBeat = now; this.heartbeat?.(); }
    }
  }
}

/** What a part's worker sends back: its sample rows (its own hosts' columns), counters, trace records with their keys. */
export interface PartResult {
  rows: Uint32Array;
  stats: number[];
  windows: number;
  crossed: number;
  records: TraceRecord[];
  dirs: { from: string; to: string }[];
  wallSeconds: number;
  simulatedUs: number;
  error?: string;
}

/** The parts' trace records in the order one engine writes them: by the time and filing number of the event that wrote each. */
export function mergeRecords(parts: TraceRecord[][]): TraceRecord[] {
  const all = parts.flat();
  const key = (r: TraceRecord) => r.key!;
  return all.sort((a, b) => {
    const ka = key(a), kb = key(b);
    return ka[0] < kb[0] ? -1 : ka[0] > kb[0] ? 1 : ka[1] < kb[1] ? -1 : ka[1] > kb[1] ? 1 : 0;
  }); // (stable: one event's records, all in one part, keep their order)
}

