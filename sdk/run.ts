// runScenario: scenario in, Result out, in this thread. Validates, configures one
// engine instance, runs it in slices (V8 optimises a WASM function only between
// calls, and slices are where progress and cancellation happen), and assembles the
// result from the samples, counters and trace records the engine wrote.

import { ERRNO_COUNT, Flag, RunStatus, STATE_COUNT, State, Stat } from "../assembly/abi.js";
import { checkEngineFits, OPEN_CONNECTION_BYTES, TIME_WAIT_BYTES } from "./limits.js";
import { hostPlugins } from "./plugin-host.js";
import { checkRunOptions } from "./options.js";
import { loadPlugins } from "./plugin-loader.js";
import { PluginError, type Plugin } from "./plugins.js";
import {
  checkEngine, compileEngine, configure, natShape, EngineMemoryError, ERRNOS, flagText, instantiateEngine, readTrace, SampleTable, STATE_NAMES,
  type EngineExports, type SampleLayout, type TraceRecord,
} from "./engine.js";
import type { FleetSummary, Result, StateName, Trace, TraceSegment } from "./result.js";
import { planScenario, ScenarioError, type Plan, type Scenario } from "./scenario.js";
import { formatIPv4 } from "./units.js";
import { hostGroups, reportedHosts } from "./groups.js";
import { natResults } from "./nat-result.js";

export const VERSION = "0.1.0";

export interface Progress {
  /** Simulated time reached, seconds. */
  t: number;
  duration: number;
  events: number;
  /** The samples taken since the previous report, in time order (live charts draw these). */
  samples: SamplePoint[];
}

/** One sample as it is taken: the counts of every state (all hosts), ports in use per host, failures in its interval. */
export interface SamplePoint {
  t: number;
  states: Record<StateName, number>;
  portsInUse: Record<string, number>;
  failures: number;
}

/** Every field is checked before anything runs (options.ts): a bad one is one ScenarioError line naming it. */
export interface RunOptions {
  /** Overrides the scenario's seed: a whole number, 0 to 2^53-1. */
  seed?: number;
  /** Trace the first N connections (overrides the scenario's `trace`), 0 to 2^32-1. */
  trace?: number;
  /** Engine build: "debug" checks invariants with assertions (slower). */
  flavour?: "release" | "debug";
  /** Events per engine call; progress is reported between calls. */
  sliceEvents?: number;
  onProgress?: (p: Progress) => void;
  /**
   * Called after every slice: a liveness beat (worker pools), with the slice's raw
   * sample rows and the engine's counters (by Stat), which a pool keeps so that a
   * worker that dies still leaves its samples (resultFromRows).
   */
  onSlice?: (rows: Uint32Array, stat: (k: Stat) => number) => void;
  signal?: AbortSignal;
  /** Supplies the engine binary; defaults to build/engine.wasm beside the package. */
  engineBytes?: (flavour: "release" | "debug") => Promise<BufferSource>;
  /** An engine already compiled (a worker receives it from the main thread); overrides engineBytes. */
  engineModule?: WebAssembly.Module;
  /** Plugin objects a scenario names (`"loss": { "plugin": "<name>", ... }`); modules named by path load themselves. */
  plugins?: Plugin[];
  /** Milliseconds an async plugin hook may take per batch (default 10,000; in each worker of a sharded run too). */
  hookTimeout?: number;
  /** Check the engine's invariants after every slice (tests; a full scan of its tables each time). */
  checkInvariants?: boolean;
  /** Bytes of memory the engine may grow to (1 MiB to 4 GiB; each worker's engine in a sharded run); past it the run stops with the samples so far. Default: 4 GiB. */
  memoryLimit?: number;
  /**
   * Worker threads (Node) for a scenario that splits into independent host groups:
   * each group runs in its own worker and the results are merged (equal to one
   * worker's, engine timings aside). A scenario that does not split runs here.
   */
  workers?: number;
  /** The directory relative plugin paths in the scenario are resolved against (the scenario file's; default: the working directory). */
  baseDir?: string;
}

/** A worker's part of a run split over workers (workers/pdes.ts PartWindows): how simulate() hands segments over between windows. */
export interface Windows {
  start(e: EngineExports): void;
  exchange(e: EngineExports): void;
  ownColumns(block: Uint32Array, layout: SampleLayout): void;
  stop(): void;
}

export async function defaultEngineBytes(flavour: "release" | "debug"): Promise<BufferSource> {
  const url = new URL(`../build/engine${flavour === "debug" ? ".debug" : ""}.wasm`, import.meta.url);
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return readFile(url);
  }
  return (await fetch(url)).arrayBuffer();
}

export async function runScenario(scenario: Scenario | unknown, options: RunOptions = {}): Promise<Result> {
  checkRunOptions(options);
  const plugins = await loadPlugins(scenario, options.plugins, options.baseDir);
  const plan = planScenario(scenario, { seed: options.seed, trace: options.trace, plugins });
  if ((options.workers ?? 1) > 1 && (options.flavour ?? "release") === "release") {
    const { planShards } = await import("./workers/shard.js");
    const { splitFor } = await import("./workers/pdes.js");
    if (planShards(plan, options.workers!) || splitFor(plan, options.workers!)) {
      const { WorkerPool } = await import("./workers/pool.js");
      const { runOnPool } = await import("./workers/parallel.js");
      const pool = new WorkerPool({ workers: options.workers });
      try {
        const { onProgress, signal, sliceEvents, memoryLimit, hookTimeout } = options;
        return await runOnPool(plan, pool, { onProgress, signal, sliceEvents, memoryLimit, hookTimeout });
      } finally {
        await pool.close();
      }
    }
  }
  return runPlan(plan, options);
}

export async function runPlan(plan: Plan, options: RunOptions = {}): Promise<Result> {
  checkRunOptions(options);
  const sim = await simulate(plan, options);
  return assemble(sim.e, plan, sim.samples, sim.records, sim.dirs, sim.wallSeconds, sim.error, sim.simulatedUs);
}

/** What a run leaves: the engine instance (its tables readable), the samples and trace records. */
export interface Simulation {
  e: EngineExports;
  samples: SampleTable;
  records: TraceRecord[];
  dirs: { from: string; to: string }[];
  wallSeconds: number;
  /** The simulated time reached: the duration, or less when the run stopped early. */
  simulatedUs: number;
  error?: string;
}

/** Runs a plan in slices: plugins hosted, progress reported, cancellation and failures caught. */
export async function simulate(plan: Plan, options: RunOptions & { windows?: Windows } = {}): Promise<Simulation> {
  checkEngineFits(plan, options.memoryLimit);
  const flavour = options.flavour ?? "release";
  const module = options.engineModule ?? await compileEngine(flavour, () => (options.engineBytes ?? defaultEngineBytes)(flavour));
  const e = await instantiateEngine(module);
  const started = performance.now();
  let host;
  try {
    host = await hostPlugins(plan, options.plugins && new Map(options.plugins.map((p) => [p.name, p])), options.hookTimeout ?? 10_000);
  } catch (err) {
    if (err instanceof PluginError) throw new ScenarioError("scenario.links", err.message);
    throw err;
  }
  const { dirs } = configure(e, plan);
  host?.attach(e);
  if (options.memoryLimit) e.setMemoryLimit(options.memoryLimit);
  const windows = options.windows;
  let lastNow = 0;
  const hostNames = plan.hosts.map((h) => h.name);
  const samples = new SampleTable(hostNames.length, ...natShape(plan));
  const reported = reportedHosts(plan);
  const records: TraceRecord[] = [];
  const slice = options.sliceEvents ?? 1_000_000;
  let error: string | undefined;
  let sliceStart = 0;
  let movedAt = 0, eventsThen = 0; // the clock as last seen moving, and the events by then
  let first = true;
  while (true) {
    let more: number;
    try {
      if (first && windows) windows.start(e);
      first = false;
      more = e.run(Math.max(1, slice - (e.stat(Stat.Events) - sliceStart)));
      if (more === RunStatus.Window) {
        windows!.exchange(e); // the other parts' segments for this one's hosts, and the next window
        if (e.stat(Stat.Events) - sliceStart < slice) continue;
        more = RunStatus.More;
      }
      if (more === RunStatus.HookBatch || more === RunStatus.WorkloadBatch) {
        await host!.serve(e, more); // a plugin's batch, not the end of a slice
        if (e.stat(Stat.Events) - sliceStart < slice) continue;
        more = RunStatus.More;
      }
      if (e.nowUs() < lastNow) throw new Error(`engine invariant broken: time went back from ${lastNow} to ${e.nowUs()} us`);
      lastNow = e.nowUs();
      if (lastNow > movedAt) { movedAt = lastNow; eventsThen = e.stat(Stat.Events); }
      else if (e.stat(Stat.Events) - eventsThen > STALL.events + STALL.perSocket * e.stat(Stat.LiveSockets)) throw new Error(stalled(e, movedAt, eventsThen));
      if (options.checkInvariants) checkEngine(e);
    } catch (err) {
      error = engineFailure(err, e);
      windows?.stop();
      more = 0;
    }
    const fresh = samples.drain(e);
    windows?.ownColumns(fresh, samples.layout);
    if (plan.trace > 0) for (const rec of readTrace(e, windows !== undefined)) records.push(rec);
    options.onProgress?.({
      t: e.nowUs() / 1e6, duration: plan.duration / 1e6, events: e.stat(Stat.Events),
      samples: samplePoints(fresh, samples.layout, plan, reported),
    });
    sliceStart = e.stat(Stat.Events);
    if (!more) break;
    if (options.signal?.aborted) { error = "cancelled"; windows?.stop(); break; }
    // Let the caller's UI breathe, and a cancel message reach a worker.
    options.onSlice?.(fresh, (k) => e.stat(k));
    if (options.onProgress || options.onSlice || options.signal) await new Promise((r) => setTimeout(r, 0));
  }
  if (plan.why && !error) e.whyFinish(); // what the run leaves behind
  const simulatedUs = error ? Math.min(plan.duration, e.nowUs()) : plan.duration;
  return { e, samples, records, dirs, wallSeconds: (performance.now() - started) / 1000, simulatedUs, error };
}

/** A run split over workers, from its parts' merged sample rows, counters (by Stat) and trace records (workers/pdes.ts). */
export function resultFromParts(plan: Plan, rows: Uint32Array, stats: number[], records: TraceRecord[], dirs: { from: string; to: string }[],
                                wallSeconds: number, error: string | undefined, simulatedUs: number): Result {
  return assemble({ stat: (k: Stat) => stats[k] ?? 0 }, plan, sampleTableOf(plan, [rows]), records, dirs, wallSeconds, error, simulatedUs);
}

function sampleTableOf(plan: Plan, blocks: Uint32Array[]): SampleTable {
  const samples = new SampleTable(plan.hosts.length, ...natShape(plan));
  for (const b of blocks) { samples.blocks.push(b); samples.rows += b.length / samples.layout.words; }
  return samples;
}

/** A result from the sample rows and counters (by Stat) a run reported before its worker died; no traces. */
export function resultFromRows(plan: Plan, blocks: Uint32Array[], stats: number[], error: string): Result {
  const samples = sampleTableOf(plan, blocks);
  // The clock of a dead worker is lost: its last sample is the time it is known to have reached.
  const last = samples.rows ? samples.column(0)[samples.rows - 1] : 0;
  return assemble({ stat: (k: Stat) => stats[k] ?? 0 }, plan, samples, [], [], 0, error, Math.round(sampleTime(last, plan) * 1e6));
}

function assemble(e: Pick<EngineExports, "stat">, plan: Plan, samples: SampleTable, records: TraceRecord[],
                  dirs: { from: string; to: string }[], wallSeconds: number, error: string | undefined, simulatedUs: number): Result {
  const hostNames = plan.hosts.map((h) => h.name);
  const reported = reportedHosts(plan);
  const st = (k: Stat) => e.stat(k);
  const failed = Object.fromEntries(ERRNOS.map((n, i) => [n, st(Stat.EADDRNOTAVAIL + i)])) as Result["totals"]["failed"];
  // Each series is one column of the sample table, read by index; the objects keyed by
  // host and state are built once around them (keyed pushes per sample were
  // megamorphic lookups, most of the time outside the engine with a thousand hosts).
  const L = samples.layout;
  // A fleet's column is its hosts' sum.
  const column = (members: number[], offset: (hi: number) => number) => members.length === 1
    ? samples.column(offset(members[0])) : sumColumns(members.map((hi) => samples.column(offset(hi))), samples.rows);
  const byHost = reported.map((r) => STATE_NAMES.map((_, s) => column(r.members, (hi) => L.states + hi * STATE_COUNT + s)));
  const states = STATE_NAMES.map((_, s) => sumColumns(byHost.map((perState) => perState[s]), samples.rows));
  const perHost = (offset: number) => Object.fromEntries(reported.map((r) => [r.name, column(r.members, (hi) => offset + hi)]));
  const failuresByErrno = ERRNOS.map((_, i) => samples.column(L.failures + i));
  const byState = (columns: number[][]) => Object.fromEntries(STATE_NAMES.map((n, s) => [n, columns[s]])) as Record<StateName, number[]>;
  const series: Result["series"] = {
    t: samples.column(0).map((index) => sampleTime(index, plan)),
    states: byState(states),
    byHost: Object.fromEntries(reported.map((r, i) => [r.name, byState(byHost[i])])),
    portsInUse: perHost(L.ports),
    udpSockets: perHost(L.udp),
    synQueue: perHost(L.synQueue),
    acceptQueue: perHost(L.acceptQueue),
    failures: sumColumns(failuresByErrno, samples.rows),
    failuresByErrno: Object.fromEntries(ERRNOS.map((n, i) => [n, failuresByErrno[i]])) as Result["series"]["failuresByErrno"],
  };
  const peak = Object.fromEntries(STATE_NAMES.map((n) => [n, series.states[n].reduce((m, v) => Math.max(m, v), 0)])) as Record<StateName, number>;
  const attempted = st(Stat.Attempted);
  const result: Result = {
    name: plan.name,
    seed: plan.seed,
    profile: plan.profile,
    engine: {
      version: VERSION, workers: 1, events: st(Stat.Events), segmentEvents: st(Stat.SegmentEvents),
      wallSeconds: round6(wallSeconds), simulatedSeconds: round6(simulatedUs / 1e6), memoryBytes: st(Stat.MemoryBytes),
    },
    totals: {
      attempted, established: st(Stat.Established), completed: st(Stat.Completed),
      pending: attempted - st(Stat.Established) - st(Stat.ConnectFailed),
      failed,
      segments: {
        sent: st(Stat.SegSent), dropped: st(Stat.SegDropped), retransmitted: st(Stat.SegRetransmitted), duplicated: st(Stat.SegDuplicated),
        pawsRejected: st(Stat.PawsRejected),
      },
      timeWaitReused: st(Stat.TwReused),
      timeWaitOverflow: st(Stat.TwOverflow),
      listen: {
        ListenOverflows: st(Stat.ListenOverflows), ListenDrops: st(Stat.ListenDrops), SyncookiesSent: st(Stat.SyncookiesSent),
        SyncookiesRecv: st(Stat.SyncookiesRecv), SyncookiesFailed: st(Stat.SyncookiesFailed),
      },
    },
    peak,
    series,
  };
  if (plan.why) {
    result.totals.why = {
      unwanted: st(Stat.UnwantedConns), unwantedHeldSeconds: round6(st(Stat.UnwantedHeldUs) / 1e6), falselyEstablished: st(Stat.FalselyEstablished),
      deadlocks: st(Stat.Deadlocks), staleAccepted: st(Stat.StaleAccepted), lastAckFinRetries: st(Stat.LastAckRetries),
      passiveResets: st(Stat.PassiveResets), closedEarly: st(Stat.ClosedEarly), neverClosed: st(Stat.NeverClosed),
    };
    const variants = plan.hosts.filter((h) => h.variants?.length).map((h) => [h.fleet ?? h.name, h.variants!] as const);
    if (variants.length) result.variants = Object.fromEntries(variants);
  }
  const fleets = fleetSummaries(plan, reported, (hi) => samples.column(L.ports + hi).reduce((m, v) => Math.max(m, v), 0));
  if (fleets) result.fleets = fleets;
  const nats = natResults(plan, samples, series.t);
  if (nats) result.nats = nats;
  if (plan.trace > 0) result.traces = buildTraces(records, hostNames, dirs, plan);
  if (error) result.error = error;
  return result;
}

/** The fleets' summaries (undefined without fleets): how many hosts, the busiest by peak ports in use. */
export function fleetSummaries(plan: Plan, reported: { name: string; members: number[] }[], peakPorts: (hi: number) => number): Record<string, FleetSummary> | undefined {
  const fleets = reported.filter((r) => plan.hosts[r.members[0]].fleet !== undefined);
  if (!fleets.length) return undefined;
  return Object.fromEntries(fleets.map((r) => [r.name, {
    hosts: r.members.length,
    busiest: busiestHosts(r.members.map((hi) => ({ host: plan.hosts[hi].name, peakPortsInUse: peakPorts(hi) }))),
  }]));
}

/** The five hosts with the highest peak ports in use, highest first, ties in the order given. */
export function busiestHosts(hosts: FleetSummary["busiest"]): FleetSummary["busiest"] {
  return hosts.map((h, i) => [h, i] as const).sort((a, b) => b[0].peakPortsInUse - a[0].peakPortsInUse || a[1] - b[1]).slice(0, 5).map(([h]) => h);
}

/**
 * A run whose simulated clock stops moving is stuck in a loop at one instant (something
 * retried there forever) and would never end: past this many events at one microsecond
 * it is ended with an error. No run does that much at one time: a socket has at most a
 * window of segments each way and one timer due, far under `perSocket` events, and
 * `events` leaves room for every arrival a workload can file at one instant.
 */
export const STALL = { events: 10_000_000, perSocket: 100 };

function stalled(e: EngineExports, at: number, before: number): string {
  return `simulated time stopped moving at t=${round6(at / 1e6)}s: ${(e.stat(Stat.Events) - before).toLocaleString("en-US")} events without the clock moving on (something in the scenario repeats at one instant forever); the samples so far are kept`;
}

/** One line for why the engine stopped. */
function engineFailure(err: unknown, e: EngineExports): string {
  const at = `at t=${round6(e.nowUs() / 1e6)}s`;
  if (err instanceof PluginError) return `${err.message}; the samples so far are kept`;
  // How far it got and what each connection costs (limits.ts), so the reader can size the run or split it.
  const held = `It held ${e.stat(Stat.LiveSockets).toLocaleString("en-US")} live sockets; a connection takes about ${TIME_WAIT_BYTES} B in TIME_WAIT and ${OPEN_CONNECTION_BYTES} B open`;
  const way = "fewer live connections (a lower rate or a shorter TIME_WAIT) need less, or split the scenario over workers";
  if (err instanceof EngineMemoryError) {
    return `the engine reached its memory limit (${(e.stat(Stat.MemoryBytes) / 2 ** 20).toFixed(0)} MB) ${at}; the samples so far are kept. ${held}: raise memoryLimit; ${way}`;
  }
  if (err instanceof WebAssembly.RuntimeError && /unreachable/.test(err.message)) {
    return `the engine ran out of WebAssembly memory (4 GiB) ${at}; the samples so far are kept. ${held}: ${way}`;
  }
  return (err as Error).message;
}

/** A sample row's time, seconds: its grid time, or the end for the last row when the end is off the grid (index.ts nextSampleAt). */
function sampleTime(index: number, plan: Plan): number {
  return round6(Math.min(index * plan.sample, plan.duration) / 1e6);
}

/** Row by row sums of columns of equal length (the columns in order, as the sums were always taken). */
function sumColumns(columns: number[][], rows: number): number[] {
  const sum = new Array<number>(rows).fill(0);
  for (const c of columns) for (let r = 0; r < rows; r++) sum[r] += c[r];
  return sum;
}

/** The samples of a block of rows as they are taken: the counts of every state (all hosts), ports in use per host, failures. */
function samplePoints(block: Uint32Array, L: SampleLayout, plan: Plan, reported: { name: string; members: number[] }[]): SamplePoint[] {
  const points: SamplePoint[] = [];
  for (let o = 0; o < block.length; o += L.words) {
    const states = Object.fromEntries(STATE_NAMES.map((name, s) => {
      let sum = 0;
      for (let h = 0; h < plan.hosts.length; h++) sum += block[o + L.states + h * STATE_COUNT + s];
      return [name, sum];
    })) as Record<StateName, number>;
    let failures = 0;
    for (let i = L.failures; i < L.failures + ERRNO_COUNT; i++) failures += block[o + i];
    points.push({
      t: sampleTime(block[o], plan), states,
      portsInUse: Object.fromEntries(reported.map((r) => [r.name, r.members.reduce((sum, hi) => sum + block[o + L.ports + hi], 0)])),
      failures,
    });
  }
  return points;
}

/** The traced connections; ids are numbered per host group, so a trace is its group's and id's. */
function buildTraces(records: TraceRecord[], hostNames: string[], dirs: { from: string; to: string }[], plan: Plan): Trace[] {
  const groups = hostGroups(plan);
  const rank = new Map([...new Set(groups.values())].map((g, i) => [g, i]));
  const mss = new Map(plan.hosts.map((h) => [h.name, h.tcp.mss]));
  const byConn = new Map<number, Trace>();
  const key = new Map<Trace, number>();
  const get = (id: number, host: string) => {
    const k = id * rank.size + rank.get(groups.get(host)!)!;
    let t = byConn.get(k);
    if (!t) { t = { id, client: "", server: "", states: [], segments: [] }; byConn.set(k, t); key.set(t, k); }
    return t;
  };
  for (const r of records) {
    const tr = get(r.conn, r.kind === 1 ? dirs[r.where].from : hostNames[r.where]);
    const t = round6(r.t / 1e6);
    if (r.kind === 2) {
      tr.client = `${formatIPv4(r.seq)}:${r.ack >>> 16}`;
      tr.server = `${formatIPv4(r.len)}:${r.ack & 0xffff}`;
    } else if (r.kind === 3) {
      (tr.nat ??= []).push({ t, host: hostNames[r.where], inside: `${formatIPv4(r.seq)}:${r.ack >>> 16}`, outside: `${formatIPv4(r.len)}:${r.ack & 0xffff}` });
    } else if (r.kind === 0) {
      tr.states.push({ t, host: hostNames[r.where], from: State[r.a] as StateName, to: State[r.b] as StateName });
    } else {
      const seg: TraceSegment = {
        t, from: dirs[r.where].from, to: dirs[r.where].to, flags: flagText(r.a),
        seq: r.seq, ack: r.ack, len: r.len, fate: r.b ? "dropped" : "delivered",
      };
      if (r.opts & 1) { seg.tsval = r.tsval; seg.tsecr = r.tsecr; }
      if (r.a & Flag.SYN) seg.mss = mss.get(seg.from); // the option a SYN carries (the pcap writes it)
      tr.segments.push(seg);
    }
  }
  const out = [...byConn.values()].sort((a, b) => key.get(a)! - key.get(b)!);
  for (const tr of out) tr.segments.sort((a, b) => a.t - b.t); // duplicates are recorded when sent late
  return out;
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
